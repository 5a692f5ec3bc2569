"""Writes of sprints and work items: the board, the backlog, starting and closing sprints, daily scope snapshots."""
import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from pmhub import limits
from pmhub.audit import audit_record
from pmhub.permissions import require, user_can
from pmhub.roles import Action

from products.models import Product
from products.roadmap.models import RoadmapItem
from products.services import copy_fields, lock_product, parse_position
from products.sprints.models import Sprint, SprintSnapshot, WorkItem

__all__ = [
    "SPRINT_FIELDS", "WORK_ITEM_FIELDS", "BACKLOG", "sprint_create", "sprint_update", "sprint_start", "sprint_close",
    "sprint_delete", "sprint_snapshot", "sprint_snapshot_active", "work_item_create", "work_item_update",
    "work_item_move", "work_item_delete", "work_items_pull",
]

SPRINT_FIELDS = ("name", "goal", "start_date", "end_date")
MAX_SPRINT_DAYS = 366
WORK_ITEM_FIELDS = ("title", "description", "type", "points", "assignee", "roadmap_item")
BACKLOG = "backlog"
_UNSET = object()
MAX_POINTS = limits.POINTS_MAX


# --- sprints -------------------------------------------------------------------------------------

def _as_date(value, field, errors):
    if value in (None, ""):
        errors[field] = ["This date is required."]
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = ["Enter a date as YYYY-MM-DD."]
        return None


def _clean_sprint(sprint: Sprint) -> None:
    errors = {}
    sprint.name = (sprint.name or "").strip()
    sprint.goal = sprint.goal or ""
    if not sprint.name:
        errors["name"] = ["Give the sprint a name."]
    sprint.start_date = _as_date(sprint.start_date, "start_date", errors)
    sprint.end_date = _as_date(sprint.end_date, "end_date", errors)
    for field in ("start_date", "end_date"):
        message = limits.date_error(getattr(sprint, field))
        if message:
            errors[field] = [message]
            setattr(sprint, field, None)
    if sprint.start_date and sprint.end_date and sprint.end_date < sprint.start_date:
        errors["end_date"] = ["The sprint cannot end before it starts."]
    elif sprint.start_date and sprint.end_date and (sprint.end_date - sprint.start_date).days >= MAX_SPRINT_DAYS:
        # Its burndown has a point per day: a sprint over centuries made one with millions.
        errors["end_date"] = [f"A sprint lasts at most {MAX_SPRINT_DAYS} days."]
    if errors:
        raise ValidationError(errors)


def sprint_create(*, actor, product: Product, name: str, start_date, end_date, goal: str = "") -> Sprint:
    """Plan a sprint (state planned); start it with sprint_start."""
    require(actor, product, Action.EDIT)
    sprint = Sprint(product=product, name=name, goal=goal, start_date=start_date, end_date=end_date)
    _clean_sprint(sprint)
    with transaction.atomic():
        sprint.save()
    return sprint


def sprint_update(*, actor, sprint: Sprint, **fields) -> Sprint:
    require(actor, sprint.product_id, Action.EDIT)
    unknown = set(fields) - set(SPRINT_FIELDS)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed here."] for f in sorted(unknown)})
    with transaction.atomic():
        fresh = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if fresh.state == Sprint.State.CLOSED:
            raise ValidationError({"state": [f"Sprint '{fresh.name}' is closed; it can no longer change."]})
        for field, value in fields.items():
            setattr(fresh, field, value)
        _clean_sprint(fresh)
        fresh.save()
    copy_fields(fresh, sprint)
    return sprint


