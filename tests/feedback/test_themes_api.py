"""Feedback themes API: reads for every member, actions for PMs, 404 for other products,
field errors for bad input (and nothing changed)."""
import pytest

from feedback import selectors as feedback_selectors
from feedback.themes.models import Theme, ThemeAssignment, ThemeLink
from products.roadmap.models import RoadmapItem
from tests import factories
from tests.feedback.themes_helpers import grouped

pytestmark = pytest.mark.django_db


@pytest.fixture
def themes(product, pm):
    grouped(product, pm, n=120)
    return sorted(Theme.objects.filter(product=product), key=lambda t: -t.assignments.count())


@pytest.fixture
def foreign(db):
    other = factories.ProductFactory(slug="not-yours")
    return Theme.objects.create(product=other, label="Elsewhere")


def _snapshot(product):
    return (sorted(Theme.objects.filter(product=product).values_list("pk", "label", "status", "locked")),
            sorted(ThemeAssignment.objects.filter(product=product).values_list("feedback_id", "theme_id", "pinned")),
            sorted(ThemeLink.objects.values_list("theme_id", "roadmap_item_id", "importance")))


def test_viewer_reads_themes_and_their_feedback(api, product, viewer, themes):
    api.as_user(viewer)
    body = api.get(f"/api/v1/feedback-themes/?product={product.slug}").json()
    assert body["count"] == len(themes)
    first = body["results"][0]
    assert first["size"] == themes[0].assignments.count() and first["keywords"] and first["quote"]["text"]
    assert set(first["sentiment"]) == {"positive", "neutral", "negative"}
    feedback = api.get(f"/api/v1/feedback-themes/{themes[0].pk}/feedback/").json()
    assert feedback["count"] == first["size"] and "similarity" in feedback["results"][0]
    hits = api.get(f"/api/v1/feedback-themes/search/?product={product.slug}&q=dark+theme+at+night").json()
    assert hits["results"] and "dark" in hits["results"][0]["text"].lower()


def test_pm_acts_through_the_api(api, product, pm, themes):
    api.as_user(pm)
    a, b, c = themes[:3]
    r = api.patch(f"/api/v1/feedback-themes/{a.pk}/", {"label": "Mobile crashes"}, format="json")
    assert r.status_code == 200 and r.json()["label"] == "Mobile crashes" and r.json()["label_pinned"]
    size_a, size_b = a.assignments.count(), b.assignments.count()
    r = api.post(f"/api/v1/feedback-themes/{b.pk}/merge/", {"into": a.pk}, format="json")
    assert r.status_code == 200 and r.json()["size"] == size_a + size_b and r.json()["locked"]
    assert not Theme.objects.filter(pk=b.pk).exists()
    r = api.post(f"/api/v1/feedback-themes/{c.pk}/split/")
    assert r.status_code == 201 and r.json()["size"] > 0
    r = api.post(f"/api/v1/feedback-themes/{c.pk}/dismiss/")
    assert r.json()["status"] == "dismissed"
    r = api.post(f"/api/v1/feedback-themes/{c.pk}/restore/")
    assert r.json()["status"] == "active"
    item = RoadmapItem.objects.create(product=product, title="Stable app")
    r = api.post(f"/api/v1/feedback-themes/{a.pk}/links/", {"roadmap_item": item.pk, "importance": 3}, format="json")
    assert r.status_code == 201 and r.json()["importance"] == 3
    assert feedback_selectors.item_demand(item=item)["demand"] == 3 * (size_a + size_b)
    piece = a.assignments.first().feedback_id
    r = api.post("/api/v1/feedback-themes/move/", {"feedback": piece, "theme": c.pk}, format="json")
    assert r.status_code == 200 and r.json()["pinned"]
    assert feedback_selectors.item_demand(item=item)["demand"] == 3 * (size_a + size_b - 1)
    r = api.delete(f"/api/v1/feedback-themes/{a.pk}/links/{item.pk}/")
    assert r.status_code == 204 and feedback_selectors.item_demand(item=item)["demand"] == 0
    r = api.post("/api/v1/feedback-themes/regroup/", {"product": product.slug}, format="json")
    assert r.status_code == 202 and r.json()["product"] == product.slug


