"""Source pages: form, detail with health, pull now, test connection, the KPI panel, roles."""
import pytest
from django.test import RequestFactory

from kpis.sources.models import MetricSource, PullRun
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(product):
    return make_kpi(product, "conversion")  # noqa: F405


def form_data(kpi, server, **extra):
    return {"kpi": kpi.pk, "name": "Analytics", "kind": "http_json", "interval_seconds": 300, "timeout_seconds": 5,
            "enabled": "on", "url": server.url + "/good", "method": "GET", "json_path": "data.value",
            "headers": "Authorization: Bearer very-secret-token-1234", **extra}


def test_pm_adds_a_source_and_sees_its_health_with_secrets_masked(client, pm, kpi, metrics_server, allow_loopback,
                                                                  django_capture_on_commit_callbacks):
    client.force_login(pm)
    page = client.get(f"/sources/{kpi.product.slug}/new/?kpi={kpi.pk}")
    assert page.status_code == 200 and b"PromQL query" in page.content
    response = client.post(f"/sources/{kpi.product.slug}/new/", form_data(kpi, metrics_server))
    source = MetricSource.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sources/{kpi.product.slug}/{source.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sources/{kpi.product.slug}/{source.pk}/pull/", HTTP_HX_REQUEST="true")
    detail = client.get(response["Location"]).content.decode()
    assert "Healthy" in detail and "42.5" in detail
    assert "very-secret-token" not in detail and "••••••34" in detail
    edit = client.get(f"/sources/{kpi.product.slug}/{source.pk}/edit/").content.decode()
    assert "very-secret-token" not in edit and "Stored: Authorization" in edit


def test_form_errors_show_on_the_fields_and_nothing_is_saved(client, pm, kpi, metrics_server):
    client.force_login(pm)
    page = client.post(f"/sources/{kpi.product.slug}/new/",
                       form_data(kpi, metrics_server, url="file:///etc/passwd", json_path="a[", interval_seconds=5))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Only http and https URLs" in text and "at least 60 seconds" in text and "JSON path" in text
    page = client.post(f"/sources/{kpi.product.slug}/new/",
                       form_data(kpi, metrics_server, kind="sql", sql="SELECT 1; DELETE FROM x", dsn="mysql://h/db"))
    text = page.content.decode()
    assert "more than one statement" in text and "Only PostgreSQL DSNs" in text
    assert not MetricSource.objects.exists()


def test_test_connection_shows_what_would_be_stored(client, pm, kpi, metrics_server, allow_loopback):
    client.force_login(pm)
    client.post(f"/sources/{kpi.product.slug}/new/", form_data(kpi, metrics_server, url=metrics_server.url + "/series",
                                                                json_path="points"))
    source = MetricSource.objects.get()
    result = client.post(f"/sources/{kpi.product.slug}/{source.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "would store 3 points" in result and "2.5" in result and "nothing was stored" in result
    assert not PullRun.objects.exists()
    MetricSource.objects.filter(pk=source.pk).update(config={**source.config, "url": metrics_server.url + "/html"})
    result = client.post(f"/sources/{kpi.product.slug}/{source.pk}/test/").content.decode()
    assert "Test failed" in result and "not JSON" in result


def test_viewers_read_health_but_cannot_act(client, pm, viewer, outsider, kpi, metrics_server):
    client.force_login(pm)
    client.post(f"/sources/{kpi.product.slug}/new/", form_data(kpi, metrics_server))
    source = MetricSource.objects.get()
    client.force_login(viewer)
    detail = client.get(f"/sources/{kpi.product.slug}/{source.pk}/").content.decode()
    assert "Last success" in detail and "Pull now" not in detail and "Edit source" not in detail
    for action in ("pull", "test", "delete", "edit"):
        assert client.post(f"/sources/{kpi.product.slug}/{source.pk}/{action}/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/sources/{kpi.product.slug}/{source.pk}/").status_code == 404
    assert client.get(f"/sources/{kpi.product.slug}/").status_code == 404


def test_kpi_detail_panel_shows_each_source_and_add_link(pm, viewer, kpi, metrics_server):
    from kpis.sources.services import source_create
    from pmhub.panels import render

    source_create(actor=pm, kpi=kpi, name="Warehouse", kind="http_json", config={"url": metrics_server.url + "/good"})
    request = RequestFactory().get("/")
    request.user = pm
    html = "".join(render("kpi_detail", request, kpi))
    assert "Warehouse" in html and "Pull now" in html and "Test connection" in html and "Add a source" in html
    request.user = viewer
    html = "".join(render("kpi_detail", request, kpi))
    assert "Warehouse" in html and "Pull now" not in html and "Add a source" not in html


def test_edit_keeps_secrets_unless_replaced_or_cleared(client, pm, kpi, metrics_server):
    from kpis.sources.secrets import secret_decrypt

    client.force_login(pm)
    client.post(f"/sources/{kpi.product.slug}/new/", form_data(kpi, metrics_server))
    source = MetricSource.objects.get()
    url = f"/sources/{kpi.product.slug}/{source.pk}/edit/"
    client.post(url, form_data(kpi, metrics_server, name="Renamed", headers=""))
    source.refresh_from_db()
    assert source.name == "Renamed" and "Authorization" in secret_decrypt(source.secret)["headers"]
    client.post(url, form_data(kpi, metrics_server, headers="", clear_secrets="on"))
    source.refresh_from_db()
    assert secret_decrypt(source.secret) == {}


def test_one_status_rule_a_paused_source_never_reads_healthy(client, pm, kpi):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    # What the demo has: paused after a good run, with an older error on record.
    source = MetricSource.objects.create(kpi=kpi, name="Old exporter", kind="http_json", enabled=False,
                                         interval_seconds=3600, health="ok", next_run_at=None,
                                         config={"url": "https://example.com/m", "method": "GET", "json_path": "v"},
                                         last_success_at=now - timedelta(hours=1),
                                         last_error_at=now - timedelta(hours=5), last_error="timed out")
    client.force_login(pm)
    slug = kpi.product.slug
    for page in (client.get(f"/sources/{slug}/").content.decode(),
                 client.get(f"/sources/{slug}/{source.pk}/").content.decode()):
        assert "Paused" in page and "Healthy" not in page
        assert "every hour" in page and "3600" not in page
        assert "none while paused" in page
    detail = client.get(f"/sources/{slug}/{source.pk}/").content.decode()
    # The old error is history (a success came after it), not a red current problem.
    assert "pulls succeeded since" in detail and 'class="source-error"' not in detail

    source.enabled, source.health, source.interval_seconds = True, "failing", 900
    source.last_error_at = now
    source.save()
    detail = client.get(f"/sources/{slug}/{source.pk}/").content.decode()
    assert "⚠ Failing" in detail and "every 15 min" in detail and 'class="source-error"' in detail
    source.health, source.last_success_at, source.last_error_at = "new", None, None
    source.save()
    assert "Never run" in client.get(f"/sources/{slug}/").content.decode()


def test_sources_are_linked_from_the_product_tabs_and_the_kpi_dashboard(client, viewer, kpi):
    client.force_login(viewer)
    slug = kpi.product.slug
    for path in (f"/products/{slug}/", f"/kpis/{slug}/", f"/roadmap/{slug}/"):
        assert f'href="/sources/{slug}/"' in client.get(path).content.decode(), path
    dashboard = client.get(f"/kpis/{slug}/").content.decode()
    assert "Metric sources" in dashboard
    assert client.get(f"/sources/{slug}/").status_code == 200


def test_durations_read_as_people_say_them():
    from kpis.sources.models import duration_text

    assert [duration_text(s) for s in (1, 45, 60, 90, 900, 3600, 5400, 7200, 86400, 172800)] == [
        "second", "45 s", "minute", "1 min 30 s", "15 min", "hour", "1 h 30 min", "2 hours", "day", "2 days"]
