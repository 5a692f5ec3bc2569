"""Issue 18.1 and 18.11: one date/number policy (pmhub/limits.py), the accepted range
stated in the error, and pages that draw whatever the policy accepts."""
import datetime
import math

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from kpis.models import KPI, ImportJob
from pmhub import limits
from products.roadmap.models import RoadmapItem
from products.roadmap.services import roadmap_item_create
from tests.factories import PASSWORD
from tests.kpis.factories import add_points, make_kpi

DATE_ERROR = "Enter a date from 1900-01-01 to 2199-12-31."
VALUE_ERROR = limits.value_message()


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- the pure checks --------------------------------------------------------------------------

@pytest.mark.parametrize("value,ok", [
    (datetime.date(1900, 1, 1), True), (datetime.date(2199, 12, 31), True),
    (datetime.date(1899, 12, 31), False), (datetime.date(2200, 1, 1), False), (datetime.date(9999, 12, 31), False),
    (None, True),
])
def test_date_bounds_are_inclusive(value, ok):
    assert (limits.date_error(value) is None) is ok


@pytest.mark.parametrize("value,ok", [
    (0, True), (1e15, True), (-1e15, True), (10**15, True), (1e15 * 1.0000001, False), (10**400, False),
    (math.inf, False), (-math.inf, False), (math.nan, False), (True, False), ("1", False),
])
def test_value_bounds(value, ok):
    assert (limits.value_error(value) is None) is ok


# --- roadmap: form, API, service, chart -----------------------------------------------------

def test_roadmap_form_states_the_ranges_and_changes_nothing(client, product, pm):
    login(client, pm)
    r = client.post(f"/roadmap/{product.slug}/new/", {
        "title": "Far", "kind": "feature", "status": "idea", "horizon": "later", "start_date": "9999-12-30",
        "target_date": "9999-12-31", "reach": "99999999999999999999", "impact": "1", "confidence": "50",
        "effort": "1"})
    page = r.content.decode()
    assert r.status_code == 200
    assert DATE_ERROR in page and "Enter a whole number from 0 to 1,000,000,000." in page
    assert not RoadmapItem.objects.exists()


