"""Roadmap and sprint pages: what a PM, a data scientist, a viewer and a stranger get."""
import datetime

import pytest
from django.utils import timezone

from products.roadmap import services as roadmap_services
from products.roadmap.models import RoadmapItem
from products.sprints import services as sprint_services
from products.sprints.models import Sprint, WorkItem
from tests.factories import PASSWORD
from tests.utils import page_get

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def items(pm, product):
    today = timezone.localdate()
    return [
        roadmap_services.roadmap_item_create(actor=pm, product=product, title="Alpha", theme="Growth", horizon="now",
                                     reach=100, impact="1", confidence=100, effort="1",
                                     start_date=today, target_date=today + datetime.timedelta(days=30),
                                     internal_notes="SECRET-NOTE"),
        roadmap_services.roadmap_item_create(actor=pm, product=product, title="Beta", theme="Quality", horizon="next",
                                     reach=500, impact="2", confidence=80, effort="2"),
    ]


def test_board_list_timeline_matrix_render(client, pm, product, items):
    login(client, pm)
    html = page_get(client, f"/roadmap/{product.slug}/").content.decode()
    assert "Alpha" in html and "Beta" in html and 'data-dnd-column="now"' in html
    assert 'hx-post="/roadmap/' in html and "Move “Alpha” to" in html
    html = page_get(client, f"/roadmap/{product.slug}/list/?sort=-rice_score").content.decode()
    assert html.index("Beta") < html.index("Alpha")
    html = page_get(client, f"/roadmap/{product.slug}/list/?sort=title&theme=Growth").content.decode()
    assert "Alpha" in html and "Beta" not in html
    html = page_get(client, f"/roadmap/{product.slug}/timeline/").content.decode()
    assert 'data-figure="fig-timeline"' in html and "Without dates" in html and "Beta" in html
    html = page_get(client, f"/roadmap/{product.slug}/matrix/").content.decode()
    assert 'data-figure="fig-matrix"' in html
    page_get(client, "/roadmap/")


