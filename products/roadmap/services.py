"""Writes of the roadmap: items, their moves between horizons, status history, share links."""
import secrets
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pmhub import limits
from pmhub.audit import audit_record
from pmhub.permissions import require, user_can
from pmhub.roles import Action

from products.models import Product
from products.roadmap.models import RoadmapItem, RoadmapShareLink, RoadmapStatusChange
from products.services import actor_or_none, copy_fields, lock_product, parse_position

__all__ = [
    "ROADMAP_ITEM_FIELDS", "rice_score", "roadmap_item_create", "roadmap_item_update", "roadmap_item_move",
    "roadmap_item_set_status", "roadmap_item_delete", "roadmap_share_enable", "roadmap_share_revoke",
]

ROADMAP_ITEM_FIELDS = (
    "title", "description", "internal_notes", "kind", "status", "horizon", "theme", "owner",
    "start_date", "target_date", "reach", "impact", "confidence", "effort",
)
IMPACT_SCALE = [Decimal(v) for v in RoadmapItem.IMPACT_SCALE]


def rice_score(*, reach, impact, confidence, effort) -> float:
    """RICE = reach × impact × confidence% ÷ effort (person-weeks)."""
    effort = float(effort or 0)
    if effort <= 0:
        return 0.0
    return round(float(reach or 0) * float(impact or 0) * (float(confidence or 0) / 100.0) / effort, 2)


def _decimal(value, field, errors):
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        errors[field] = ["Enter a number."]
        return None


def _clean_item(item: RoadmapItem) -> None:
    """Validate an item in memory; raise ValidationError with every problem at once."""
    errors = {}
    item.title = (item.title or "").strip()
    item.theme = (item.theme or "").strip()
    item.description = item.description or ""
    item.internal_notes = item.internal_notes or ""
    if not item.title:
        errors["title"] = ["Give the item a title."]
    for field, choices in (("kind", RoadmapItem.Kind), ("status", RoadmapItem.Status), ("horizon", RoadmapItem.Horizon)):
        if getattr(item, field) not in choices.values:
            errors[field] = [f"Choose one of {', '.join(choices.values)}."]
    if len(item.title) > limits.TITLE_MAX:
        errors["title"] = [limits.length_message(limits.TITLE_MAX, len(item.title))]
    for field in ("start_date", "target_date"):
        message = limits.date_error(getattr(item, field))
        if message:
            errors[field] = [message]
    if item.start_date and item.target_date and item.target_date < item.start_date and not errors.get("start_date"):
        errors["target_date"] = ["The target date cannot be before the start date."]
    try:
        reach = int(item.reach if item.reach is not None else 0)
    except (TypeError, ValueError):
        errors["reach"] = ["Enter a whole number."]
    else:
        if not 0 <= reach <= limits.REACH_MAX:
            errors["reach"] = [limits.int_message(0, limits.REACH_MAX)]
        item.reach = reach
    impact = _decimal(item.impact, "impact", errors)
    if impact is not None:
        if impact not in IMPACT_SCALE:
            errors["impact"] = ["Impact is one of 0.25 (minimal), 0.5 (low), 1 (medium), 2 (high), 3 (massive)."]
        item.impact = impact
    try:
        confidence = int(item.confidence)
    except (TypeError, ValueError):
        errors["confidence"] = ["Enter a whole percentage."]
    else:
        if not 0 <= confidence <= 100:
            errors["confidence"] = ["Confidence is a percentage from 0 to 100."]
        item.confidence = confidence
    effort = _decimal(item.effort, "effort", errors)
    if effort is not None:
        if effort <= 0:
            errors["effort"] = ["Effort is in person-weeks and must be more than 0."]
        elif effort > limits.EFFORT_MAX:
            errors["effort"] = [f"Effort is in person-weeks, from 0.01 to {limits.EFFORT_MAX:,}."]
        item.effort = effort
    if item.owner_id and not user_can(item.owner, item.product_id, Action.VIEW):
        errors["owner"] = ["The owner must be a member of the product."]
    if errors:
        raise ValidationError(errors)
    item.rice_score = rice_score(reach=item.reach, impact=item.impact, confidence=item.confidence, effort=item.effort)


def _resolve_owner(owner):
    if owner is None or owner == "" or isinstance(owner, get_user_model()):
        return owner or None
    User = get_user_model()
    found = User.objects.filter(username=str(owner).strip(), is_active=True).first()
    if found is None:
        raise ValidationError({"owner": [f"No active user named '{owner}'."]})
    return found


def _record_status(*, item, old: str, actor, when) -> None:
    if old == item.status:
        return
    if item.status == RoadmapItem.Status.SHIPPED:
        item.shipped_at = when
    elif old == RoadmapItem.Status.SHIPPED:
        item.shipped_at = None
    RoadmapStatusChange.objects.create(item=item, from_status=old or "", to_status=item.status, actor=actor_or_none(actor),
                                       changed_at=when)


def _place(*, product_id: int, item: RoadmapItem, horizon: str, position) -> None:
    """Put item at position (0-based; None = end) of horizon's column and renumber the columns it touches."""
    column = list(
        RoadmapItem.objects.filter(product_id=product_id, horizon=horizon).exclude(pk=item.pk)
        .order_by("position", "id").values_list("pk", flat=True)
    )
    index = len(column) if position is None else max(0, min(int(position), len(column)))
    column.insert(index, item.pk)
    old_horizon = item.horizon
    item.horizon = horizon
    item.position = index
    _renumber(column)
    if old_horizon != horizon:
        _renumber(list(
            RoadmapItem.objects.filter(product_id=product_id, horizon=old_horizon).exclude(pk=item.pk)
            .order_by("position", "id").values_list("pk", flat=True)
        ))


