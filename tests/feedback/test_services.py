import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from feedback import selectors, services
from feedback.models import Feedback, FeedbackLink, FeedbackPortal, ShipNotification, Tag
from pmhub.models import AuditEvent
from products.roadmap.models import RoadmapItem
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_scores_sentiment_and_tags(give):
    fb = give("I love the new suggestions, they are great!", tags=["Tone", "tone", " speed "],
              stakeholder_email="Kim@Acme.example", organisation="Acme", rating=5)
    assert fb.sentiment > 0.5 and fb.sentiment_label == "positive"
    assert sorted(t.name for t in fb.tags.all()) == ["speed", "tone"]
    assert fb.stakeholder_email == "kim@acme.example"
    bad = give("The export is broken and support was useless. Terrible.")
    assert bad.sentiment_label == "negative"
    assert give("The export runs on Tuesdays.").sentiment_label == "neutral"


def test_update_of_text_rescores(give, pm):
    fb = give("Terrible, slow and broken")
    services.feedback_update(actor=pm, feedback=fb, text="Wonderful, fast and delightful")
    fb.refresh_from_db()
    assert fb.sentiment_label == "positive"


@pytest.mark.parametrize("fields,field", [
    ({"text": ""}, "text"),
    ({"text": "   \n "}, "text"),
    ({"text": "x" * 100_000}, "text"),
    ({"text": "ok", "stakeholder_email": "not-an-email"}, "stakeholder_email"),
    ({"text": "ok", "stakeholder_email": "a@b"}, "stakeholder_email"),
    ({"text": "ok", "rating": 6}, "rating"),
    ({"text": "ok", "rating": "2.5"}, "rating"),
    ({"text": "ok", "channel": "pigeon"}, "channel"),
    ({"text": "ok", "segment": "alien"}, "segment"),
    ({"text": "ok", "received_at": "2999-01-01"}, "received_at"),
    ({"text": "ok", "received_at": "yesterday"}, "received_at"),
    ({"text": "ok", "tags": ["x" * 41]}, "tags"),
    ({"text": "ok", "organisation": "o" * 500}, "organisation"),
])
def test_bad_input_is_refused_and_nothing_stored(pm, product, fields, field):
    with pytest.raises(ValidationError) as exc:
        services.feedback_create(actor=pm, product=product, **fields)
    assert field in exc.value.message_dict
    assert Feedback.objects.count() == 0


def test_html_is_stored_as_typed(give):
    fb = give("<script>alert(1)</script> <b>bold</b>", stakeholder_name="<img src=x onerror=alert(1)>")
    fb.refresh_from_db()
    assert fb.text == "<script>alert(1)</script> <b>bold</b>"
    assert fb.stakeholder_name == "<img src=x onerror=alert(1)>"


def test_members_give_feedback_only_pm_triages(product, viewer, data_scientist, pm, outsider):
    with pytest.raises(PermissionDenied):
        services.feedback_create(actor=viewer, product=product, text="Viewers read only")
    fb = services.feedback_create(actor=data_scientist, product=product, text="Please add dark mode")
    assert fb.status == "new"
    with pytest.raises(ValidationError):
        services.feedback_create(actor=data_scientist, product=product, text="x", status="planned")
    with pytest.raises(PermissionDenied):
        services.feedback_update(actor=viewer, feedback=fb, status="planned")
    with pytest.raises(Http404):
        services.feedback_create(actor=outsider, product=product, text="hello")


def test_bulk_create_validated_whole_with_index(pm, product):
    with pytest.raises(ValidationError) as exc:
        services.feedback_bulk_create(actor=pm, items=[
            {"product": product, "text": "fine"},
            {"product": product, "text": "", "stakeholder_email": "nope"},
            {"product": None, "text": "where"},
        ])
    errors = exc.value.message_dict
    assert set(errors) == {"items[1].text", "items[1].stakeholder_email", "items[2].product"}
    assert Feedback.objects.count() == 0
    created = services.feedback_bulk_create(actor=pm, items=[
        {"product": product, "text": f"note {i}", "tags": ["bulk"]} for i in range(300)])
    assert len(created) == 300 and Feedback.objects.filter(tags__name="bulk").count() == 300