def test_roadmap_api_gives_field_errors_not_a_500(api, product, pm):
    api.as_user(pm)
    r = api.post("/api/v1/roadmap-items/", {"product": product.slug, "title": "Far", "reach": 99999999999999999999,
                                            "start_date": "1899-12-31", "target_date": "2200-01-01"}, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors["reach"] == ["Enter a whole number from 0 to 1,000,000,000."]
    assert errors["start_date"] == [DATE_ERROR] and errors["target_date"] == [DATE_ERROR]
    r = api.post("/api/v1/roadmap-items/", {"product": product.slug, "title": "x" * 10_000}, format="json")
    assert r.status_code == 400 and r.json()["errors"]["title"] == ["At most 200 characters."]
    assert not RoadmapItem.objects.exists()


def test_roadmap_service_is_the_last_word(product, pm):
    with pytest.raises(ValidationError) as exc:
        roadmap_item_create(actor=pm, product=product, title="t" * 201, start_date=datetime.date(9999, 12, 30),
                            reach=10**20)
    errors = exc.value.message_dict
    assert errors["title"] == ["At most 200 characters (this one has 201)."]
    assert errors["start_date"] == [DATE_ERROR] and errors["reach"] == ["Enter a whole number from 0 to 1,000,000,000."]


def test_timeline_draws_items_at_the_bounds_and_far_past_them(client, product, pm):
    """The timeline added months past the target date: year 10000 was a 500 for everyone."""
    roadmap_item_create(actor=pm, product=product, title="Last", start_date=datetime.date(2199, 12, 30),
                        target_date=datetime.date(2199, 12, 31))
    roadmap_item_create(actor=pm, product=product, title="First", start_date=datetime.date(1900, 1, 1),
                        target_date=datetime.date(1900, 1, 2))
    # Stored before the policy existed (or by a path that skipped it): still draws.
    old = roadmap_item_create(actor=pm, product=product, title="Legacy")
    RoadmapItem.objects.filter(pk=old.pk).update(start_date=datetime.date(9999, 12, 30),
                                                 target_date=datetime.date(9999, 12, 31))
    login(client, pm)
    assert client.get(f"/roadmap/{product.slug}/timeline/").status_code == 200


def test_title_over_the_limit_is_an_error_not_a_silent_cut(client, product, pm):
    """Issue 18.11: the input had maxlength=200, so a pasted text was cut without a word."""
    login(client, pm)
    page = client.get(f"/roadmap/{product.slug}/new/").content.decode()
    assert 'maxlength="200"' not in page
    r = client.post(f"/roadmap/{product.slug}/new/", {"title": "y" * 10_000, "kind": "feature", "status": "idea",
                                                      "horizon": "later", "reach": "0", "impact": "1",
                                                      "confidence": "50", "effort": "1"})
    assert "at most 200 characters (it has 10000)" in r.content.decode()
    assert not RoadmapItem.objects.exists()
    page = client.get(f"/sprints/{product.slug}/backlog/").content.decode()
    assert 'maxlength="200"' not in page


# --- KPIs: definitions, points, CSV, custom range --------------------------------------------

def test_kpi_targets_and_thresholds_are_bounded(api, product, pm, client):
    api.as_user(pm)
    r = api.post("/api/v1/kpis/", {"product": product.slug, "name": "Huge", "target": 1e300,
                                   "warning_threshold": -1e16}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"]["target"] == [VALUE_ERROR] and r.json()["errors"]["warning_threshold"] == [VALUE_ERROR]
    login(client, pm)
    r = client.post(f"/kpis/{product.slug}/new/", {"name": "Huge", "category": "product", "direction": "higher",
                                                   "target": "1e300", "pending_minutes": "0"})
    assert VALUE_ERROR in r.content.decode()
    assert not KPI.objects.filter(name="Huge").exists()


def test_bulk_ingest_refuses_huge_values_with_the_same_error_format(api, product, pm):
    kpi = make_kpi(product, "load")
    api.as_user(pm)
    r = api.post(f"/api/v1/kpis/{kpi.pk}/points/", {"points": [
        {"ts": "2026-01-01T00:00:00Z", "value": 1.0},
        {"ts": "2026-01-01T00:01:00Z", "value": 10**400},
        {"ts": "2026-01-01T00:02:00Z", "value": 2e15},
    ]}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"] == {"points[1].value": [VALUE_ERROR], "points[2].value": [VALUE_ERROR]}
    from kpis.timeseries.models import Point
    assert not Point.objects.filter(series_id=kpi.series_id).exists()


def test_csv_import_refuses_huge_values(client, product, pm, django_capture_on_commit_callbacks):
    kpi = make_kpi(product, "csv")
    login(client, pm)
    upload = SimpleUploadedFile("p.csv", b"ts,value\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00Z,1e16\n")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/kpis/{product.slug}/k/{kpi.key}/import/", {"file": upload})
    job = ImportJob.objects.get(kpi=kpi)
    assert job.state == ImportJob.State.FAILED
    assert job.errors == [{"line": 3, "message": f"value: {VALUE_ERROR}"}]


@pytest.mark.parametrize("query,message", [
    ("from=2026-01-01&to=9999-12-31", "Custom range: " + DATE_ERROR),
    ("from=2026-01-01&to=+10000-01-01", "Custom range: " + DATE_ERROR),
    ("from=2026-03-01&to=2026-01-01", "Custom range: To comes before From."),
    ("from=2026-03-01", "Give both From and To for a custom range."),
])
def test_custom_range_says_what_is_wrong(client, product, viewer, query, message):
    kpi = make_kpi(product, "activation", target=1)
    add_points(kpi, [1, 2, 3])
    login(client, viewer)
    for url in (f"/kpis/{product.slug}/?{query}", f"/kpis/{product.slug}/k/{kpi.key}/?{query}"):
        r = client.get(url)
        assert r.status_code == 200, url
        page = r.content.decode()
        assert 'data-testid="range-error"' in page and message in page and "Showing last 30 days instead." in page


def test_custom_range_at_the_bounds_draws(client, product, viewer):
    kpi = make_kpi(product, "activation", target=1)
    add_points(kpi, [1, 2, 3])
    login(client, viewer)
    for url in (f"/kpis/{product.slug}/", f"/kpis/{product.slug}/k/{kpi.key}/"):
        page = client.get(f"{url}?from=1900-01-01&to=2199-12-31").content.decode()
        assert "1 Jan 1900 – 31 Dec 2199" in page and 'data-testid="range-error"' not in page


def test_roadmap_pages_draw_rice_at_the_bounds(client, product, pm):
    roadmap_item_create(actor=pm, product=product, title="Huge", reach=limits.REACH_MAX, impact=3, confidence=100,
                        effort="0.01", start_date=datetime.date(1900, 1, 1), target_date=datetime.date(2199, 12, 31))
    roadmap_item_create(actor=pm, product=product, title="Tiny", reach=0, impact="0.25", confidence=0,
                        effort=limits.EFFORT_MAX)
    login(client, pm)
    for view in ("", "list/", "timeline/", "matrix/"):
        assert client.get(f"/roadmap/{product.slug}/{view}").status_code == 200, view


def test_sprint_and_objective_pages_draw_at_the_bounds(client, product, pm):
    from kpis.services.kpis import objective_create
    from products.sprints.services import sprint_create, sprint_start

    last = sprint_create(actor=pm, product=product, name="Last", start_date=datetime.date(2199, 12, 18),
                         end_date=datetime.date(2199, 12, 31))
    sprint_start(actor=pm, sprint=last)
    sprint_create(actor=pm, product=product, name="First", start_date=datetime.date(1900, 1, 1),
                  end_date=datetime.date(1900, 1, 14))
    objective_create(actor=pm, product=product, title="Centuries", start_date=datetime.date(1900, 1, 1),
                     end_date=datetime.date(2199, 12, 31))
    with pytest.raises(ValidationError) as exc:
        objective_create(actor=pm, product=product, title="Too far", start_date=datetime.date(2026, 1, 1),
                         end_date=datetime.date(9999, 12, 31))
    assert exc.value.message_dict["end_date"] == [DATE_ERROR]
    login(client, pm)
    for url in (f"/sprints/{product.slug}/", f"/sprints/{product.slug}/{last.pk}/", f"/kpis/{product.slug}/",
                f"/products/{product.slug}/", "/"):
        assert client.get(url).status_code == 200, url