def test_viewer_actions_are_refused_and_change_nothing(api, product, viewer, themes):
    api.as_user(viewer)
    a, b = themes[:2]
    before = _snapshot(product)
    item = RoadmapItem.objects.create(product=product, title="Anything")
    piece = a.assignments.first().feedback_id
    for method, url, body in [
        ("patch", f"/api/v1/feedback-themes/{a.pk}/", {"label": "Mine"}),
        ("post", f"/api/v1/feedback-themes/{b.pk}/merge/", {"into": a.pk}),
        ("post", f"/api/v1/feedback-themes/{a.pk}/split/", None),
        ("post", f"/api/v1/feedback-themes/{a.pk}/dismiss/", None),
        ("post", f"/api/v1/feedback-themes/{a.pk}/links/", {"roadmap_item": item.pk}),
        ("post", "/api/v1/feedback-themes/move/", {"feedback": piece, "theme": b.pk}),
        ("post", "/api/v1/feedback-themes/regroup/", {"product": product.slug}),
    ]:
        r = getattr(api, method)(url, body, format="json")
        assert r.status_code == 403, (url, r.status_code)
    assert _snapshot(product) == before


def test_other_products_answer_404(api, product, pm, themes, foreign):
    api.as_user(pm)
    before = _snapshot(foreign.product)
    assert api.get(f"/api/v1/feedback-themes/{foreign.pk}/").status_code == 404
    assert api.get(f"/api/v1/feedback-themes/{foreign.pk}/feedback/").status_code == 404
    for url, body in [(f"/api/v1/feedback-themes/{foreign.pk}/merge/", {"into": themes[0].pk}),
                      (f"/api/v1/feedback-themes/{foreign.pk}/split/", None),
                      (f"/api/v1/feedback-themes/{foreign.pk}/dismiss/", None)]:
        assert api.post(url, body, format="json").status_code == 404
    assert api.patch(f"/api/v1/feedback-themes/{foreign.pk}/", {"label": "x"}, format="json").status_code == 404
    assert foreign.pk not in [t["id"] for t in api.get("/api/v1/feedback-themes/").json()["results"]]
    other_fb = factories.member(foreign.product, "pm", username="other-pm")
    from feedback import services as feedback_services

    fb = feedback_services.feedback_create(actor=other_fb, product=foreign.product, text="Theirs")
    r = api.post("/api/v1/feedback-themes/move/", {"feedback": fb.pk, "theme": themes[0].pk}, format="json")
    assert r.status_code == 400 and "feedback" in r.json()["errors"]
    r = api.post("/api/v1/feedback-themes/regroup/", {"product": "not-yours"}, format="json")
    assert r.status_code == 400 and "product" in r.json()["errors"]
    assert api.get("/api/v1/feedback-themes/search/?product=not-yours&q=x").status_code == 400
    assert _snapshot(foreign.product) == before


@pytest.mark.parametrize("case", ["empty label", "long label", "merge into itself", "merge into another product",
                                  "item of another product", "importance 9", "move into another product",
                                  "missing into"])
def test_bad_input_is_a_field_error_and_changes_nothing(api, product, pm, themes, foreign, case):
    api.as_user(pm)
    a, b = themes[:2]
    theirs = RoadmapItem.objects.create(product=foreign.product, title="Theirs")
    mine = RoadmapItem.objects.create(product=product, title="Mine")
    piece = a.assignments.first().feedback_id
    method, url, body, field = {
        "empty label": ("patch", f"/api/v1/feedback-themes/{a.pk}/", {"label": "  "}, "label"),
        "long label": ("patch", f"/api/v1/feedback-themes/{a.pk}/", {"label": "x" * 500}, "label"),
        "merge into itself": ("post", f"/api/v1/feedback-themes/{a.pk}/merge/", {"into": a.pk}, "into"),
        "merge into another product": ("post", f"/api/v1/feedback-themes/{a.pk}/merge/", {"into": foreign.pk}, "into"),
        "item of another product": ("post", f"/api/v1/feedback-themes/{a.pk}/links/", {"roadmap_item": theirs.pk},
                                    "roadmap_item"),
        "importance 9": ("post", f"/api/v1/feedback-themes/{a.pk}/links/", {"roadmap_item": mine.pk, "importance": 9},
                         "importance"),
        "move into another product": ("post", "/api/v1/feedback-themes/move/", {"feedback": piece, "theme": foreign.pk},
                                      "theme"),
        "missing into": ("post", f"/api/v1/feedback-themes/{a.pk}/merge/", {}, "into"),
    }[case]
    before = _snapshot(product)
    r = getattr(api, method)(url, body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()
    assert _snapshot(product) == before


def test_schema_documents_the_themes_api(api, pm):
    api.as_user(pm)
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ["/api/v1/feedback-themes/", "/api/v1/feedback-themes/{id}/", "/api/v1/feedback-themes/{id}/merge/",
                 "/api/v1/feedback-themes/{id}/split/", "/api/v1/feedback-themes/{id}/links/",
                 "/api/v1/feedback-themes/{id}/links/{item_id}/", "/api/v1/feedback-themes/move/",
                 "/api/v1/feedback-themes/regroup/", "/api/v1/feedback-themes/search/",
                 "/api/v1/feedback-themes/{id}/feedback/"]:
        assert path in paths, path