def test_bulk_status_and_tags(give, pm, product, viewer):
    a, b, c = give("one"), give("two"), give("three")
    n = services.feedback_bulk_update(actor=pm, product=product, ids=[a.pk, b.pk], status="reviewed",
                                      add_tags="billing, ux")
    assert n == 2
    assert set(Feedback.objects.filter(status="reviewed").values_list("pk", flat=True)) == {a.pk, b.pk}
    assert set(a.tags.values_list("name", flat=True)) == {"billing", "ux"}
    services.feedback_bulk_update(actor=pm, product=product, ids=[a.pk], remove_tags="ux")
    assert set(a.tags.values_list("name", flat=True)) == {"billing"}
    with pytest.raises(ValidationError):
        services.feedback_bulk_update(actor=pm, product=product, ids=[c.pk], status="bogus")
    other = factories.ProductFactory()
    stranger = services.feedback_create(actor=factories.member(other, "pm"), product=other, text="elsewhere")
    with pytest.raises(ValidationError):
        services.feedback_bulk_update(actor=pm, product=product, ids=[a.pk, stranger.pk], status="done")
    assert Feedback.objects.get(pk=stranger.pk).status == "new"
    with pytest.raises(PermissionDenied):
        services.feedback_bulk_update(actor=viewer, product=product, ids=[a.pk], status="done")


def test_links_demand_and_distinct_organisations(give, pm, product, roadmap_item):
    a = give("Need export", organisation="Acme")
    b = give("Export please", organisation="acme")
    c = give("Export to S3", organisation="Globex")
    d = give("export", stakeholder_email="solo@example.com")
    services.feedback_link(actor=pm, feedback=a, roadmap_item=roadmap_item, importance=3)
    services.feedback_bulk_link(actor=pm, product=product, ids=[b.pk, c.pk, d.pk], roadmap_item=roadmap_item, importance=1)
    services.feedback_link(actor=pm, feedback=a, roadmap_item=roadmap_item, importance=2)  # changes, not duplicates
    demand = selectors.item_demand(item=roadmap_item)
    assert (demand["demand"], demand["feedback_count"], demand["organisations"]) == (5, 4, 2)
    assert selectors.reach_suggestion(item=roadmap_item) == {"organisations": 2, "individuals": 1, "reach": 3}
    ranking = selectors.demand_ranking(product=product)
    assert [(i.pk, i.demand, i.feedback_count, i.organisations) for i in ranking] == [(roadmap_item.pk, 5, 4, 2)]
    with pytest.raises(ValidationError):
        services.feedback_link(actor=pm, feedback=a, roadmap_item=roadmap_item, importance=4)
    elsewhere = RoadmapItem.objects.create(product=factories.ProductFactory(), title="Other product")
    with pytest.raises(ValidationError):
        services.feedback_link(actor=pm, feedback=a, roadmap_item=elsewhere, importance=1)


def test_duplicate_moves_links_and_counts_once(give, pm, roadmap_item):
    original = give("Export to CSV", organisation="Acme")
    dup = give("CSV export!!", organisation="Acme", stakeholder_email="kim@acme.example")
    services.feedback_link(actor=pm, feedback=dup, roadmap_item=roadmap_item, importance=3)
    services.feedback_link(actor=pm, feedback=original, roadmap_item=roadmap_item, importance=1)
    services.feedback_mark_duplicate(actor=pm, feedback=dup, original=original)
    assert list(FeedbackLink.objects.values_list("feedback_id", "importance")) == [(original.pk, 3)]
    demand = selectors.item_demand(item=roadmap_item)
    assert (demand["demand"], demand["feedback_count"]) == (3, 1)
    with pytest.raises(ValidationError):
        services.feedback_mark_duplicate(actor=pm, feedback=original, original=dup)  # would loop
    with pytest.raises(ValidationError):
        services.feedback_mark_duplicate(actor=pm, feedback=original, original=original)
    # The duplicate's stakeholder still hears when the item ships.
    assert [r["email"] for r in selectors.ship_notification_recipients(item=roadmap_item)] == ["kim@acme.example"]


