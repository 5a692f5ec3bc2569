"""KPI pages: dashboards, forms, alerts, CSV import and export, panels on other pages."""
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kpis.models import KPI, Alert, AlertWebhook, ImportJob, Objective
from kpis.timeseries.models import Point
from products.roadmap.models import RoadmapItem
from tests.factories import PASSWORD
from tests.kpis.factories import add_points, make_kpi
from tests.utils import page_get


@pytest.fixture
def kpi(product):
    kpi = make_kpi(product, "activation", unit="%", target=50, warning_threshold=40, critical_threshold=30)
    add_points(kpi, [45 + (i % 7) for i in range(72)], start=timezone.now() - timedelta(hours=72),
               step=timedelta(hours=1))
    return kpi


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_dashboard_shows_cards_charts_and_ranges(client, product, viewer, kpi):
    login(client, viewer)
    html = page_get(client, f"/kpis/{product.slug}/").content.decode()
    assert "Activation" in html and "At risk" in html and 'data-figure="fig-kpi-' in html
    assert "Last 30 days" in html and "New KPI" not in html
    html = page_get(client, f"/kpis/{product.slug}/?range=7d").content.decode()
    assert "Last 7 days" in html
    html = page_get(client, f"/kpis/{product.slug}/?from=2026-01-01&to=2026-01-31").content.decode()
    from datetime import date

    from pmhub.dates import date_range_text

    assert date_range_text(date(2026, 1, 1), date(2026, 1, 31)) in html  # "1 Jan – 31 Jan" in 2026
    page_get(client, f"/kpis/{product.slug}/k/{kpi.key}/?range=24h")
    page_get(client, "/kpis/")
    page_get(client, f"/kpis/{product.slug}/alerts/")
    page_get(client, "/kpis/alerts/")


def test_dashboard_query_count_does_not_grow_with_points(client, product, viewer, kpi, django_assert_max_num_queries):
    login(client, viewer)
    with django_assert_max_num_queries(30):
        page_get(client, f"/kpis/{product.slug}/?range=1y")


def test_dashboard_reads_every_chart_at_once_and_caps_its_buckets(client, product, viewer, kpi,
                                                                  django_assert_num_queries):
    """Queries do not grow with the number of KPIs; a 30-day chart gets 3-hour buckets (240, not 720)."""
    login(client, viewer)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        page_get(client, f"/kpis/{product.slug}/?range=30d")
    for i in range(3):
        other = make_kpi(product, f"other-{i}", target=1)
        add_points(other, [1.0] * 30, start=timezone.now() - timedelta(days=20), step=timedelta(hours=7))
    with django_assert_num_queries(len(one.captured_queries)):
        html = page_get(client, f"/kpis/{product.slug}/?range=30d").content.decode()
    assert html.count('data-figure="fig-kpi-') == 4 and "buckets of 3 hours" in html
    import json
    import re

    figure = json.loads(re.search(rf'id="fig-kpi-{kpi.pk}" type="application/json">(.*?)</script>', html).group(1))
    assert figure["layout"]["meta"]["buckets"] in (24, 25)  # 72 hourly points, 3 to a bucket (25 when not aligned)


def test_pm_creates_and_edits_a_kpi_and_an_objective(client, product, pm):
    login(client, pm)
    item = RoadmapItem.objects.create(product=product, title="Onboarding checklist", status="shipped",
                                      shipped_at=timezone.now() - timedelta(days=2))
    response = client.post(f"/kpis/{product.slug}/objectives/new/", {
        "title": "Grow activation", "start_date": "2026-01-01", "end_date": "2026-12-31"})
    assert response.status_code == 302
    objective = Objective.objects.get()
    response = client.post(f"/kpis/{product.slug}/new/", {
        "name": "Day-7 retention", "unit": "%", "category": "engagement", "direction": "higher", "target": "40",
        "warning_threshold": "30", "critical_threshold": "20", "pending_minutes": "0", "objective": objective.pk,
        "headline": "on", "roadmap_items": [item.pk]})
    assert response.status_code == 302, response.content.decode()[:3000]
    kpi = KPI.objects.get(key="day-7-retention")
    assert list(kpi.roadmap_items.all()) == [item]
    response = client.post(f"/kpis/{product.slug}/k/{kpi.key}/edit/", {
        "name": "Day-7 retention", "key": kpi.key, "category": "engagement", "direction": "higher",
        "warning_threshold": "20", "critical_threshold": "30", "pending_minutes": "0"})
    assert response.status_code == 200 and "critical threshold must be at or below" in response.content.decode()
    html = page_get(client, f"/kpis/{product.slug}/").content.decode()
    assert "Grow activation" in html


