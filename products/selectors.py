"""Reads of products and memberships, with visibility applied."""
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from products.models import Membership, Product


def membership_role(*, user, product_id: int):
    return Membership.objects.filter(user=user, product_id=product_id).values_list("role", flat=True).first()


def product_list_for_user(*, user) -> QuerySet[Product]:
    """Products the user may see: staff all, others those they are a member of."""
    qs = Product.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if not user.is_staff:
        qs = qs.filter(memberships__user=user)
    return qs.annotate(member_count=Count("memberships", distinct=True)).order_by("name")


def product_get_for_user(*, user, slug: str) -> Product:
    """The product with slug if the user may see it; raises Product.DoesNotExist otherwise."""
    return product_list_for_user(user=user).get(slug=slug)


def membership_list(*, product) -> QuerySet[Membership]:
    return Membership.objects.filter(product=product).select_related("user").order_by("role", "user__username")


def memberships_for_user(*, user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("product_id", "role"))


def user_search(*, query: str, limit: int = 20):
    User = get_user_model()
    return User.objects.filter(
        Q(username__icontains=query) | Q(email__icontains=query), is_active=True
    ).order_by("username")[:limit]
