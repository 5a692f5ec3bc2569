"""The KPI API: ingest (validation as a whole, refusals, idempotency), series reads, CRUD."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as djtz

from kpis.models import KPI, Alert, AlertWebhook
from kpis.timeseries.models import Point
from tests.factories import ProductFactory, member
from tests.kpis.factories import add_points, make_kpi
from tests.kpis.receiver import Receiver

UTC = timezone.utc


@pytest.fixture
def kpi(product):
    return make_kpi(product, "conversion", unit="%", target=5, warning_threshold=4, critical_threshold=3)


def batch(n, start=None, value=lambda i: 4.5):
    start = start or djtz.now().replace(microsecond=0) - timedelta(minutes=n)
    return [{"ts": (start + timedelta(minutes=i)).isoformat(), "value": value(i)} for i in range(n)]


def post(api, url, payload):
    return api.post(url, data=json.dumps(payload), content_type="application/json")


def test_ingest_by_id_and_by_product_key_is_idempotent(api, kpi, data_scientist, product):
    api.as_user(data_scientist)
    points = batch(1000)
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": points})
    assert r.status_code == 200, r.json()
    assert r.json() == {"kpi": kpi.pk, "stored": 1000}
    r = post(api, f"/api/v1/kpis/{product.slug}/conversion/points/", points)  # a bare list works too
    assert r.status_code == 200
    assert Point.objects.filter(series=kpi.series).count() == 1000


def test_ingest_of_10000_points_in_one_request(api, kpi, pm):
    api.as_user(pm)
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": batch(10_000)})
    assert r.status_code == 200 and r.json()["stored"] == 10_000


@pytest.mark.parametrize("bad,key", [
    ({"ts": "2026-01-01T00:00:00", "value": 1}, "points[2].ts"),  # naive
    ({"ts": "yesterday", "value": 1}, "points[2].ts"),
    ({"ts": "2999-01-01T00:00:00Z", "value": 1}, "points[2].ts"),
    ({"value": 1}, "points[2].ts"),
    ({"ts": "2026-01-01T00:00:00Z"}, "points[2].value"),
    ({"ts": "2026-01-01T00:00:00Z", "value": "1.5"}, "points[2].value"),
    ({"ts": "2026-01-01T00:00:00Z", "value": True}, "points[2].value"),
    ("not an object", "points[2]"),
])
def test_bad_points_are_refused_with_index_and_field_and_nothing_stored(api, kpi, pm, bad, key):
    api.as_user(pm)
    points = batch(5)
    points[2] = bad
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": points})
    assert r.status_code == 400
    body = r.json()
    assert body["detail"] == "Invalid input." and key in body["errors"], body
    assert not Point.objects.exists()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api, kpi, pm, literal):
    api.as_user(pm)
    body = '{"points": [{"ts": "2026-01-01T00:00:00Z", "value": 1}, {"ts": "2026-01-01T00:01:00Z", "value": %s}]}' % literal
    r = api.post(f"/api/v1/kpis/{kpi.pk}/points", data=body, content_type="application/json")
    assert r.status_code == 400 and "points[1].value" in r.json()["errors"]
    assert not Point.objects.exists()


def test_too_many_points_and_bad_json(api, kpi, pm):
    api.as_user(pm)
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": batch(10_001)})
    assert r.status_code == 400 and "10,001" in r.json()["errors"]["points"][0]
    r = api.post(f"/api/v1/kpis/{kpi.pk}/points", data="{oops", content_type="application/json")
    assert r.status_code == 400
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": []})
    assert r.status_code == 400
    assert not Point.objects.exists()


def test_viewer_gets_403_and_other_products_404(api, kpi, viewer, product):
    api.as_user(viewer)
    r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": batch(3)})
    assert r.status_code == 403
    other = ProductFactory()
    other_kpi = make_kpi(other, "revenue")
    pm = member(product, "pm", "pm-here")
    api.as_user(pm)
    assert post(api, f"/api/v1/kpis/{other_kpi.pk}/points", {"points": batch(3)}).status_code == 404
    assert post(api, f"/api/v1/kpis/{other.slug}/revenue/points", {"points": batch(3)}).status_code == 404
    assert api.get(f"/api/v1/kpis/{other_kpi.pk}/points").status_code == 404
    assert not Point.objects.exists()


def test_get_raw_and_bucketed(api, kpi, viewer):
    start = datetime(2026, 5, 1, tzinfo=UTC)
    add_points(kpi, [float(i % 60) for i in range(6 * 60)], start=start)
    api.as_user(viewer)
    url = f"/api/v1/kpis/{kpi.pk}/points"
    r = api.get(url, {"from": "2026-05-01T00:00:00Z", "to": "2026-05-01T06:00:00Z", "bucket": "raw"})
    assert r.status_code == 200 and len(r.json()["points"]) == 360
    r = api.get(url, {"from": "2026-05-01T00:00:00Z", "to": "2026-05-01T06:00:00Z", "bucket": "1h", "agg": "max"})
    body = r.json()
    assert body["bucket"] == "1h" and [p["value"] for p in body["points"]] == [59.0] * 6
    assert body["points"][0]["count"] == 60 and body["points"][0]["min"] == 0
    r = api.get(url, {"from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z", "bucket": "auto", "agg": "avg"})
    assert r.json()["bucket"] == "5m" and len(r.json()["points"]) == 72
    r = api.get(url, {"from": "2026-05-01", "to": "2026-05-02", "bucket": "1d", "agg": "sum"})
    assert r.json()["points"][0]["value"] == sum(i % 60 for i in range(360))
    assert api.get(url, {"bucket": "3h"}).status_code == 400
    assert api.get(url, {"agg": "median"}).status_code == 400
    assert api.get(url, {"from": "2026-05-02", "to": "2026-05-01"}).status_code == 400


def test_kpi_crud(api, product, pm, data_scientist):
    api.as_user(pm)
    r = api.post("/api/v1/kpis/", {"product": product.slug, "name": "Net revenue", "unit": "$", "target": 100,
                                   "direction": "higher", "category": "revenue"}, format="json")
    assert r.status_code == 201, r.json()
    kpi_id = r.json()["id"]
    assert r.json()["key"] == "net-revenue" and r.json()["status"] == "no_data"
    r = api.patch(f"/api/v1/kpis/{kpi_id}/", {"warning_threshold": 10, "critical_threshold": 20}, format="json")
    assert r.status_code == 400 and "critical_threshold" in r.json()["errors"]
    r = api.get("/api/v1/kpis/", {"product": product.slug})
    assert r.json()["count"] == 1
    api.as_user(data_scientist)
    assert api.patch(f"/api/v1/kpis/{kpi_id}/", {"name": "x"}, format="json").status_code == 403
    api.as_user(pm)
    assert api.delete(f"/api/v1/kpis/{kpi_id}/").status_code == 204
    assert not KPI.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ingest_opens_and_resolves_alert_with_a_real_webhook(api, product, pm):
    kpi = make_kpi(product, "activation", target=50, warning_threshold=40, critical_threshold=30)
    api.as_user(pm)
    with Receiver() as receiver:
        AlertWebhook.objects.create(product=product, url=receiver.url)
        r = post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": batch(10, value=lambda i: 25.0)})
        assert r.status_code == 200
        alert = Alert.objects.get(kpi=kpi)
        assert alert.state == "open" and alert.severity == "critical"
        post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": batch(10, value=lambda i: 26.0)})
        assert Alert.objects.count() == 1
        now = djtz.now().isoformat()
        post(api, f"/api/v1/kpis/{kpi.pk}/points", {"points": [{"ts": now, "value": 55}]})
        alert.refresh_from_db()
        assert alert.state == "resolved"
    events = [json.loads(body)["event"] for _headers, body in receiver.calls]
    assert events == ["alert.opened", "alert.resolved"]
    r = api.get("/api/v1/alerts/", {"product": product.slug})
    assert r.json()["results"][0]["state"] == "resolved"


@pytest.mark.parametrize("query", ["to=0046-03-06T22:32:29-16:07", "to=0001-01-02T00:00:00", "from=0001-01-01T00:30:00%2B01:00"])
def test_points_read_with_odd_timestamps_is_answered(api, kpi, viewer, product, query):
    """Found by the API fuzz test: an offset PostgreSQL refuses (-16:07), or a default range before year 1, was a 500."""
    api.as_user(viewer)
    r = api.get(f"/api/v1/kpis/{product.slug}/{kpi.key}/points/?{query}")
    assert r.status_code in (200, 400), r.content[:300]
    if r.status_code == 400:
        assert r.json()["detail"] == "Invalid input."