def test_viewer_cannot_reach_forms(client, product, viewer, kpi):
    login(client, viewer)
    assert client.get(f"/kpis/{product.slug}/new/").status_code == 403
    assert client.post(f"/kpis/{product.slug}/k/{kpi.key}/delete/").status_code == 403
    assert client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/").status_code == 403
    assert KPI.objects.filter(pk=kpi.pk).exists()


def test_outsider_gets_404(client, product, outsider, kpi):
    login(client, outsider)
    assert client.get(f"/kpis/{product.slug}/").status_code == 404
    assert client.get(f"/kpis/{product.slug}/k/{kpi.key}/").status_code == 404
    assert client.get(f"/kpis/{product.slug}/k/{kpi.key}/export.csv").status_code == 404


def test_csv_import_all_or_nothing_with_line_numbers_then_export(client, product, pm, django_capture_on_commit_callbacks):
    kpi = make_kpi(product, "revenue")
    login(client, pm)
    bad = "ts,value\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00,2\n2026-01-01T02:00:00Z,abc\n2026-01-01T03:00:00Z,4\n"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/", {"file": SimpleUploadedFile("bad.csv", bad.encode())})
    job = ImportJob.objects.get()
    assert job.state == "failed" and job.error_count == 2
    assert [e["line"] for e in job.errors] == [3, 4]
    assert not Point.objects.filter(series=kpi.series).exists()
    html = client.get(f"/kpis/{product.slug}/k/{kpi.key}/imports/{job.pk}/").content.decode()
    assert "Line 3:" in html and "no timezone" in html and "Line 4:" in html

    rows = "".join(f"{1767225600 + 60 * i},{i}\n" for i in range(25_000))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/",
                    {"file": SimpleUploadedFile("good.csv", ("ts,value\n" + rows).encode())})
    job = ImportJob.objects.latest("id")
    assert job.state == "done" and job.rows_imported == 25_000
    assert Point.objects.filter(series=kpi.series).count() == 25_000
    assert "25000 rows imported" in client.get(f"/kpis/{product.slug}/k/{kpi.key}/imports/{job.pk}/").content.decode()

    response = client.get(f"/kpis/{product.slug}/k/{kpi.key}/export.csv")
    body = b"".join(response.streaming_content).decode()
    lines = body.splitlines()
    assert lines[0] == "ts,value" and len(lines) == 25_001 and lines[1] == "2026-01-01T00:00:00Z,0.0"


def test_panels_on_product_and_roadmap_item(rf, product, viewer, kpi):
    from pmhub.panels import render

    item = RoadmapItem.objects.create(product=product, title="Guided setup", status="shipped",
                                      shipped_at=timezone.now() - timedelta(hours=24))
    kpi.roadmap_items.add(item)
    request = rf.get("/")
    request.user = viewer
    html = "".join(render("product_overview", request, product))
    assert "Activation" in html and "sparkline" in html
    html = "".join(render("roadmap_item_detail", request, item))
    assert "Activation" in html and "14 days before ship" in html


def test_alert_pages_list_open_alerts(client, product, pm, kpi):
    from kpis.services.alerts import alert_open

    alert_open(kpi=kpi, kind=Alert.Kind.THRESHOLD, severity="critical", message="Activation is 20%.")
    login(client, pm)
    html = page_get(client, "/kpis/alerts/").content.decode()
    assert "Activation is 20%." in html
    html = page_get(client, f"/kpis/{product.slug}/alerts/").content.decode()
    assert "Add webhook" in html
    response = client.post(f"/kpis/{product.slug}/alerts/webhooks/", {"url": "https://hooks.example.org/pmhub"})
    assert response.status_code == 302
    assert "hooks.example.org" in client.get(f"/kpis/{product.slug}/alerts/").content.decode()


def test_import_and_webhook_answers_say_what_happened(client, product, pm, kpi, django_capture_on_commit_callbacks):
    """A POST-and-redirect page's answer (pmhub/page_actions.py): the success message and its page,
    or the service's refusal as the error message with nothing changed."""
    login(client, pm)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/",
                               {"file": SimpleUploadedFile("good.csv", b"ts,value\n2026-01-01T00:00:00Z,1\n")})
    assert response.status_code == 302 and response.url == f"/kpis/{product.slug}/k/{kpi.key}/#imports"
    assert "Importing good.csv; progress is shown below." in client.get(response.url).content.decode()
    url = "https://hooks.example.org/pmhub"
    response = client.post(f"/kpis/{product.slug}/alerts/webhooks/", {"url": url}, follow=True)
    assert f"Alerts now go to {url}." in response.content.decode()
    response = client.post(f"/kpis/{product.slug}/alerts/webhooks/", {"url": url}, follow=True)
    html = response.content.decode()
    assert "This product already sends alerts to that URL." in html and "Alerts now go to" not in html
    assert AlertWebhook.objects.filter(product=product).count() == 1
