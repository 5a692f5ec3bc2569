"""Reads of products and memberships, with visibility applied."""
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from products.models import Membership, Product


def membership_role(*, user, product_id: int):
    return Membership.objects.filter(user=user, product_id=product_id).values_list("role", flat=True).first()


def product_list_for_user(*, user) -> QuerySet[Product]:
    """Products the user may see: staff all, others those they are a member of."""
    qs = Product.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if not user.is_staff:
        qs = qs.filter(pk__in=Membership.objects.filter(user=user).values("product_id"))
    return qs.annotate(member_count=_member_count()).order_by("name")


def _member_count():
    """Every member of the product, counted apart from the viewer filter above (a join on
    memberships filtered to the viewer would count the viewer alone)."""
    counted = (Membership.objects.filter(product=OuterRef("pk")).order_by().values("product")
               .annotate(n=Count("user", distinct=True)).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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
