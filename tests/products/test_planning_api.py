"""API of the roadmap, sprints and work items: the same operations and refusals as the pages."""
import datetime

import pytest
from django.utils import timezone

from products.roadmap import services as roadmap_services
from products.roadmap.models import RoadmapItem
from products.sprints import services as sprint_services
from products.sprints.models import Sprint, WorkItem
from tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(pm, product):
    return roadmap_services.roadmap_item_create(actor=pm, product=product, title="Existing", horizon="next")


@pytest.fixture
def active_sprint(pm, product):
    s = sprint_services.sprint_create(actor=pm, product=product, name="S1", start_date=timezone.localdate(),
                               end_date=timezone.localdate() + datetime.timedelta(days=13))
    return sprint_services.sprint_start(actor=pm, sprint=s)


def test_pm_creates_roadmap_item_with_computed_rice(api, pm, product):
    api.as_user(pm)
    r = api.post("/api/v1/roadmap-items/", {
        "product": product.slug, "title": "Smart compose", "reach": 1000, "impact": "2", "confidence": 50,
        "effort": "4", "horizon": "next", "rice_score": 99999, "shipped_at": "2020-01-01T00:00:00Z",
    }, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["rice_score"] == 250.0 and body["shipped_at"] is None
    assert body["product"] == product.slug and body["horizon"] == "next"


def test_list_filters_and_orders(api, pm, product):
    for title, reach, theme in (("a", 10, "X"), ("b", 30, "Y"), ("c", 20, "X")):
        roadmap_services.roadmap_item_create(actor=pm, product=product, title=title, reach=reach, theme=theme)
    api.as_user(pm)
    r = api.get(f"/api/v1/roadmap-items/?product={product.slug}&ordering=-rice_score")
    assert [i["title"] for i in r.json()["results"]] == ["b", "c", "a"]
    r = api.get("/api/v1/roadmap-items/?theme=X&ordering=title")
    assert [i["title"] for i in r.json()["results"]] == ["a", "c"]


def test_move_and_status_actions(api, pm, product, item):
    api.as_user(pm)
    r = api.post(f"/api/v1/roadmap-items/{item.pk}/move/", {"horizon": "now", "position": 0}, format="json")
    assert r.status_code == 200 and r.json()["horizon"] == "now"
    r = api.post(f"/api/v1/roadmap-items/{item.pk}/status/", {"status": "shipped"}, format="json")
    assert r.status_code == 200 and r.json()["shipped_at"]
    assert list(RoadmapItem.objects.get(pk=item.pk).status_changes.values_list("to_status", flat=True)) == [
        "shipped", "idea"]


def test_roadmap_refusals(api, pm, product, item, viewer, data_scientist, outsider):
    api.as_user(pm)
    r = api.patch(f"/api/v1/roadmap-items/{item.pk}/", {"start_date": "2026-05-02", "target_date": "2026-05-01"},
                  format="json")
    assert r.status_code == 400 and "target_date" in r.json()["errors"]
    assert r.json()["detail"] == "Invalid input."
    r = api.post("/api/v1/roadmap-items/", {"product": product.slug, "title": "x", "impact": "1.7"}, format="json")
    assert r.status_code == 400 and "impact" in r.json()["errors"]
    for user in (viewer, data_scientist):
        api.as_user(user)
        assert api.post(f"/api/v1/roadmap-items/{item.pk}/move/", {"horizon": "now"}, format="json").status_code == 403
        assert api.post("/api/v1/roadmap-items/", {"product": product.slug, "title": "x"},
                        format="json").status_code == 403
    api.as_user(outsider)
    assert api.get(f"/api/v1/roadmap-items/{item.pk}/").status_code == 404
    assert api.post(f"/api/v1/roadmap-items/{item.pk}/move/", {"horizon": "now"}, format="json").status_code == 404
    assert api.post("/api/v1/roadmap-items/", {"product": product.slug, "title": "x"}, format="json").status_code == 400
    item.refresh_from_db()
    assert item.horizon == "next" and item.target_date is None and RoadmapItem.objects.count() == 1


def test_sprint_lifecycle_and_refusals(api, pm, product):
    api.as_user(pm)
    r = api.post("/api/v1/sprints/", {"product": product.slug, "name": "Bad", "start_date": "2026-03-10",
                                      "end_date": "2026-03-01"}, format="json")
    assert r.status_code == 400 and "end_date" in r.json()["errors"]
    today = timezone.localdate()
    ids = []
    for name in ("S1", "S2"):
        r = api.post("/api/v1/sprints/", {"product": product.slug, "name": name, "start_date": str(today),
                                          "end_date": str(today + datetime.timedelta(days=13))}, format="json")
        assert r.status_code == 201
        ids.append(r.json()["id"])
    assert api.post(f"/api/v1/sprints/{ids[0]}/start/").json()["state"] == "active"
    r = api.post(f"/api/v1/sprints/{ids[1]}/start/")
    assert r.status_code == 400 and "already active" in r.json()["errors"]["state"][0]
    assert Sprint.objects.get(pk=ids[1]).state == "planned"
    wi = api.post("/api/v1/work-items/", {"product": product.slug, "title": "Card", "points": 5, "sprint": ids[0]},
                  format="json").json()
    assert api.post(f"/api/v1/work-items/{wi['id']}/move/", {"status": "done"}, format="json").status_code == 200
    burndown = api.get(f"/api/v1/sprints/{ids[0]}/burndown/").json()
    assert burndown["remaining"][0] == 0 and burndown["scope"][0] == 5
    r = api.post(f"/api/v1/sprints/{ids[0]}/close/", {"unfinished_to": str(ids[1])}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["completed_points"] == 5


def test_work_item_refusals(api, pm, product, active_sprint, viewer, product_factory):
    other = product_factory()
    other_pm = member(other, "pm", username="other-pm")
    foreign = sprint_services.sprint_create(actor=other_pm, product=other, name="Theirs", start_date=timezone.localdate(),
                                     end_date=timezone.localdate())
    member(other, "viewer", username=pm.username)  # pm can see the other product, but not edit it
    api.as_user(pm)
    r = api.post("/api/v1/work-items/", {"product": product.slug, "title": "Neg", "points": -1}, format="json")
    assert r.status_code == 400 and "points" in r.json()["errors"]
    wi = api.post("/api/v1/work-items/", {"product": product.slug, "title": "Card", "points": 3,
                                          "sprint": active_sprint.pk}, format="json").json()
    r = api.post(f"/api/v1/work-items/{wi['id']}/move/", {"sprint": foreign.pk}, format="json")
    assert r.status_code == 400 and "another product" in r.json()["errors"]["sprint"][0]
    r = api.patch(f"/api/v1/work-items/{wi['id']}/", {"points": -4}, format="json")
    assert r.status_code == 400
    api.as_user(viewer)
    r = api.post(f"/api/v1/work-items/{wi['id']}/move/", {"status": "done"}, format="json")
    assert r.status_code == 403
    saved = WorkItem.objects.get(pk=wi["id"])
    assert (saved.sprint_id, saved.status, saved.points) == (active_sprint.pk, "todo", 3)
    assert WorkItem.objects.count() == 1


def test_data_scientist_moves_cards_but_cannot_create(api, pm, product, active_sprint, data_scientist):
    wi = sprint_services.work_item_create(actor=pm, product=product, title="Card", points=2, sprint=active_sprint)
    api.as_user(data_scientist)
    assert api.post(f"/api/v1/work-items/{wi.pk}/move/", {"status": "review"}, format="json").status_code == 200
    assert api.post("/api/v1/work-items/", {"product": product.slug, "title": "x"}, format="json").status_code == 403


def test_patch_status_goes_through_move(api, pm, product, active_sprint):
    a = sprint_services.work_item_create(actor=pm, product=product, title="a", sprint=active_sprint)
    b = sprint_services.work_item_create(actor=pm, product=product, title="b", sprint=active_sprint)
    api.as_user(pm)
    r = api.patch(f"/api/v1/work-items/{a.pk}/", {"status": "done", "title": "a!"}, format="json")
    assert r.status_code == 200 and r.json()["completed_at"] and r.json()["title"] == "a!"
    b.refresh_from_db()
    assert b.order == 0
    r = api.get(f"/api/v1/work-items/?sprint={active_sprint.pk}&status=done")
    assert [w["title"] for w in r.json()["results"]] == ["a!"]
    assert api.get("/api/v1/work-items/?backlog=true").json()["count"] == 0


def test_schema_lists_planning_endpoints(api, pm):
    api.as_user(pm)
    r = api.get("/api/schema/?format=json")
    paths = r.json()["paths"]
    assert "/api/v1/roadmap-items/{id}/move/" in paths and "/api/v1/sprints/{id}/close/" in paths
    assert "/api/v1/work-items/{id}/move/" in paths


def test_unowned_items_and_unassigned_work_match_the_schema(api, pm, product, item, active_sprint):
    """Found by the API fuzz test: owner and assignee are null when nobody holds them; the schema said string."""
    from tests.utils import assert_matches_schema

    sprint_services.work_item_create(actor=pm, product=product, title="Nobody's", sprint=active_sprint)
    api.as_user(pm)
    r = api.get(f"/api/v1/roadmap-items/?product={product.slug}")
    assert r.json()["results"][0]["owner"] is None
    assert_matches_schema(api, r, "GET", "/api/v1/roadmap-items/")
    r = api.get(f"/api/v1/work-items/?product={product.slug}")
    assert r.json()["results"][0]["assignee"] is None
    assert_matches_schema(api, r, "GET", "/api/v1/work-items/")


def test_burndown_matches_the_schema(api, pm, product, active_sprint):
    """Found by the API fuzz test: the schema described the burndown as a Sprint."""
    from tests.utils import assert_matches_schema

    api.as_user(pm)
    r = api.get(f"/api/v1/sprints/{active_sprint.pk}/burndown/")
    assert r.status_code == 200 and r.json()["name"] == "S1"
    assert_matches_schema(api, r, "GET", "/api/v1/sprints/{id}/burndown/")


@pytest.mark.parametrize("path,payload", [
    ("/api/v1/roadmap-items/", {"title": "No product"}),
    ("/api/v1/sprints/", {"name": "No product", "start_date": "2026-01-05", "end_date": "2026-01-16"}),
    ("/api/v1/work-items/", {"title": "No product"}),
])
def test_create_needs_a_product_and_the_schema_says_so(api, pm, product, path, payload):
    """Found by the API fuzz test: creating without `product` is refused, but the schema called it optional."""
    api.as_user(pm)
    r = api.post(path, payload, format="json")
    assert r.status_code == 400 and r.json()["errors"] == {"product": ["This field is required."]}
    schema = api.get("/api/schema/?format=json").json()
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "product" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["required"]
    # Updates still take it as optional (and refuse a move to another product).
    update = schema["paths"][path + "{id}/"]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "product" not in schema["components"]["schemas"][update.rsplit("/", 1)[1]].get("required", [])


def test_shipped_at_filters_take_any_utc_offset(api, pm, product, item):
    """Found by the API fuzz test: an offset PostgreSQL refuses (-21:01) in a datetime filter was a 500."""
    RoadmapItem.objects.filter(pk=item.pk).update(shipped_at=datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc))
    api.as_user(pm)

    def ids(query):
        r = api.get(f"/api/v1/roadmap-items/?product={product.slug}&{query}")
        assert r.status_code == 200, r.json()
        return [x["id"] for x in r.json()["results"]]

    assert ids("shipped_at__gte=2026-03-01T13:00:00%2B01:00") == [item.pk]  # 12:00 UTC
    assert ids("shipped_at__gte=2026-03-01T10:00:00-03:00") == []  # 13:00 UTC
    assert ids("shipped_at__gte=0301-07-02T10:14:51-21:01") == [item.pk]
    r = api.get("/api/v1/roadmap-items/?shipped_at__lt=0001-01-01T00:00:00%2B05:00")
    assert r.status_code == 400 and "shipped_at__lt" in r.json()["errors"]


def test_sprint_length_is_bounded_and_the_last_date_works(api, pm, product):
    """A sprint over centuries made a burndown with millions of days; one ending 9999-12-31 was a 500."""
    api.as_user(pm)
    r = api.post("/api/v1/sprints/", {"product": product.slug, "name": "Forever", "start_date": "0001-01-01",
                                      "end_date": "9999-12-31"}, format="json")
    # Issue 18.1: dates outside the one policy are refused, with the accepted range in the error.
    assert r.status_code == 400 and r.json()["errors"]["end_date"] == ["Enter a date from 1900-01-01 to 2199-12-31."]
    assert r.json()["errors"]["start_date"] == ["Enter a date from 1900-01-01 to 2199-12-31."]
    r = api.post("/api/v1/sprints/", {"product": product.slug, "name": "Forever", "start_date": "2026-01-01",
                                      "end_date": "2199-12-31"}, format="json")
    assert r.status_code == 400 and r.json()["errors"]["end_date"] == ["A sprint lasts at most 366 days."]
    assert not Sprint.objects.filter(name="Forever").exists()
    r = api.post("/api/v1/sprints/", {"product": product.slug, "name": "Last", "start_date": "2199-12-18",
                                      "end_date": "2199-12-31"}, format="json")
    assert r.status_code == 201
    r = api.get(f"/api/v1/sprints/{r.json()['id']}/burndown/")
    assert r.status_code == 200 and r.json()["days"][-1] == "2199-12-31" and len(r.json()["days"]) == 14
