"""The audit trail: who did what to which product, readable by staff.

Services call `audit_record` inside their transaction for membership and role
changes, token creation and revocation, deletions and version promotions.
"""
from django.contrib.contenttypes.models import ContentType

from .models import AuditEvent


def audit_record(*, actor, action: str, product=None, target=None, data: dict | None = None) -> AuditEvent:
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        action=action[:64],
        product_id=getattr(product, "pk", product),
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        data=data or {},
    )