def test_htmx_move_returns_board_and_saves(client, pm, product, items):
    login(client, pm)
    beta = items[1]
    r = client.post(f"/roadmap/{product.slug}/items/{beta.pk}/move/", {"horizon": "now", "position": "0"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.lstrip().startswith('<div id="roadmap-board"') and "Moved “Beta” to Now" in html
    assert list(RoadmapItem.objects.filter(horizon="now").order_by("position").values_list("title", flat=True)) == [
        "Beta", "Alpha"]
    # Without htmx the same form redirects back with a message (no-JS path).
    r = client.post(f"/roadmap/{product.slug}/items/{beta.pk}/move/", {"horizon": "later"})
    assert r.status_code == 302


def test_viewer_reads_but_cannot_move_or_edit(client, viewer, product, items):
    login(client, viewer)
    html = page_get(client, f"/roadmap/{product.slug}/").content.decode()
    assert "Alpha" in html and "move-form" not in html and "New roadmap item" not in html
    assert client.post(f"/roadmap/{product.slug}/items/{items[0].pk}/move/", {"horizon": "later"}).status_code == 403
    assert client.get(f"/roadmap/{product.slug}/new/").status_code == 403
    items[0].refresh_from_db()
    assert items[0].horizon == "now"


def test_outsider_gets_404(client, outsider, product, items):
    login(client, outsider)
    assert client.get(f"/roadmap/{product.slug}/").status_code == 404
    assert client.get(f"/roadmap/{product.slug}/items/{items[0].pk}/").status_code == 404
    assert client.get(f"/sprints/{product.slug}/").status_code == 404


def test_create_edit_detail_with_history(client, pm, product):
    login(client, pm)
    r = client.post(f"/roadmap/{product.slug}/new/", {
        "title": "Gamma", "kind": "feature", "status": "idea", "horizon": "next", "reach": "200", "impact": "2",
        "confidence": "50", "effort": "4", "start_date": "2026-05-10", "target_date": "2026-05-01"})
    assert r.status_code == 200 and "cannot be before the start date" in r.content.decode()
    assert RoadmapItem.objects.count() == 0
    r = client.post(f"/roadmap/{product.slug}/new/", {
        "title": "Gamma", "kind": "feature", "status": "idea", "horizon": "next", "reach": "200", "impact": "2",
        "confidence": "50", "effort": "4"})
    item = RoadmapItem.objects.get()
    assert r.status_code == 302 and item.rice_score == 50
    r = client.post(f"/roadmap/{product.slug}/items/{item.pk}/status/", {"status": "shipped"})
    html = page_get(client, f"/roadmap/{product.slug}/items/{item.pk}/").content.decode()
    assert "Status history" in html and "Shipped" in html and "created as" in html
    data = {"title": "Gamma 2", "kind": "feature", "status": "shipped", "horizon": "now", "reach": "400",
            "impact": "2", "confidence": "50", "effort": "4"}
    assert client.post(f"/roadmap/{product.slug}/items/{item.pk}/edit/", data).status_code == 302
    item.refresh_from_db()
    assert item.title == "Gamma 2" and item.rice_score == 100 and item.horizon == "now"


def test_detail_renders_panels_slot(client, pm, product, items):
    from pmhub import panels

    @panels.register("roadmap_item_detail", order=99)
    def probe(request, obj):
        return f"<p>panel for {obj.pk}</p>"

    try:
        login(client, pm)
        html = page_get(client, f"/roadmap/{product.slug}/items/{items[0].pk}/").content.decode()
        assert f"panel for {items[0].pk}" in html
    finally:
        panels._PANELS["roadmap_item_detail"] = [p for p in panels._PANELS["roadmap_item_detail"] if p[1] is not probe]


def test_share_link_hides_internal_notes_and_revokes(client, pm, product, items, data_scientist):
    login(client, data_scientist)
    assert client.post(f"/roadmap/{product.slug}/share/", {"enable": "1"}).status_code == 403
    login(client, pm)
    client.post(f"/roadmap/{product.slug}/share/", {"enable": "1"})
    token = product.roadmap_share.token
    html = page_get(client, f"/roadmap/{product.slug}/").content.decode()
    assert f"/roadmap/shared/{token}/" in html
    client.logout()
    r = page_get(client, f"/roadmap/shared/{token}/")
    html = r.content.decode()
    assert "Alpha" in html and "SECRET-NOTE" not in html and "move-form" not in html
    assert r["X-Robots-Tag"] == "noindex, nofollow"
    login(client, pm)
    client.post(f"/roadmap/{product.slug}/share/", {"enable": "0"})
    client.logout()
    assert client.get(f"/roadmap/shared/{token}/").status_code == 404


def test_sprint_pages_and_close_flow(client, pm, product):
    today = timezone.localdate()
    login(client, pm)
    r = client.post(f"/sprints/{product.slug}/new/", {"name": "S1", "start_date": str(today),
                                                      "end_date": str(today - datetime.timedelta(days=1))})
    assert r.status_code == 200 and "cannot end before it starts" in r.content.decode()
    client.post(f"/sprints/{product.slug}/new/", {"name": "S1", "start_date": str(today),
                                                  "end_date": str(today + datetime.timedelta(days=13))})
    client.post(f"/sprints/{product.slug}/new/", {"name": "S2", "start_date": str(today + datetime.timedelta(days=14)),
                                                  "end_date": str(today + datetime.timedelta(days=27))})
    s1, s2 = Sprint.objects.order_by("start_date")
    for title, points in (("One", "3"), ("Two", "5")):
        assert client.post(f"/sprints/{product.slug}/backlog/", {"action": "create", "title": title, "type": "story",
                                                                 "points": points}).status_code == 302
    r = client.post(f"/sprints/{product.slug}/backlog/", {"action": "create", "title": "Neg", "type": "story",
                                                          "points": "-1"})
    assert "Enter a whole number from 0 to 1,000." in r.content.decode()
    ids = list(WorkItem.objects.values_list("pk", flat=True))
    client.post(f"/sprints/{product.slug}/backlog/", {"action": "pull", "sprint": s1.pk, "items": ids})
    assert WorkItem.objects.filter(sprint=s1).count() == 2
    client.post(f"/sprints/{product.slug}/{s1.pk}/start/")
    r = client.post(f"/sprints/{product.slug}/{s2.pk}/start/", follow=True)
    assert "already active" in r.content.decode()
    one = WorkItem.objects.get(title="One")
    r = client.post(f"/sprints/{product.slug}/items/{one.pk}/move/", {"status": "done"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert 'id="sprint-board"' in html and 'data-figure="fig-burndown"' in html
    assert '<strong data-testid="remaining-points">5</strong> of 8' in html
    html = page_get(client, f"/sprints/{product.slug}/").content.decode()
    assert "S1" in html and "Close sprint" in html
    page_get(client, f"/sprints/{product.slug}/{s1.pk}/close/")
    r = client.post(f"/sprints/{product.slug}/{s1.pk}/close/", {"unfinished_to": str(s2.pk)})
    assert r.status_code == 302
    assert WorkItem.objects.get(title="Two").sprint_id == s2.pk
    html = page_get(client, f"/sprints/{product.slug}/").content.decode()
    assert 'data-figure="fig-velocity"' in html
    page_get(client, f"/sprints/{product.slug}/{s1.pk}/")
    page_get(client, "/sprints/")


def test_viewer_cannot_move_cards_on_page(client, pm, viewer, product):
    s = sprint_services.sprint_create(actor=pm, product=product, name="S", start_date=timezone.localdate(),
                               end_date=timezone.localdate())
    wi = sprint_services.work_item_create(actor=pm, product=product, title="Card", sprint=s)
    login(client, viewer)
    html = page_get(client, f"/sprints/{product.slug}/{s.pk}/").content.decode()
    assert "Card" in html and "move-form" not in html
    assert client.post(f"/sprints/{product.slug}/items/{wi.pk}/move/", {"status": "done"}).status_code == 403
    wi.refresh_from_db()
    assert wi.status == "todo"


def test_demo_seed_is_idempotent_and_has_shapes(db):
    from django.core.management import call_command

    call_command("seed_demo", "--quiet")
    counts = (RoadmapItem.objects.count(), Sprint.objects.count(), WorkItem.objects.count())
    call_command("seed_demo", "--quiet")
    assert (RoadmapItem.objects.count(), Sprint.objects.count(), WorkItem.objects.count()) == counts
    from products.models import Product
    from products.sprints.selectors import sprint_burndown, sprint_velocity

    for product in Product.objects.all():
        assert RoadmapItem.objects.filter(product=product).count() == 12
        assert RoadmapItem.objects.filter(product=product, status="shipped", shipped_at__isnull=False).count() >= 3
        assert list(Sprint.objects.filter(product=product).order_by("start_date").values_list("state", flat=True)) == [
            "closed", "closed", "active"]
        velocity = sprint_velocity(product=product)
        assert len(velocity) == 2 and all(0 < v["completed"] <= v["committed"] + 10 for v in velocity)
        active = Sprint.objects.get(product=product, state="active")
        remaining = [r for r in sprint_burndown(sprint=active)["remaining"] if r is not None]
        assert remaining[0] > remaining[-1] > 0


def test_product_overview_shows_roadmap_and_sprint_panel(client, pm, product, items):
    s = sprint_services.sprint_create(actor=pm, product=product, name="Sprint 9", start_date=timezone.localdate(),
                               end_date=timezone.localdate())
    sprint_services.work_item_create(actor=pm, product=product, title="Card", points=4, sprint=s)
    sprint_services.sprint_start(actor=pm, sprint=s)
    login(client, pm)
    html = page_get(client, f"/products/{product.slug}/").content.decode()
    assert "<strong>1</strong> now" in html and "Sprint 9" in html and "<strong>4</strong> of 4 points" in html


def test_board_link_with_status_opens_filtered_list(client, pm, product, items):
    login(client, pm)
    r = client.get(f"/roadmap/{product.slug}/?status=idea")
    assert r.status_code == 302 and r["Location"] == f"/roadmap/{product.slug}/list/?status=idea"
