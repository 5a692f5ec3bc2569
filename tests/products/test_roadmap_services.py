import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from pmhub.models import AuditEvent
from products.roadmap import selectors, services
from products.roadmap.models import RoadmapItem, RoadmapShareLink, RoadmapStatusChange

pytestmark = pytest.mark.django_db


def make(pm, product, title="Item", **kw):
    return services.roadmap_item_create(actor=pm, product=product, title=title, **kw)


def test_create_computes_rice_and_records_first_status(pm, product):
    item = make(pm, product, "Smart compose", reach=2000, impact="2", confidence=80, effort="4")
    assert item.rice_score == pytest.approx(2000 * 2 * 0.8 / 4)
    assert item.horizon == "later" and item.position == 0
    assert list(item.status_changes.values_list("from_status", "to_status")) == [("", "idea")]


def test_rice_is_recomputed_on_update_and_never_typed(pm, product):
    item = make(pm, product, reach=100, impact="1", confidence=50, effort="1")
    services.roadmap_item_update(actor=pm, item=item, reach=1000)
    item.refresh_from_db()
    assert item.rice_score == pytest.approx(500)
    with pytest.raises(ValidationError) as exc:
        services.roadmap_item_update(actor=pm, item=item, rice_score=9999)
    assert "rice_score" in exc.value.message_dict


def test_shipping_sets_shipped_at_and_history(pm, product):
    item = make(pm, product)
    services.roadmap_item_set_status(actor=pm, item=item, status="in_progress")
    assert item.shipped_at is None
    services.roadmap_item_set_status(actor=pm, item=item, status="shipped")
    item.refresh_from_db()
    assert item.shipped_at is not None
    history = list(selectors.roadmap_item_status_history(item=item).values_list("from_status", "to_status"))
    assert history == [("in_progress", "shipped"), ("idea", "in_progress"), ("", "idea")]
    # Back out of shipped clears the date.
    services.roadmap_item_set_status(actor=pm, item=item, status="in_progress")
    item.refresh_from_db()
    assert item.shipped_at is None


@pytest.mark.parametrize("fields,error", [
    ({"start_date": datetime.date(2026, 5, 1), "target_date": datetime.date(2026, 4, 1)}, "target_date"),
    ({"impact": "1.5"}, "impact"),
    ({"confidence": 120}, "confidence"),
    ({"effort": "0"}, "effort"),
    ({"reach": -5}, "reach"),
    ({"status": "bogus"}, "status"),
    ({"horizon": "someday"}, "horizon"),
])
def test_bad_input_refused_and_nothing_written(pm, product, fields, error):
    with pytest.raises(ValidationError) as exc:
        make(pm, product, **fields)
    assert error in exc.value.message_dict
    assert RoadmapItem.objects.count() == 0


def test_update_bad_dates_changes_nothing(pm, product):
    item = make(pm, product, start_date=datetime.date(2026, 1, 1), target_date=datetime.date(2026, 2, 1))
    with pytest.raises(ValidationError):
        services.roadmap_item_update(actor=pm, item=item, target_date=datetime.date(2025, 12, 1), title="New")
    item.refresh_from_db()
    assert item.title == "Item" and item.target_date == datetime.date(2026, 2, 1)


def test_viewer_and_data_scientist_cannot_edit_outsider_gets_404(pm, product, viewer, data_scientist, outsider):
    item = make(pm, product)
    for user in (viewer, data_scientist):
        with pytest.raises(PermissionDenied):
            services.roadmap_item_update(actor=user, item=item, title="x")
        with pytest.raises(PermissionDenied):
            services.roadmap_item_move(actor=user, item=item, horizon="now")
    with pytest.raises(Http404):
        services.roadmap_item_create(actor=outsider, product=product, title="x")


def test_move_between_columns_keeps_positions_dense(pm, product):
    a, b, c = (make(pm, product, t, horizon="next") for t in "abc")
    n = make(pm, product, "n", horizon="now")
    services.roadmap_item_move(actor=pm, item=b, horizon="now", position=0)
    cols = {c["horizon"]: [i.title for i in c["items"]] for c in selectors.roadmap_board(product=product)}
    assert cols["now"] == ["b", "n"]
    assert cols["next"] == ["a", "c"]
    positions = dict(RoadmapItem.objects.values_list("title", "position"))
    assert positions == {"b": 0, "n": 1, "a": 0, "c": 1}
    services.roadmap_item_move(actor=pm, item=c, horizon="next", position=0)
    cols = {c["horizon"]: [i.title for i in c["items"]] for c in selectors.roadmap_board(product=product)}
    assert cols["next"] == ["c", "a"]
    assert n.pk