def sprint_start(*, actor, sprint: Sprint) -> Sprint:
    """Make a planned sprint the product's active one; refused while another is active."""
    require(actor, sprint.product_id, Action.EDIT)
    with transaction.atomic():
        lock_product(sprint.product_id)
        fresh = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if fresh.state != Sprint.State.PLANNED:
            raise ValidationError({"state": [f"Only a planned sprint can start; '{fresh.name}' is {fresh.state}."]})
        active = Sprint.objects.filter(product_id=fresh.product_id, state=Sprint.State.ACTIVE).first()
        if active is not None:
            raise ValidationError({"state": [
                f"Sprint '{active.name}' is already active; close it before starting another."]})
        fresh.state = Sprint.State.ACTIVE
        fresh.started_at = timezone.now()
        try:
            with transaction.atomic():
                fresh.save(update_fields=["state", "started_at"])
        except IntegrityError:
            raise ValidationError({"state": ["Another sprint of this product is already active."]}) from None
        sprint_snapshot(sprint=fresh)
    copy_fields(fresh, sprint)
    return sprint


def sprint_close(*, actor, sprint: Sprint, unfinished_to=BACKLOG) -> Sprint:
    """Close the active sprint. Its burndown is frozen first; unfinished items then go to the
    backlog (unfinished_to="backlog") or to a planned sprint of the same product (a Sprint)."""
    require(actor, sprint.product_id, Action.EDIT)
    with transaction.atomic():
        lock_product(sprint.product_id)
        fresh = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if fresh.state != Sprint.State.ACTIVE:
            raise ValidationError({"state": [f"Only the active sprint can be closed; '{fresh.name}' is {fresh.state}."]})
        target = None
        if unfinished_to not in (None, "", BACKLOG):
            target = unfinished_to
            if not isinstance(target, Sprint) or target.product_id != fresh.product_id or target.pk == fresh.pk:
                raise ValidationError({"unfinished_to": ["Choose the backlog or another sprint of this product."]})
            target = Sprint.objects.select_for_update().get(pk=target.pk)
            if target.state != Sprint.State.PLANNED:
                raise ValidationError({"unfinished_to": [f"Sprint '{target.name}' is {target.state}; choose a planned sprint."]})
        snap = sprint_snapshot(sprint=fresh)
        first = fresh.snapshots.order_by("date").first()
        fresh.committed_points = first.scope_points if first else snap.scope_points
        fresh.completed_points = snap.scope_points - snap.remaining_points
        fresh.state = Sprint.State.CLOSED
        fresh.closed_at = timezone.now()
        fresh.save(update_fields=["state", "closed_at", "committed_points", "completed_points"])
        unfinished = list(WorkItem.objects.filter(sprint=fresh).exclude(status=WorkItem.Status.DONE)
                          .order_by("order", "id"))
        if unfinished:
            if target is None:
                start = WorkItem.objects.filter(product_id=fresh.product_id, sprint__isnull=True).count()
            else:
                start = 0
            for i, wi in enumerate(unfinished):
                wi.sprint = target
                wi.order = start + i
            WorkItem.objects.bulk_update(unfinished, ["sprint", "order"])
            if target is not None:
                for status in WorkItem.Status.values:
                    _renumber_column(product_id=fresh.product_id, sprint=target, status=status)
        audit_record(actor=actor, action="sprint.closed", product=fresh.product_id, target=fresh,
                     data={"unfinished": len(unfinished), "to": target.name if target else BACKLOG,
                           "committed": fresh.committed_points, "completed": fresh.completed_points})
    copy_fields(fresh, sprint)
    return sprint


def sprint_delete(*, actor, sprint: Sprint) -> None:
    """Delete a planned sprint; its items go back to the backlog. Active and closed sprints stay."""
    require(actor, sprint.product_id, Action.MANAGE)
    with transaction.atomic():
        lock_product(sprint.product_id)
        fresh = Sprint.objects.select_for_update().get(pk=sprint.pk)
        if fresh.state != Sprint.State.PLANNED:
            raise ValidationError({"state": [f"Only a planned sprint can be deleted; '{fresh.name}' is {fresh.state}."]})
        start = WorkItem.objects.filter(product_id=fresh.product_id, sprint__isnull=True).count()
        items = list(WorkItem.objects.filter(sprint=fresh).order_by("order", "id"))
        for i, wi in enumerate(items):
            wi.sprint, wi.order = None, start + i
        WorkItem.objects.bulk_update(items, ["sprint", "order"])
        audit_record(actor=actor, action="sprint.deleted", product=fresh.product_id, target=fresh,
                     data={"name": fresh.name})
        fresh.delete()


