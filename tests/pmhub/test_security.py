"""Production settings, login lockout, API rate limits, body limits, audit log page."""
import json
import os
import re
import secrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings
from django.urls import reverse

from pmhub.audit import audit_record
from tests.factories import PASSWORD
from tests.utils import page_get

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "pmhub.example.com",
    "BEHIND_TLS_PROXY": "1",
    "SECURE_HSTS_SECONDS": "31536000",
}


def manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    # drf-spectacular's schema warnings count too: name colliding enums in
    # SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"], give colliding routes one schema entry.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_reports_missing_hsts():
    env = {**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "0"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


@pytest.mark.parametrize("key", ["", "pmhub-insecure-development-key-change-me", "short"])
def test_production_refuses_to_start_without_a_real_secret_key(key):
    result = manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": key})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_redirects_plain_http_but_not_the_health_check():
    code = (
        "from django.test import Client;"
        "c = Client(HTTP_HOST='pmhub.example.com');"
        "r = c.get('/login/'); print(r.status_code, r.get('Location'));"
        "r = c.get('/login/', HTTP_X_FORWARDED_PROTO='https'); print(r.status_code, r.get('Strict-Transport-Security'));"
        "print(c.get('/healthz').status_code)"
    )
    result = manage("shell", "-c", code, **PRODUCTION_ENV, STATIC_MANIFEST="0")
    lines = [line for line in result.stdout.split("\n") if re.match(r"\d{3}( |$)", line)]
    assert lines[0] == "301 https://pmhub.example.com/login/", result.stdout + result.stderr
    assert lines[1] == "200 max-age=31536000; includeSubDomains"
    assert lines[2] in ("200", "503")


# --- login lockout ------------------------------------------------------------------------------


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


@pytest.mark.django_db
def test_login_locks_out_after_repeated_failures(client, pm, viewer):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _login(client, pm.username, "wrong-password")
        assert response.status_code == 200
        assert "Please enter a correct username" in response.content.decode()
    response = _login(client, pm.username, "wrong-password")
    assert response.status_code == 429
    # Locked: even the right password is refused, and the page says why.
    response = _login(client, pm.username, PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html and "15 minutes" in html
    assert response["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked.
    response = _login(client, viewer.username, PASSWORD)
    assert response.status_code == 302


@pytest.mark.django_db
def test_successful_login_resets_the_failure_count(client, pm):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, pm.username, "wrong-password")
    assert _login(client, pm.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, pm.username, "wrong-password").status_code == 200
    assert _login(client, pm.username, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_lockout_is_per_client_address_behind_a_trusted_proxy(client, pm, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": pm.username, "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.7")
    locked = client.post(reverse("login"), {"username": pm.username, "password": PASSWORD},
                         HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert locked.status_code == 429
    other = client.post(reverse("login"), {"username": pm.username, "password": PASSWORD},
                        HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert other.status_code == 302


# --- API rate limits ------------------------------------------------------------------------------


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/min", "api_anon": "2/min"},
    }


@pytest.mark.django_db
def test_api_rate_limit_is_per_token(low_rates, pm):
    from rest_framework.test import APIClient

    from pmhub.services import api_token_create

    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=pm, name='a')[1]}")
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=pm, name='b')[1]}")
    for _ in range(3):
        assert first.get("/api/v1/products/").status_code == 200
    response = first.get("/api/v1/products/")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "throttled" in response.json()["detail"]
    assert 0 < int(response["Retry-After"]) <= 60
    # The same user's other token has its own allowance.
    assert second.get("/api/v1/products/").status_code == 200


def _token_throttle(at=None):
    from pmhub.throttling import ApiClientRateThrottle

    throttle = ApiClientRateThrottle()
    if at is not None:
        throttle.timer = lambda: at
    return throttle


def _token_request():
    from types import SimpleNamespace

    from pmhub.models import ApiToken

    # An unsaved token with an id of its own: a counter no other test shares (in the real Redis).
    return SimpleNamespace(auth=ApiToken(pk=10**12 + secrets.randbelow(10**9)), user=None)


def test_api_rate_limit_counts_concurrent_requests_of_one_token_exactly(settings):
    from concurrent.futures import ThreadPoolExecutor

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "20/min", "api_anon": "2/min"}}
    request = _token_request()
    now = (time.time() // 60) * 60 + 30  # mid-minute, whenever the test runs
    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(lambda _: _token_throttle(now).allow_request(request, None), range(40)))
    assert allowed.count(True) == 20