def test_portal_toggle_is_audited_and_public_submission(pm, product, viewer):
    portal = services.portal_set_enabled(actor=pm, product=product, enabled=True)
    assert portal.enabled and len(portal.token) >= 30
    fb = services.feedback_submit_public(token=portal.token, data={"text": "Love it", "segment": "executive",
                                                                     "channel": "sales"})
    assert (fb.channel, fb.segment, fb.created_by) == ("form", "customer", None)
    services.portal_set_enabled(actor=pm, product=product, enabled=False)
    with pytest.raises(Http404):
        services.feedback_submit_public(token=portal.token, data={"text": "again"})
    assert list(AuditEvent.objects.filter(product=product).values_list("action", flat=True).order_by("id")) == [
        "feedback_link.enabled", "feedback_link.disabled"]
    with pytest.raises(PermissionDenied):
        services.portal_set_enabled(actor=viewer, product=product, enabled=True)
    old = portal.token
    services.portal_set_enabled(actor=pm, product=product, enabled=True)
    assert services.portal_rotate_token(actor=pm, product=product).token != old
    with pytest.raises(Http404):
        services.feedback_submit_public(token=old, data={"text": "old link"})


def test_ship_notifications_each_stakeholder_once(give, pm, product, roadmap_item, django_capture_on_commit_callbacks):
    for i, email in enumerate(["kim@acme.example", "KIM@acme.example", "lee@globex.example", ""]):
        fb = give(f"need export {i}", stakeholder_email=email, stakeholder_name=f"<b>Person {i}</b>")
        services.feedback_link(actor=pm, feedback=fb, roadmap_item=roadmap_item, importance=1)
    with pytest.raises(ValidationError):
        services.ship_notifications_queue(actor=pm, item=roadmap_item)  # not shipped yet
    RoadmapItem.objects.filter(pk=roadmap_item.pk).update(status="shipped", shipped_at=timezone.now())
    roadmap_item.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ship_notifications_queue(actor=pm, item=roadmap_item) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["kim@acme.example", "lee@globex.example"]
    assert "Bulk export" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        assert services.ship_notifications_queue(actor=pm, item=roadmap_item) == 0
    assert len(mail.outbox) == 2
    assert ShipNotification.objects.filter(sent_at__isnull=False).count() == 2


def test_delete_needs_manage_and_is_audited(give, pm, product, data_scientist):
    fb = give("bye")
    with pytest.raises(PermissionDenied):
        services.feedback_delete(actor=data_scientist, feedback=fb)
    services.feedback_delete(actor=pm, feedback=fb)
    assert not Feedback.objects.exists()
    assert AuditEvent.objects.filter(action="feedback.deleted").count() == 1


def test_summary_by_product_in_one_query(give, pm, product, django_assert_num_queries):
    give("great"), give("awful and broken")
    other = factories.ProductFactory()
    factories.MembershipFactory(user=pm, product=other, role="pm")
    services.feedback_create(actor=pm, product=other, text="fine")
    pm.refresh_from_db()
    with django_assert_num_queries(1):
        summary = selectors.feedback_summary_by_product(user=pm)
    assert summary[product.pk]["count"] == 2 and summary[other.pk]["count"] == 1
    assert summary[product.pk]["negative"] == 1


def test_text_search(give, product):
    give("The exports are slow on big accounts", organisation="Initech")
    give("Suggestions sound robotic")
    found = selectors.feedback_inbox(product=product, filters=selectors.InboxFilters(q="export"))
    assert [f.text for f in found] == ["The exports are slow on big accounts"]
    found = selectors.feedback_inbox(product=product, filters=selectors.InboxFilters(q="initech"))
    assert len(found) == 1
    give("Fine", stakeholder_email="kim@acme.example", stakeholder_name="Kim Novak")
    assert len(selectors.feedback_inbox(product=product, filters=selectors.InboxFilters(q="kim@acme.example"))) == 1
    assert len(selectors.feedback_inbox(product=product, filters=selectors.InboxFilters(q="novak"))) == 1
    assert len(selectors.feedback_inbox(product=product, filters=selectors.InboxFilters(q="export -slow"))) == 0
    assert Tag.objects.count() == 0 and FeedbackPortal.objects.count() == 0
