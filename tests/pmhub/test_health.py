import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok" and body["status"] == "ok"


def test_healthz_503_when_broker_unreachable(client):
    """The check opens a short-lived connection of its own: nothing to reset afterwards."""
    from pmhub.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"] != "ok"
    # The app's publishing pool was never touched: the next check is healthy again.
    assert client.get("/healthz").json()["broker"] == "ok"


def test_schema_and_docs_are_local(client):
    from tests.utils import assert_local_only

    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/products/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert_local_only(docs.content.decode())


def test_pages_send_csp_without_inline_scripts_and_deny_framing(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()