def test_api_rate_limit_window_slides_over_the_minute_boundary(low_rates):
    request = _token_request()
    start = (time.time() // 60) * 60
    for _ in range(3):
        assert _token_throttle(start + 50).allow_request(request, None)
    refused = _token_throttle(start + 50)
    assert not refused.allow_request(request, None)
    assert 0 < refused.wait() <= 60
    # A new minute does not bring a new allowance at once: 3 calls 10 s before it still count...
    early = _token_throttle(start + 65)
    assert not early.allow_request(request, None)
    assert 0 < early.wait() <= 20
    # ...until enough of them have slid out (a third of the minute for one call here).
    assert _token_throttle(start + 81).allow_request(request, None)


@pytest.mark.django_db
def test_api_rate_limit_for_anonymous_callers_is_per_address(low_rates, client):
    for _ in range(2):
        assert client.get("/api/schema/", REMOTE_ADDR="192.0.2.1").status_code == 200
    assert client.get("/api/schema/", REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.get("/api/schema/", REMOTE_ADDR="192.0.2.2").status_code == 200


# --- body size ---------------------------------------------------------------------------------------


def _ingest_body(n):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return json.dumps({"points": [
        {"ts": (start + timedelta(seconds=i)).isoformat(), "value": 12345.678901 + i, "step": 100000 + i}
        for i in range(n)
    ]})


def test_a_10000_point_batch_fits_under_the_body_limit():
    assert len(_ingest_body(10_000).encode()) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 4


@pytest.mark.django_db
def test_oversized_json_body_is_refused_with_413_before_parsing(api, pm, product):
    api.as_user(pm)
    body = b'{"description": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    response = api.generic("PATCH", f"/api/v1/products/{product.slug}/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is larger than the limit")
    product.refresh_from_db()
    assert product.description == "A product for tests."


@pytest.mark.django_db
def test_oversized_form_post_is_refused_with_413(client, pm):
    client.force_login(pm)
    body = "name=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.generic("POST", reverse("profile"), body, content_type="application/x-www-form-urlencoded",
                              HTTP_ACCEPT="text/html")
    assert response.status_code == 413
    assert not pm.api_tokens.exists()


# --- audit log page ------------------------------------------------------------------------------------


@pytest.fixture
def events(product, product_factory, pm, viewer, staff):
    other = product_factory(name="Other product")
    audit_record(actor=pm, action="membership.role_changed", product=product, target=product, data={"role": "pm"})
    audit_record(actor=staff, action="product.deleted", product=other, target=other, data={"slug": other.slug})
    audit_record(actor=viewer, action="token.created", data={"name": "<script>alert(1)</script>"})
    return other


def _audit_rows(client, query=""):
    html = page_get(client, reverse("audit-log") + query).content.decode()
    return html.split("<tbody>")[1].split("</tbody>")[0]


@pytest.mark.django_db
def test_audit_log_lists_and_filters_events_for_staff(client, staff, product, pm, events):
    client.force_login(staff)
    rows = _audit_rows(client)
    assert rows.count("<tr>") == 3
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows and "<script>alert" not in rows
    rows = _audit_rows(client, "?action=membership")
    assert "membership.role_changed" in rows and "product.deleted" not in rows
    rows = _audit_rows(client, f"?product={events.slug}")
    assert "product.deleted" in rows and "membership.role_changed" not in rows
    rows = _audit_rows(client, f"?actor={pm.username}")
    assert "membership.role_changed" in rows and "token.created" not in rows
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    assert "No events match." in _audit_rows(client, f"?since={tomorrow}")


@pytest.mark.django_db
def test_audit_log_is_refused_to_non_staff(client, pm, events):
    client.force_login(pm)
    assert client.get(reverse("audit-log")).status_code == 403
    client.logout()
    response = client.get(reverse("audit-log"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_audit_log_link_shows_for_staff_only(client, staff, pm):
    client.force_login(pm)
    assert reverse("audit-log") not in page_get(client, reverse("home")).content.decode()
    client.force_login(staff)
    assert reverse("audit-log") in page_get(client, reverse("home")).content.decode()


# --- database outage (the live fault test is tests/hardening/test_fault_database.py) ---------------


@pytest.mark.parametrize("accept,path,content_type", [
    ("application/json", "/api/v1/products/", "application/json"),
    ("text/html", "/products/", "text/html; charset=utf-8"),
])
def test_database_errors_become_503(rf, accept, path, content_type):
    from django.db import OperationalError

    from pmhub.middleware import DatabaseUnavailableMiddleware

    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    response = middleware.process_exception(rf.get(path, HTTP_ACCEPT=accept), OperationalError("server closed"))
    assert response.status_code == 503
    assert response["Content-Type"] == content_type
    assert response["Retry-After"] == "5"
    assert "Content-Security-Policy" in response or content_type == "application/json"
    assert middleware.process_exception(rf.get(path), ValueError("other")) is None
