"""REST API for metric sources: roles, write-only secrets, validation, runs, pull now, test connection.

Pulls and connection tests reach a real HTTP server on 127.0.0.1 (tests/kpis/pull_servers.py).
"""
import json

import pytest

from kpis.sources.models import MetricSource, PullRun
from kpis.timeseries.models import Point
from pmhub.models import AuditEvent
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db

URL = "/api/v1/sources/"
TOKEN = "Bearer analytics-token-98765"


@pytest.fixture
def kpi(product):
    return make_kpi(product, "weekly-visits")  # noqa: F405


def http_source(kpi, server, **extra):
    body = {"kpi": kpi.pk, "name": "Analytics API", "kind": "http_json", "interval_seconds": 300,
            "timeout_seconds": 5, "config": {"url": f"{server.url}/good", "json_path": "data.value"},
            "secrets": {"headers": {"Authorization": TOKEN}}}
    body.update(extra)
    return body


def test_pm_creates_a_source_and_its_secret_never_comes_back(api, pm, kpi, metrics_server, allow_loopback):
    r = api.as_user(pm).post(URL, http_source(kpi, metrics_server), format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["kpi"] == kpi.pk and body["product"] == kpi.product.slug and body["kpi_key"] == "weekly-visits"
    assert body["config"] == {"url": f"{metrics_server.url}/good", "method": "GET", "json_path": "data.value",
                              "body": ""}
    assert body["secrets"] == {"headers": {"Authorization": "••••••65"}}
    assert body["health"] == "new" and body["status"] == "never_run" and body["enabled"] and body["next_run_at"]
    assert "analytics-token" not in r.content.decode()
    source = MetricSource.objects.get()
    assert "analytics-token" not in source.secret  # encrypted at rest
    assert AuditEvent.objects.filter(action="source.create").count() == 1
    for response in (api.get(URL), api.get(f"{URL}{source.pk}/")):
        assert response.status_code == 200 and "analytics-token" not in response.content.decode()
    assert api.get(URL, {"kpi": kpi.pk}).json()["count"] == 1
    assert api.get(URL, {"product": "elsewhere"}).json()["count"] == 0


def test_other_members_read_viewers_cannot_write_outsiders_see_nothing(api, pm, viewer, data_scientist, outsider,
                                                                      kpi, metrics_server, allow_loopback):
    source_id = api.as_user(pm).post(URL, http_source(kpi, metrics_server), format="json").json()["id"]
    detail = f"{URL}{source_id}/"
    for reader in (viewer, data_scientist):
        api.as_user(reader)
        assert api.get(detail).status_code == 200
        assert api.get(f"{detail}runs/").status_code == 200
        for method, path in (("patch", detail), ("delete", detail), ("post", f"{detail}pull-now/"),
                             ("post", f"{detail}test-connection/")):
            r = getattr(api, method)(path, {"name": "x"} if method == "patch" else None, format="json")
            assert r.status_code == 403, (reader.username, method, path)
            assert r.json()["detail"] and "errors" not in r.json()
        r = api.post(URL, http_source(kpi, metrics_server), format="json")
        assert r.status_code == 403
    api.as_user(outsider)
    assert api.get(URL).json()["count"] == 0
    for method, path in (("get", detail), ("patch", detail), ("delete", detail), ("get", f"{detail}runs/"),
                         ("post", f"{detail}pull-now/"), ("post", f"{detail}test-connection/")):
        assert getattr(api, method)(path, format="json").status_code == 404, (method, path)
    r = api.post(URL, http_source(kpi, metrics_server), format="json")  # a KPI it may not see
    assert r.status_code == 400 and list(r.json()["errors"]) == ["kpi"]
    assert MetricSource.objects.count() == 1
    assert api.as_user(pm).delete(detail).status_code == 204
    assert not MetricSource.objects.exists()


@pytest.mark.parametrize("change, fields", [
    ({"config": {"url": "gopher://example.com/x", "json_path": "a..b"}}, {"config.url", "config.json_path"}),
    ({"config": {"url": "http://user:pw@example.com/x"}}, {"config.url"}),
    ({"interval_seconds": 30, "timeout_seconds": 500, "name": " "}, {"interval_seconds", "timeout_seconds", "name"}),
    ({"config": {"url": "http://example.com", "query": "up"}}, {"config.query"}),
    ({"config": {"url": 42}}, {"config.url"}),
    ({"secrets": {"headers": "Authorization: x"}}, {"secrets.headers"}),
    ({"secrets": {"headers": {"Bad Header": "x"}}}, {"secrets.headers"}),
    ({"secrets": {"dsn": "postgres://a@b/c"}}, {"secrets.dsn"}),
    ({"name": "", "interval_seconds": 10, "config": {"url": "gopher://x", "jsonpath": "a"}},  # all at once
     {"name", "interval_seconds", "config.url", "config.jsonpath"}),
    ({"kind": "ftp"}, {"kind"}),
    ({"kpi": 999999}, {"kpi"}),
])
def test_bad_input_names_its_fields_and_creates_nothing(api, pm, kpi, metrics_server, change, fields):
    body = http_source(kpi, metrics_server)
    body.update(change)
    r = api.as_user(pm).post(URL, body, format="json")
    assert r.status_code == 400, r.json()
    assert r.json()["detail"] == "Invalid input."
    assert set(r.json()["errors"]) == fields, r.json()
    assert not MetricSource.objects.exists()


def test_the_minimum_interval_and_messages_match_the_pages(api, pm, kpi, metrics_server):
    r = api.as_user(pm).post(URL, http_source(kpi, metrics_server, interval_seconds=59), format="json")
    assert r.json()["errors"] == {"interval_seconds": ["The interval is at least 60 seconds."]}


def test_sql_source_dsn_is_masked(api, pm, kpi):
    r = api.as_user(pm).post(URL, {"kpi": kpi.pk, "name": "Warehouse", "kind": "sql",
                                   "config": {"query": "SELECT count(*) FROM signups"},
                                   "secrets": {"dsn": "postgres://reader:very-secret-pw@db.example.com:5432/app"}},
                             format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["secrets"] == {"dsn": "postgres://reader:••••••@db.example.com:5432/app"}
    assert "very-secret-pw" not in r.content.decode()


def test_update_keeps_or_replaces_secrets_and_fixes_kind_and_kpi(api, pm, product, kpi, metrics_server,
                                                                 allow_loopback):
    source_id = api.as_user(pm).post(URL, http_source(kpi, metrics_server), format="json").json()["id"]
    detail = f"{URL}{source_id}/"
    r = api.patch(detail, {"name": "Analytics v2", "config": {"json_path": "data.value"}, "enabled": False},
                  format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["name"] == "Analytics v2" and r.json()["config"]["url"].endswith("/good")  # PATCH merges
    assert r.json()["enabled"] is False and r.json()["next_run_at"] is None
    assert r.json()["secrets"] == {"headers": {"Authorization": "••••••65"}}  # kept
    assert api.post(f"{detail}test-connection/").json()["ok"]
    assert metrics_server.headers_seen["/good"]["Authorization"] == TOKEN  # the stored header is still sent

    r = api.patch(detail, {"secrets": {"headers": {"X-Api-Key": "another-long-key-01"}}}, format="json")
    assert r.json()["secrets"] == {"headers": {"X-Api-Key": "••••••01"}}
    assert AuditEvent.objects.filter(action="source.secrets_change").count() == 1
    assert api.patch(detail, {"secrets": {}}, format="json").json()["secrets"] == {}

    other_kpi = make_kpi(product, "signups")  # noqa: F405
    r = api.patch(detail, {"kind": "sql", "kpi": other_kpi.pk}, format="json")
    assert r.status_code == 400 and set(r.json()["errors"]) == {"kind", "kpi"}
    r = api.put(detail, {"name": "Analytics v3", "config": {"url": f"{metrics_server.url}/series",
                                                            "json_path": "points"}}, format="json")
    assert r.status_code == 200 and r.json()["config"]["json_path"] == "points" and r.json()["name"] == "Analytics v3"
    r = api.patch(detail, {"config": {"url": "file:///etc/passwd"}}, format="json")
    assert r.status_code == 400 and list(r.json()["errors"]) == ["config.url"]
    r = api.patch(detail, {"timeout_seconds": 0, "config": {"verb": "GET"}}, format="json")
    assert r.status_code == 400 and set(r.json()["errors"]) == {"timeout_seconds", "config.verb"}
    assert MetricSource.objects.get().config["url"].endswith("/series")  # nothing changed


def test_pull_now_runs_and_runs_list_them(api, pm, kpi, metrics_server, allow_loopback,
                                          django_capture_on_commit_callbacks):
    source_id = api.as_user(pm).post(URL, http_source(kpi, metrics_server), format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"{URL}{source_id}/pull-now/")
    assert r.status_code == 202 and r.json()["queued"] is True and r.json()["slot"]
    assert list(Point.objects.filter(series_id=kpi.series_id).values_list("value", flat=True)) == [42.5]
    runs = api.get(f"{URL}{source_id}/runs/").json()
    assert runs["count"] == 1
    run = runs["results"][0]
    assert run["trigger"] == "manual" and run["status"] == "success" and run["points_written"] == 1
    assert api.get(f"{URL}{source_id}/runs/", {"status": "failed"}).json()["count"] == 0
    r = api.get(f"{URL}{source_id}/runs/", {"status": "bogus"})
    assert r.status_code == 400 and "status" in r.json()["errors"]
    assert api.get(f"{URL}{source_id}/").json()["health"] == "ok"
    assert api.get(f"{URL}{source_id}/").json()["status"] == "healthy"


def test_test_connection_shows_what_would_be_stored_and_stores_nothing(api, pm, kpi, metrics_server,
                                                                       allow_loopback):
    source_id = api.as_user(pm).post(URL, http_source(
        kpi, metrics_server, config={"url": f"{metrics_server.url}/series", "json_path": "points"}),
        format="json").json()["id"]
    r = api.post(f"{URL}{source_id}/test-connection/")
    assert r.status_code == 200
    assert r.json()["ok"] is True and r.json()["count"] == 3
    assert [p["value"] for p in r.json()["points"]] == [1.0, 2.5, 4.0]
    assert not Point.objects.exists() and not PullRun.objects.exists()
    metrics_server.broken.add("/series")
    r = api.post(f"{URL}{source_id}/test-connection/")
    assert r.status_code == 200 and r.json() == {"ok": False, "error": "The server answered 500 Internal Server Error"}


def test_test_connection_to_loopback_is_refused_without_the_setting(api, pm, kpi, metrics_server, settings):
    settings.PMHUB_PULL_ALLOWED_HOSTS = []
    source_id = api.as_user(pm).post(URL, http_source(kpi, metrics_server), format="json").json()["id"]
    r = api.post(f"{URL}{source_id}/test-connection/")
    assert r.json()["ok"] is False and "loopback" in r.json()["error"]
    assert metrics_server.hits["/good"] == 0  # no request reached the server


def test_schema_describes_sources_with_write_only_secrets(client):
    schema = client.get("/api/schema/", {"format": "json"}, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    doc = json.loads(schema.content)
    paths = doc["paths"]
    assert {"/api/v1/sources/", "/api/v1/sources/{id}/", "/api/v1/sources/{id}/runs/",
            "/api/v1/sources/{id}/pull-now/", "/api/v1/sources/{id}/test-connection/"} <= set(paths)
    assert doc["components"]["schemas"]["SourceInRequest"]["properties"]["secrets"]["writeOnly"] is True