def _renumber(pks: list[int]) -> None:
    current = dict(RoadmapItem.objects.filter(pk__in=pks).values_list("pk", "position"))
    changed = [RoadmapItem(pk=pk, position=i) for i, pk in enumerate(pks) if current.get(pk) != i]
    if changed:
        RoadmapItem.objects.bulk_update(changed, ["position"])


def roadmap_item_create(*, actor, product: Product, title: str, **fields) -> RoadmapItem:
    """Create a roadmap item at the end of its horizon column; the RICE score is computed here."""
    require(actor, product, Action.EDIT)
    unknown = set(fields) - set(ROADMAP_ITEM_FIELDS)
    if unknown:
        raise ValidationError({f: ["Unknown field."] for f in sorted(unknown)})
    if "owner" in fields:
        fields["owner"] = _resolve_owner(fields["owner"])
    fields = {k: v for k, v in fields.items() if v is not None or k in ("owner", "start_date", "target_date")}
    item = RoadmapItem(product=product, title=title, **fields)
    _clean_item(item)
    now = timezone.now()
    with transaction.atomic():
        lock_product(product.pk)
        item.position = RoadmapItem.objects.filter(product=product, horizon=item.horizon).count()
        if item.status == RoadmapItem.Status.SHIPPED:
            item.shipped_at = now
        item.save()
        RoadmapStatusChange.objects.create(item=item, from_status="", to_status=item.status, actor=actor_or_none(actor),
                                           changed_at=now)
    return item


def roadmap_item_update(*, actor, item: RoadmapItem, **fields) -> RoadmapItem:
    """Change any of ROADMAP_ITEM_FIELDS; a status change is recorded, shipped sets shipped_at.

    Other apps call this too (feedback sets RICE reach from demand).
    """
    require(actor, item.product_id, Action.EDIT)
    unknown = set(fields) - set(ROADMAP_ITEM_FIELDS)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed."] for f in sorted(unknown)})
    if "owner" in fields:
        fields["owner"] = _resolve_owner(fields["owner"])
    with transaction.atomic():
        lock_product(item.product_id)
        fresh = RoadmapItem.objects.select_for_update().get(pk=item.pk)
        old_status, old_horizon = fresh.status, fresh.horizon
        for field, value in fields.items():
            setattr(fresh, field, value)
        _clean_item(fresh)
        if fresh.horizon != old_horizon:
            new_horizon = fresh.horizon
            fresh.horizon = old_horizon
            _place(product_id=fresh.product_id, item=fresh, horizon=new_horizon, position=None)
        _record_status(item=fresh, old=old_status, actor=actor, when=timezone.now())
        fresh.save()
    copy_fields(fresh, item)
    return item


def roadmap_item_set_status(*, actor, item: RoadmapItem, status: str) -> RoadmapItem:
    return roadmap_item_update(actor=actor, item=item, status=status)


def roadmap_item_move(*, actor, item: RoadmapItem, horizon: str, position=None) -> RoadmapItem:
    """Move an item to horizon's column at position (0-based, None = at the end)."""
    require(actor, item.product_id, Action.EDIT)
    if horizon not in RoadmapItem.Horizon.values:
        raise ValidationError({"horizon": [f"Choose one of {', '.join(RoadmapItem.Horizon.values)}."]})
    position = parse_position(position)
    with transaction.atomic():
        lock_product(item.product_id)
        fresh = RoadmapItem.objects.select_for_update().get(pk=item.pk)
        _place(product_id=fresh.product_id, item=fresh, horizon=horizon, position=position)
        fresh.save(update_fields=["horizon", "position", "updated_at"])
    copy_fields(fresh, item)
    return item


def roadmap_item_delete(*, actor, item: RoadmapItem) -> None:
    require(actor, item.product_id, Action.MANAGE)
    with transaction.atomic():
        lock_product(item.product_id)
        audit_record(actor=actor, action="roadmap_item.deleted", product=item.product_id, target=item,
                     data={"title": item.title})
        horizon, product_id = item.horizon, item.product_id
        item.delete()
        _renumber(list(RoadmapItem.objects.filter(product_id=product_id, horizon=horizon)
                       .order_by("position", "id").values_list("pk", flat=True)))


def roadmap_share_enable(*, actor, product: Product) -> RoadmapShareLink:
    """Switch the read-only share link on (a no-op when it is on already)."""
    require(actor, product, Action.MANAGE)
    with transaction.atomic():
        lock_product(product.pk)
        link = RoadmapShareLink.objects.filter(product=product).first()
        if link is None:
            link = RoadmapShareLink.objects.create(product=product, token=secrets.token_urlsafe(24),
                                                   created_by=actor_or_none(actor))
            audit_record(actor=actor, action="roadmap_share.enabled", product=product, target=link)
    return link


def roadmap_share_revoke(*, actor, product: Product) -> bool:
    """Switch the share link off; its URL stops working at once. Returns whether one was on."""
    require(actor, product, Action.MANAGE)
    with transaction.atomic():
        lock_product(product.pk)
        link = RoadmapShareLink.objects.filter(product=product).first()
        if link is None:
            return False
        audit_record(actor=actor, action="roadmap_share.revoked", product=product, target=link)
        link.delete()
    return True