def sprint_snapshot(*, sprint: Sprint, date=None) -> SprintSnapshot:
    """Record (upsert) the scope and remaining points of an active sprint for one day (default today)."""
    date = date or timezone.localdate()
    totals = WorkItem.objects.filter(sprint=sprint).aggregate(
        scope=Sum("points"), remaining=Sum("points", filter=~Q(status=WorkItem.Status.DONE)),
    )
    count = WorkItem.objects.filter(sprint=sprint).count()
    snap, _ = SprintSnapshot.objects.update_or_create(
        sprint=sprint, date=date,
        defaults={"scope_points": totals["scope"] or 0, "remaining_points": totals["remaining"] or 0,
                  "item_count": count},
    )
    return snap


def sprint_snapshot_active() -> int:
    """Snapshot every active sprint for today (beat runs this, so quiet days have a point too)."""
    n = 0
    for sprint in Sprint.objects.filter(state=Sprint.State.ACTIVE):
        with transaction.atomic():
            lock_product(sprint.product_id)
            if Sprint.objects.filter(pk=sprint.pk, state=Sprint.State.ACTIVE).exists():
                sprint_snapshot(sprint=sprint)
                n += 1
    return n


# --- work items ----------------------------------------------------------------------------------

def _resolve_user(value, product_id, field="assignee"):
    if value in (None, ""):
        return None
    User = get_user_model()
    user = value if isinstance(value, User) else User.objects.filter(username=str(value).strip(), is_active=True).first()
    if user is None:
        raise ValidationError({field: [f"No active user named '{value}'."]})
    if not user_can(user, product_id, Action.VIEW):
        raise ValidationError({field: [f"{user.get_username()} is not a member of this product."]})
    return user


def _clean_work_item(wi: WorkItem) -> None:
    errors = {}
    wi.title = (wi.title or "").strip()
    wi.description = wi.description or ""
    if not wi.title:
        errors["title"] = ["Give the work item a title."]
    elif len(wi.title) > limits.TITLE_MAX:
        errors["title"] = [limits.length_message(limits.TITLE_MAX, len(wi.title))]
    if wi.type not in WorkItem.Type.values:
        errors["type"] = [f"Choose one of {', '.join(WorkItem.Type.values)}."]
    try:
        points = int(wi.points if wi.points not in (None, "") else 0)
    except (TypeError, ValueError):
        errors["points"] = ["Points are a whole number."]
    else:
        if points < 0:
            errors["points"] = [limits.int_message(0, MAX_POINTS)]
        elif points > MAX_POINTS:
            errors["points"] = [limits.int_message(0, MAX_POINTS)]
        wi.points = points
    if wi.roadmap_item_id and not RoadmapItem.objects.filter(pk=wi.roadmap_item_id, product_id=wi.product_id).exists():
        errors["roadmap_item"] = ["Choose a roadmap item of this product."]
    if errors:
        raise ValidationError(errors)


def _check_sprint(sprint, product_id, field="sprint"):
    if sprint is None:
        return None
    if not isinstance(sprint, Sprint) or sprint.product_id != product_id:
        raise ValidationError({field: ["That sprint belongs to another product; choose a sprint of this product."]})
    state = Sprint.objects.filter(pk=sprint.pk).values_list("state", flat=True).first()
    if state is None:
        raise ValidationError({field: ["That sprint no longer exists."]})
    if state == Sprint.State.CLOSED:
        raise ValidationError({field: [f"Sprint '{sprint.name}' is closed; cards cannot move into it."]})
    return sprint


