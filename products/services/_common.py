"""Helpers shared by the roadmap and sprint services: locking, positions, refreshing callers' objects."""
from django.core.exceptions import ValidationError

from ..models import Product


def actor_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def lock_product(product_id: int) -> None:
    """Serialise reorderings of one product's columns (roadmap and board)."""
    Product.objects.select_for_update().filter(pk=product_id).values_list("pk", flat=True).first()


def copy_fields(src, dst) -> None:
    """Give the caller's instance the values a service saved on its locked, fresh copy."""
    for f in src._meta.concrete_fields:
        setattr(dst, f.attname, getattr(src, f.attname))


def parse_position(position) -> int | None:
    """A 0-based column position from a form, JSON or a caller; None or "" means the end."""
    if position in (None, ""):
        return None
    try:
        position = int(position)
    except (TypeError, ValueError):
        raise ValidationError({"position": ["Position is a whole number."]}) from None
    if position < 0:
        raise ValidationError({"position": ["Position cannot be negative."]})
    return position
