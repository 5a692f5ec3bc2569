"""Reads of sprints and work items: the board, the backlog, burndown and velocity data."""
import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from products.selectors import product_list_for_user
from products.sprints.models import Sprint, SprintSnapshot, WorkItem

__all__ = [
    "sprint_list_for_user", "sprint_get_for_user", "sprint_active", "sprint_list", "sprint_board", "backlog_items",
    "work_item_list_for_user", "sprint_totals", "sprint_burndown", "sprint_velocity",
]


def sprint_list_for_user(*, user, product=None, state=None) -> QuerySet[Sprint]:
    qs = Sprint.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product_id=getattr(product, "pk", product))
    if state:
        qs = qs.filter(state__in=[state] if isinstance(state, str) else list(state))
    return qs.select_related("product").annotate(
        points=Sum("work_items__points"),
        done_points=Sum("work_items__points", filter=Q(work_items__status=WorkItem.Status.DONE)),
        item_count=Count("work_items"),
    ).order_by("-start_date", "-id")


def sprint_get_for_user(*, user, pk: int) -> Sprint:
    return sprint_list_for_user(user=user).get(pk=pk)


def sprint_list(*, product) -> QuerySet[Sprint]:
    return Sprint.objects.filter(product=product).annotate(
        points=Sum("work_items__points"),
        done_points=Sum("work_items__points", filter=Q(work_items__status=WorkItem.Status.DONE)),
        item_count=Count("work_items"),
    ).order_by("-start_date", "-id")


def sprint_active(*, product) -> Sprint | None:
    return Sprint.objects.filter(product=product, state=Sprint.State.ACTIVE).first()


def sprint_board(*, sprint) -> list[dict]:
    """One column per status, cards ordered; each column with its points."""
    items = list(WorkItem.objects.filter(sprint=sprint).select_related("assignee", "roadmap_item")
                 .order_by("order", "id"))
    columns = []
    for value, label in WorkItem.Status.choices:
        cards = [i for i in items if i.status == value]
        columns.append({"status": value, "label": label, "items": cards, "points": sum(c.points for c in cards)})
    return columns


def backlog_items(*, product) -> QuerySet[WorkItem]:
    return (WorkItem.objects.filter(product=product, sprint__isnull=True)
            .select_related("assignee", "roadmap_item").order_by("order", "id"))


def work_item_list_for_user(*, user, product=None, sprint=None, backlog=None, status=None) -> QuerySet[WorkItem]:
    qs = WorkItem.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product_id=getattr(product, "pk", product))
    if sprint is not None:
        qs = qs.filter(sprint_id=getattr(sprint, "pk", sprint))
    if backlog is not None:
        qs = qs.filter(sprint__isnull=bool(backlog))
    if status:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else list(status))
    return qs.select_related("product", "sprint", "assignee", "roadmap_item").order_by("sprint_id", "status", "order", "id")


def sprint_totals(*, sprint) -> dict:
    t = WorkItem.objects.filter(sprint=sprint).aggregate(
        scope=Sum("points"), done=Sum("points", filter=Q(status=WorkItem.Status.DONE)), items=Count("id"))
    return {"scope": t["scope"] or 0, "done": t["done"] or 0, "remaining": (t["scope"] or 0) - (t["done"] or 0),
            "items": t["items"]}


def sprint_burndown(*, sprint, today=None) -> dict:
    """Day-by-day data of a sprint's burndown, from its daily snapshots.

    days: every date from start to end (later if it closed late); remaining and scope: the
    snapshot of that day, carried forward over days without one, None for days still to come
    (and before the sprint started); ideal: a straight line from the committed scope to 0.
    A closed sprint reads only its frozen snapshots, so its chart never changes.
    """
    today = today or timezone.localdate()
    snaps = {s.date: s for s in SprintSnapshot.objects.filter(sprint=sprint).order_by("date")}
    last_day = sprint.end_date
    if snaps:
        last_day = max(last_day, max(snaps))
    # By count, not `d += 1 day` up to last_day: that overflowed on a sprint ending 9999-12-31.
    days = [sprint.start_date + datetime.timedelta(days=i) for i in range((last_day - sprint.start_date).days + 1)]
    if sprint.state == Sprint.State.CLOSED:
        horizon = max(snaps) if snaps else sprint.start_date
    elif sprint.state == Sprint.State.ACTIVE:
        horizon = today
    else:
        horizon = None
    first = next(iter(snaps.values()), None)
    remaining, scope = [], []
    current = None
    for day in days:
        if day in snaps:
            current = snaps[day]
        shown = current or (first if (first and horizon and day <= horizon) else None)
        if horizon is None or day > horizon or shown is None:
            remaining.append(None)
            scope.append(None)
        else:
            remaining.append(shown.remaining_points)
            scope.append(shown.scope_points)
    committed = first.scope_points if first else 0
    n = max(len([d for d in days if d <= sprint.end_date]) - 1, 1)
    ideal = [round(max(committed - committed * i / n, 0), 2) if day <= sprint.end_date else 0
             for i, day in enumerate(days)]
    return {"name": sprint.name, "days": days, "ideal": ideal, "remaining": remaining, "scope": scope,
            "committed": committed, "today": today if sprint.state == Sprint.State.ACTIVE else None}


def sprint_velocity(*, product, limit: int = 6) -> list[dict]:
    """Committed vs completed points of the last `limit` closed sprints, oldest first."""
    sprints = list(Sprint.objects.filter(product=product, state=Sprint.State.CLOSED)
                   .order_by("-end_date", "-id")[:limit])
    return [{"name": s.name, "committed": s.committed_points or 0, "completed": s.completed_points or 0,
             "end_date": s.end_date} for s in reversed(sprints)]