def _column(product_id, sprint, status):
    qs = WorkItem.objects.filter(product_id=product_id)
    if sprint is None:
        return qs.filter(sprint__isnull=True)
    return qs.filter(sprint=sprint, status=status)


def _renumber_column(*, product_id, sprint, status, exclude=None, insert=None, at=None) -> int:
    """Renumber one column 0..n-1 (optionally inserting item `insert` at index `at`); returns its index."""
    qs = _column(product_id, sprint, status)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    pks = list(qs.order_by("order", "id").values_list("pk", flat=True))
    index = None
    if insert is not None:
        index = len(pks) if at is None else max(0, min(int(at), len(pks)))
        pks.insert(index, insert)
    current = dict(WorkItem.objects.filter(pk__in=pks).values_list("pk", "order"))
    changed = [WorkItem(pk=pk, order=i) for i, pk in enumerate(pks) if current.get(pk) != i]
    if changed:
        WorkItem.objects.bulk_update(changed, ["order"])
    return index


def _snapshot_if_active(*sprint_ids) -> None:
    for sprint in Sprint.objects.filter(pk__in=[s for s in sprint_ids if s], state=Sprint.State.ACTIVE):
        sprint_snapshot(sprint=sprint)


def work_item_create(*, actor, product: Product, title: str, sprint=None, status: str = WorkItem.Status.TODO,
                     **fields) -> WorkItem:
    """Create a work item in the backlog (sprint=None) or a sprint, at the end of its column."""
    require(actor, product, Action.EDIT)
    unknown = set(fields) - set(WORK_ITEM_FIELDS)
    if unknown:
        raise ValidationError({f: ["Unknown field."] for f in sorted(unknown)})
    if "assignee" in fields:
        fields["assignee"] = _resolve_user(fields["assignee"], product.pk)
    fields = {k: v for k, v in fields.items() if v is not None or k in ("assignee", "roadmap_item")}
    wi = WorkItem(product=product, title=title, status=status or WorkItem.Status.TODO, **fields)
    if wi.status not in WorkItem.Status.values:
        raise ValidationError({"status": [f"Choose one of {', '.join(WorkItem.Status.values)}."]})
    if isinstance(wi.roadmap_item, RoadmapItem) and wi.roadmap_item.product_id != product.pk:
        raise ValidationError({"roadmap_item": ["Choose a roadmap item of this product."]})
    _clean_work_item(wi)
    with transaction.atomic():
        lock_product(product.pk)
        wi.sprint = _check_sprint(sprint, product.pk)
        wi.order = _column(product.pk, wi.sprint, wi.status).count()
        wi.completed_at = timezone.now() if wi.status == WorkItem.Status.DONE else None
        wi.save()
        _snapshot_if_active(wi.sprint_id)
    return wi


def work_item_update(*, actor, item: WorkItem, **fields) -> WorkItem:
    """Change a work item's details; its place on the board changes through work_item_move."""
    require(actor, item.product_id, Action.EDIT)
    unknown = set(fields) - set(WORK_ITEM_FIELDS)
    if unknown:
        raise ValidationError({f: ["Change this with a move (work_item_move)." if f in ("status", "sprint", "order")
                                   else "This field cannot be changed."] for f in sorted(unknown)})
    if "assignee" in fields:
        fields["assignee"] = _resolve_user(fields["assignee"], item.product_id)
    if isinstance(fields.get("roadmap_item"), RoadmapItem) and fields["roadmap_item"].product_id != item.product_id:
        raise ValidationError({"roadmap_item": ["Choose a roadmap item of this product."]})
    with transaction.atomic():
        lock_product(item.product_id)
        fresh = WorkItem.objects.select_for_update().get(pk=item.pk)
        if fresh.sprint_id and fresh.sprint.state == Sprint.State.CLOSED and "points" in fields \
                and int(fields["points"] or 0) != fresh.points:
            raise ValidationError({"points": ["The item belongs to a closed sprint; its points are history."]})
        for field, value in fields.items():
            setattr(fresh, field, value)
        _clean_work_item(fresh)
        fresh.save()
        _snapshot_if_active(fresh.sprint_id)
    copy_fields(fresh, item)
    return item


