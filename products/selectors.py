"""Reads of products and memberships, with visibility applied."""
from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet

from .models import Membership, Product


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


def roadmap_progress_for_products(*, product_ids, start, end, today) -> dict[int, dict]:
    """Per product id: items shipped in [start, end), in progress, and slipping
    (open past their target date). One aggregate query for any number of products."""
    from django.db.models import Count

    from .models import RoadmapItem

    open_statuses = [s for s in RoadmapItem.Status.values if s not in (RoadmapItem.Status.SHIPPED, RoadmapItem.Status.DROPPED)]
    rows = (
        RoadmapItem.objects.filter(product_id__in=list(product_ids))
        .values("product_id")
        .annotate(
            shipped=Count("id", filter=Q(status=RoadmapItem.Status.SHIPPED, shipped_at__gte=start, shipped_at__lt=end)),
            in_progress=Count("id", filter=Q(status=RoadmapItem.Status.IN_PROGRESS)),
            slipping=Count("id", filter=Q(status__in=open_statuses, target_date__lt=today)),
        )
    )
    return {row.pop("product_id"): row for row in rows}


def roadmap_shipped_between(*, product_ids, start, end, limit: int = 50):
    """Items shipped in [start, end) for these products, newest first."""
    from .models import RoadmapItem

    return list(
        RoadmapItem.objects.filter(product_id__in=list(product_ids), status=RoadmapItem.Status.SHIPPED,
                                   shipped_at__gte=start, shipped_at__lt=end)
        .order_by("-shipped_at", "id")
        .values("id", "product_id", "title", "shipped_at")[:limit]
    )


def roadmap_slipping(*, product_ids, today, limit: int = 50):
    """Open items past their target date for these products, most overdue first."""
    from .models import RoadmapItem

    return list(
        RoadmapItem.objects.filter(product_id__in=list(product_ids), target_date__lt=today)
        .exclude(status__in=[RoadmapItem.Status.SHIPPED, RoadmapItem.Status.DROPPED])
        .order_by("target_date", "id")
        .values("id", "product_id", "title", "target_date")[:limit]
    )
