import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from products.sprints import selectors, services
from products.sprints.models import Sprint, SprintSnapshot, WorkItem
from tests.factories import member

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def sprint(pm, product, name="S1", days=14, start=None):
    start = start or timezone.localdate()
    return services.sprint_create(actor=pm, product=product, name=name, start_date=start,
                                  end_date=start + datetime.timedelta(days=days - 1))


def item(pm, product, title="Card", points=3, **kw):
    return services.work_item_create(actor=pm, product=product, title=title, points=points, **kw)


def test_sprint_dates_must_be_ordered(pm, product):
    with pytest.raises(ValidationError) as exc:
        services.sprint_create(actor=pm, product=product, name="Bad", start_date=datetime.date(2026, 3, 10),
                               end_date=datetime.date(2026, 3, 1))
    assert "end_date" in exc.value.message_dict
    assert Sprint.objects.count() == 0


def test_only_one_active_sprint(pm, product):
    s1, s2 = sprint(pm, product, "S1"), sprint(pm, product, "S2")
    services.sprint_start(actor=pm, sprint=s1)
    with pytest.raises(ValidationError) as exc:
        services.sprint_start(actor=pm, sprint=s2)
    assert "already active" in str(exc.value)
    s2.refresh_from_db()
    assert s2.state == "planned"


def test_points_below_zero_refused(pm, product):
    with pytest.raises(ValidationError) as exc:
        item(pm, product, points=-1)
    assert "points" in exc.value.message_dict
    wi = item(pm, product)
    with pytest.raises(ValidationError):
        services.work_item_update(actor=pm, item=wi, points=-2)
    wi.refresh_from_db()
    assert wi.points == 3


def test_cannot_move_card_into_another_products_sprint(pm, product, product_factory):
    other = product_factory()
    other_pm = member(other, "pm", username="otherpm")
    foreign = sprint(other_pm, other)
    wi = item(pm, product)
    with pytest.raises(ValidationError) as exc:
        services.work_item_move(actor=pm, item=wi, sprint=foreign)
    assert "another product" in exc.value.message_dict["sprint"][0]
    wi.refresh_from_db()
    assert wi.sprint_id is None


def test_viewer_cannot_move_data_scientist_can(pm, product, viewer, data_scientist):
    s = sprint(pm, product)
    wi = item(pm, product, sprint=s)
    with pytest.raises(PermissionDenied):
        services.work_item_move(actor=viewer, item=wi, status="done")
    services.work_item_move(actor=data_scientist, item=wi, status="in_progress")
    wi.refresh_from_db()
    assert wi.status == "in_progress"


def test_done_sets_completed_at_and_leaving_done_clears_it(pm, product):
    s = sprint(pm, product)
    wi = item(pm, product, sprint=s)
    services.work_item_move(actor=pm, item=wi, status="done")
    assert wi.completed_at is not None
    services.work_item_move(actor=pm, item=wi, status="review")
    assert wi.completed_at is None


def test_move_orders_columns_densely(pm, product):
    s = sprint(pm, product)
    a, b, c = (item(pm, product, t, sprint=s) for t in "abc")
    services.work_item_move(actor=pm, item=c, status="todo", position=0)
    board = {col["status"]: [i.title for i in col["items"]] for col in selectors.sprint_board(sprint=s)}
    assert board["todo"] == ["c", "a", "b"]
    services.work_item_move(actor=pm, item=a, status="done")
    services.work_item_move(actor=pm, item=b, status="done", position=0)
    orders = dict(WorkItem.objects.values_list("title", "order"))
    assert orders == {"c": 0, "b": 0, "a": 1}


def test_pull_from_backlog_and_snapshot(pm, product):
    s = sprint(pm, product)
    services.sprint_start(actor=pm, sprint=s)
    wis = [item(pm, product, f"w{i}", points=p) for i, p in enumerate([3, 5, 8])]
    assert selectors.backlog_items(product=product).count() == 3
    assert services.work_items_pull(actor=pm, sprint=s, items=wis[:2]) == 2
    snap = SprintSnapshot.objects.get(sprint=s, date=timezone.localdate())
    assert (snap.scope_points, snap.remaining_points) == (8, 8)
    services.work_item_move(actor=pm, item=wis[0], status="done")
    snap.refresh_from_db()
    assert (snap.scope_points, snap.remaining_points) == (8, 5)
    data = selectors.sprint_burndown(sprint=s)
    assert data["remaining"][0] == 5 and data["scope"][0] == 8


def test_close_moves_unfinished_to_backlog_and_freezes_burndown(pm, product):
    s = sprint(pm, product, start=timezone.localdate() - datetime.timedelta(days=5), days=10)
    services.sprint_start(actor=pm, sprint=s)
    done = item(pm, product, "done", points=5, sprint=s)
    left = item(pm, product, "left", points=3, sprint=s)
    services.work_item_move(actor=pm, item=done, status="done")
    before = selectors.sprint_burndown(sprint=s)
    services.sprint_close(actor=pm, sprint=s)
    s.refresh_from_db()
    assert s.state == "closed" and s.committed_points == 8 and s.completed_points == 5
    left.refresh_from_db()
    assert left.sprint_id is None
    after = selectors.sprint_burndown(sprint=s)
    assert after["remaining"] == [r for r in before["remaining"]]
    assert after["scope"][5] == 8 and after["remaining"][5] == 3
    # A closed sprint takes no more cards and its cards no longer move.
    with pytest.raises(ValidationError):
        services.work_item_move(actor=pm, item=left, sprint=s)
    with pytest.raises(ValidationError):
        services.work_item_move(actor=pm, item=done, status="todo")
    assert selectors.sprint_velocity(product=product) == [
        {"name": "S1", "committed": 8, "completed": 5, "end_date": s.end_date}]


def test_close_to_next_sprint(pm, product):
    s1, s2 = sprint(pm, product, "S1"), sprint(pm, product, "S2")
    services.sprint_start(actor=pm, sprint=s1)
    left = item(pm, product, "left", sprint=s1)
    services.work_item_move(actor=pm, item=left, status="in_progress")
    services.sprint_close(actor=pm, sprint=s1, unfinished_to=s2)
    left.refresh_from_db()
    assert left.sprint_id == s2.pk and left.status == "in_progress"
    with pytest.raises(ValidationError):
        services.sprint_close(actor=pm, sprint=s1)


def test_close_to_other_products_sprint_refused(pm, product, product_factory):
    other = product_factory()
    foreign = sprint(member(other, "pm", username="opm"), other)
    s = sprint(pm, product)
    services.sprint_start(actor=pm, sprint=s)
    with pytest.raises(ValidationError):
        services.sprint_close(actor=pm, sprint=s, unfinished_to=foreign)
    s.refresh_from_db()
    assert s.state == "active"