def work_item_move(*, actor, item: WorkItem, status: str | None = None, sprint=_UNSET, position=None) -> WorkItem:
    """Move a card: to another status column and/or sprint (None = backlog), at position (0-based, None = end).

    The one way cards move, for the board (drag or select), the backlog and the API. Moves of one
    product are serialised on the product row, so concurrent moves keep every column numbered 0..n-1.
    """
    require(actor, item.product_id, Action.TRACK)
    if status is not None and status not in WorkItem.Status.values:
        raise ValidationError({"status": [f"Choose one of {', '.join(WorkItem.Status.values)}."]})
    position = parse_position(position)
    with transaction.atomic():
        lock_product(item.product_id)
        fresh = WorkItem.objects.select_for_update(of=("self",)).select_related("sprint").get(pk=item.pk)
        old_sprint, old_status = fresh.sprint, fresh.status
        new_sprint = old_sprint if sprint is _UNSET else sprint
        if new_sprint is not None:
            new_sprint = _check_sprint(new_sprint, fresh.product_id)
        if old_sprint is not None and old_sprint.state == Sprint.State.CLOSED:
            raise ValidationError({"sprint": [f"Sprint '{old_sprint.name}' is closed; its cards no longer move."]})
        new_status = status or old_status
        fresh.sprint, fresh.status = new_sprint, new_status
        if new_status == WorkItem.Status.DONE and old_status != WorkItem.Status.DONE:
            fresh.completed_at = timezone.now()
        elif new_status != WorkItem.Status.DONE:
            fresh.completed_at = None
        fresh.order = _renumber_column(product_id=fresh.product_id, sprint=new_sprint, status=new_status,
                                       exclude=fresh.pk, insert=fresh.pk, at=position)
        fresh.save(update_fields=["sprint", "status", "order", "completed_at", "updated_at"])
        if (getattr(old_sprint, "pk", None), old_status if old_sprint else None) != \
                (getattr(new_sprint, "pk", None), new_status if new_sprint else None):
            _renumber_column(product_id=fresh.product_id, sprint=old_sprint, status=old_status)
        _snapshot_if_active(getattr(old_sprint, "pk", None), getattr(new_sprint, "pk", None))
    copy_fields(fresh, item)
    item.sprint = fresh.sprint
    return item


def work_items_pull(*, actor, sprint: Sprint, items) -> int:
    """Pull backlog items into a sprint (to do column); returns how many moved."""
    require(actor, sprint.product_id, Action.TRACK)
    moved = 0
    with transaction.atomic():
        for wi in items:
            if wi.product_id != sprint.product_id:
                raise ValidationError({"items": [f"'{wi.title}' belongs to another product."]})
            work_item_move(actor=actor, item=wi, sprint=sprint, status=WorkItem.Status.TODO)
            moved += 1
    return moved


def work_item_delete(*, actor, item: WorkItem) -> None:
    require(actor, item.product_id, Action.MANAGE)
    with transaction.atomic():
        lock_product(item.product_id)
        fresh = WorkItem.objects.select_related("sprint").get(pk=item.pk)
        if fresh.sprint_id and fresh.sprint.state == Sprint.State.CLOSED:
            raise ValidationError({"sprint": ["The item belongs to a closed sprint; it stays as history."]})
        audit_record(actor=actor, action="work_item.deleted", product=fresh.product_id, target=fresh,
                     data={"title": fresh.title, "points": fresh.points})
        sprint, status = fresh.sprint, fresh.status
        fresh.delete()
        _renumber_column(product_id=item.product_id, sprint=sprint, status=status)
        _snapshot_if_active(getattr(sprint, "pk", None))
