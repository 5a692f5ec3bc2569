"""Writes of products and memberships: the only place that changes them."""
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from pmhub.audit import audit_record
from pmhub.permissions import require
from pmhub.roles import Action, Role

from products.models import Membership, Product

PRODUCT_FIELDS = ("name", "slug", "description", "business_objective", "status")


def user_can_create_product(user) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.has_perm("products.add_product")))


def _clean_product(product: Product) -> None:
    product.name = (product.name or "").strip()
    product.slug = slugify(product.slug or product.name)[:60]
    errors = {}
    if not product.name:
        errors["name"] = ["Give the product a name."]
    if not product.slug:
        errors["slug"] = ["The slug needs letters or digits."]
    if product.status not in Product.Status.values:
        errors["status"] = [f"Choose one of {', '.join(Product.Status.values)}."]
    if product.slug and Product.objects.filter(slug=product.slug).exclude(pk=product.pk).exists():
        errors["slug"] = [f"Another product already uses the slug '{product.slug}'."]
    if errors:
        raise ValidationError(errors)


def product_create(*, actor, name: str, slug: str = "", description: str = "", business_objective: str = "",
                   status: str = Product.Status.ACTIVE) -> Product:
    """Create a product; its creator becomes its product manager."""
    if not user_can_create_product(actor):
        raise PermissionDenied("You may not create products; ask an administrator.")
    product = Product(name=name, slug=slug, description=description or "",
                      business_objective=business_objective or "", status=status or Product.Status.ACTIVE)
    _clean_product(product)
    try:
        with transaction.atomic():
            product.save()
            membership = Membership.objects.create(user=actor, product=product, role=Role.PM)
            audit_record(actor=actor, action="product.created", product=product, target=product)
            audit_record(actor=actor, action="membership.added", product=product, target=membership,
                         data={"user": actor.get_username(), "role": Role.PM})
    except IntegrityError:
        raise ValidationError({"slug": [f"Another product already uses the slug '{product.slug}'."]}) from None
    return product


def product_update(*, actor, product: Product, **fields) -> Product:
    require(actor, product, Action.EDIT)
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValidationError({f: ["This field cannot be changed."] for f in unknown})
    for field, value in fields.items():
        setattr(product, field, value if value is not None else "")
    _clean_product(product)
    with transaction.atomic():
        product.save()
    return product


def product_delete(*, actor, product: Product) -> None:
    require(actor, product, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="product.deleted", target=product, data={"slug": product.slug})
        from kpis.ml.mlflow.artifacts import artifacts_purge_on_commit  # MLflow artifact files (storage)
        from kpis.services.kpis import product_kpi_data_delete  # kpis builds on products: imported late

        artifacts_purge_on_commit(product_id=product.pk)  # before anything deletes the product's models
        product_kpi_data_delete(product=product)
        product.delete()


def membership_set(*, actor, product: Product, user, role: str) -> Membership:
    """Add a member or change their role."""
    require(actor, product, Action.MANAGE)
    if role not in Role.values:
        raise ValidationError({"role": [f"Choose one of {', '.join(Role.values)}."]})
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            product=product, user=user, defaults={"role": role}
        )
        if created:
            audit_record(actor=actor, action="membership.added", product=product, target=membership,
                         data={"user": user.get_username(), "role": role})
        elif membership.role != role:
            _keep_a_pm(product=product, leaving=membership, new_role=role)
            old = membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            audit_record(actor=actor, action="membership.role_changed", product=product, target=membership,
                         data={"user": user.get_username(), "from": old, "to": role})
    return membership


def membership_remove(*, actor, membership: Membership) -> None:
    require(actor, membership.product, Action.MANAGE)
    with transaction.atomic():
        _keep_a_pm(product=membership.product, leaving=membership, new_role=None)
        audit_record(actor=actor, action="membership.removed", product=membership.product, target=membership,
                     data={"user": membership.user.get_username(), "role": membership.role})
        membership.delete()


def _keep_a_pm(*, product, leaving: Membership, new_role) -> None:
    if leaving.role == Role.PM and new_role != Role.PM:
        others = Membership.objects.select_for_update().filter(product=product, role=Role.PM).exclude(pk=leaving.pk)
        if not others.exists():
            raise ValidationError({"role": ["A product keeps at least one product manager."]})


def membership_set_by_username(*, actor, product: Product, username: str, role: str) -> Membership:
    User = get_user_model()
    try:
        user = User.objects.get(username=(username or "").strip(), is_active=True)
    except User.DoesNotExist:
        raise ValidationError({"username": [f"No active user named '{username}'."]}) from None
    return membership_set(actor=actor, product=product, user=user, role=role)


# --- helpers the roadmap's and the sprints' services share ---------------------------------------

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
