"""One permission layer for pages and API alike.

A user's role on a product (products.Membership, read through the selector named
by settings.PMHUB_MEMBERSHIP_ROLE) decides what they may do (pmhub.roles.ROLE_ACTIONS). Staff may do everything. Whoever may not even view
a product gets 404 (they should not learn it exists); whoever may view but not
change it gets 403.
"""
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.module_loading import import_string
from rest_framework import permissions

from .roles import Action, role_allows


@cache
def _membership_role():
    """membership_role(*, user, product_id) -> role or None, from the app that keeps memberships."""
    return import_string(settings.PMHUB_MEMBERSHIP_ROLE)


def _role_cache(user) -> dict:
    return user.__dict__.setdefault("_pmhub_roles", {})


def role_for(user, product):
    """The user's role on product, cached on the user object for one request."""
    if not getattr(user, "is_authenticated", False) or product is None:
        return None
    cache = _role_cache(user)
    product_id = product if isinstance(product, int) else product.pk
    if product_id not in cache:
        cache[product_id] = _membership_role()(user=user, product_id=product_id)
    return cache[product_id]


def role_remember(user, product_id: int, role) -> None:
    """Put a role a query already fetched (None: no membership) into role_for's cache."""
    _role_cache(user).setdefault(product_id, role)


def user_can(user, product, action: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_staff:
        return True
    return role_allows(role_for(user, product), action)


def require(user, product, action: str) -> None:
    """Raise 404 if the user may not see the product, 403 if they may not do action."""
    if not user_can(user, product, Action.VIEW):
        raise Http404("No such product.")
    if not user_can(user, product, action):
        raise PermissionDenied(f"Your role on this product does not allow this ({Action(action).label.lower()}).")


def product_of(obj):
    """The product an object belongs to: its product_id, or what its get_product() says
    (a Product answers itself)."""
    if hasattr(obj, "product_id"):
        return obj.product_id
    get = getattr(obj, "get_product", None)
    if get is not None:
        return get()
    raise TypeError(f"cannot tell the product of {obj!r}")


class ProductRolePermission(permissions.BasePermission):
    """DRF: read needs VIEW; writes need the view's `write_action` (default EDIT).

    Object access is checked here; list visibility is the queryset's job
    (selectors filter to what the user may see). Creation checks the target
    product in the view or service, since no object exists yet.
    """

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        action = Action.VIEW if request.method in permissions.SAFE_METHODS else getattr(view, "write_action", Action.EDIT)
        product = product_of(obj)
        if not user_can(request.user, product, Action.VIEW):
            raise Http404
        return user_can(request.user, product, action)