def test_share_link_on_and_revoke_audited(pm, product, data_scientist):
    link = services.roadmap_share_enable(actor=pm, product=product)
    assert selectors.roadmap_share_product(token=link.token) == product
    assert services.roadmap_share_enable(actor=pm, product=product).token == link.token
    with pytest.raises(PermissionDenied):
        services.roadmap_share_revoke(actor=data_scientist, product=product)
    assert services.roadmap_share_revoke(actor=pm, product=product) is True
    assert selectors.roadmap_share_product(token=link.token) is None
    assert RoadmapShareLink.objects.count() == 0
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"roadmap_share.enabled", "roadmap_share.revoked"}


def test_list_for_user_filters_visibility_and_orders(pm, product, product_factory, outsider):
    other = product_factory()
    from tests.factories import member

    other_pm = member(other, "pm")
    make(pm, product, "low", reach=1, impact="1", confidence=100, effort="1")
    make(pm, product, "high", reach=100, impact="3", confidence=100, effort="1")
    make(other_pm, other, "theirs")
    titles = [i.title for i in selectors.roadmap_item_list_for_user(user=pm, ordering="-rice_score")]
    assert titles == ["high", "low"]
    assert list(selectors.roadmap_item_list_for_user(user=outsider)) == []
    assert [i.title for i in selectors.roadmap_item_list_for_user(user=pm, product=product, status="idea",
                                                                   ordering="rice_score")] == ["low", "high"]


def test_shipped_between_and_portfolio_progress(pm, product):
    from django.utils import timezone

    shipped = make(pm, product, "shipped")
    services.roadmap_item_set_status(actor=pm, item=shipped, status="shipped")
    make(pm, product, "late", target_date=timezone.localdate() - datetime.timedelta(days=3),
         start_date=timezone.localdate() - datetime.timedelta(days=30))
    make(pm, product, "doing", status="in_progress")
    today = timezone.localdate()
    found = selectors.roadmap_items_shipped_between(product_ids=[product.pk], start=today,
                                                    end=today + datetime.timedelta(days=1))
    assert [i.title for i in found] == ["shipped"]
    progress = selectors.roadmap_progress_for_products(product_ids=[product.pk], start=today,
                                                       end=today + datetime.timedelta(days=1))[product.pk]
    assert progress == {"shipped": 1, "in_progress": 1, "slipping": 1}
    summary = selectors.roadmap_summary_for_products(product_ids=[product.pk], start=today,
                                                     end=today + datetime.timedelta(days=1))[product.pk]
    assert summary["total"] == 3 and summary["open"] == 2


def test_feedback_seam_sets_reach(pm, product):
    item = make(pm, product, reach=0, impact="1", confidence=100, effort="2")
    services.roadmap_item_update(actor=pm, item=item, reach=40)
    assert item.reach == 40 and item.rice_score == pytest.approx(20)
    assert RoadmapStatusChange.objects.filter(item=item).count() == 1
    assert item.impact == Decimal("1")


def test_portfolio_selectors_take_today_and_return_rows(pm, product):
    from django.utils import timezone

    today = timezone.localdate()
    make(pm, product, "late", start_date=today - datetime.timedelta(days=20),
         target_date=today - datetime.timedelta(days=2))
    shipped = make(pm, product, "done")
    services.roadmap_item_set_status(actor=pm, item=shipped, status="shipped")
    start, end = timezone.now() - datetime.timedelta(days=1), timezone.now() + datetime.timedelta(days=1)
    progress = selectors.roadmap_progress_for_products(product_ids=[product.pk], start=start, end=end,
                                                       today=today - datetime.timedelta(days=5))
    assert progress[product.pk]["slipping"] == 0 and progress[product.pk]["shipped"] == 1
    assert [r["title"] for r in selectors.roadmap_shipped_between(product_ids=[product.pk], start=start, end=end)] == [
        "done"]
    assert [r["title"] for r in selectors.roadmap_slipping(product_ids=[product.pk], today=today)] == ["late"]
