"""Reads of the roadmap, with visibility applied; aggregations run in the database."""
import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from products.roadmap.models import RoadmapItem, RoadmapShareLink, RoadmapStatusChange
from products.selectors import product_list_for_user

__all__ = [
    "ROADMAP_ORDERINGS", "roadmap_item_list_for_user", "roadmap_item_get_for_user", "roadmap_board",
    "roadmap_items_shipped_between", "roadmap_item_status_history", "roadmap_themes", "roadmap_timeline_rows",
    "roadmap_matrix_rows", "roadmap_status_counts", "roadmap_progress_for_products", "roadmap_summary_for_products", "roadmap_progress_for_user",
    "roadmap_shipped_between", "roadmap_slipping",
    "roadmap_share_for", "roadmap_share_product",
]

# name shown in the UI / query value -> order_by
ROADMAP_ORDERINGS = {
    "-rice_score": ("-rice_score", "title"),
    "rice_score": ("rice_score", "title"),
    "status": ("status_rank", "-rice_score"),
    "-status": ("-status_rank", "-rice_score"),
    "horizon": ("horizon_rank", "position"),
    "-horizon": ("-horizon_rank", "position"),
    "target_date": ("target_date", "title"),
    "-target_date": ("-target_date", "title"),
    "title": ("title",),
}


def _ranked(qs):
    from django.db.models import Case, IntegerField, Value, When

    return qs.annotate(
        status_rank=Case(*[When(status=s, then=Value(i)) for i, s in enumerate(RoadmapItem.Status.values)],
                         output_field=IntegerField()),
        horizon_rank=Case(*[When(horizon=h, then=Value(i)) for i, h in enumerate(RoadmapItem.Horizon.values)],
                          output_field=IntegerField()),
    )


def roadmap_item_list_for_user(*, user, product=None, status=None, horizon=None, theme=None, kind=None,
                               ordering: str | None = None) -> QuerySet[RoadmapItem]:
    """Roadmap items of the products the user may see, optionally of one product and filtered.

    status/horizon/kind may be one value or a list; ordering is a key of ROADMAP_ORDERINGS.
    """
    qs = RoadmapItem.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product_id=getattr(product, "pk", product))
    for field, value in (("status", status), ("horizon", horizon), ("kind", kind)):
        if value:
            qs = qs.filter(**{f"{field}__in": [value] if isinstance(value, str) else list(value)})
    if theme:
        qs = qs.filter(theme=theme)
    qs = _ranked(qs.select_related("product", "owner"))
    return qs.order_by(*ROADMAP_ORDERINGS.get(ordering or "", ("horizon_rank", "position", "id")))


def roadmap_item_get_for_user(*, user, pk: int) -> RoadmapItem:
    """Raises RoadmapItem.DoesNotExist when the item does not exist or the user may not see it."""
    return roadmap_item_list_for_user(user=user).get(pk=pk)


def roadmap_board(*, product) -> list[dict]:
    """The Now / Next / Later columns, each ordered by position."""
    items = list(RoadmapItem.objects.filter(product=product).select_related("owner").order_by("position", "id"))
    return [
        {"horizon": value, "label": label, "items": [i for i in items if i.horizon == value]}
        for value, label in RoadmapItem.Horizon.choices
    ]


def roadmap_items_shipped_between(*, product_ids, start, end) -> QuerySet[RoadmapItem]:
    """Items of product_ids shipped in [start, end) (datetimes or dates), oldest first.

    The caller has already decided which products the user may see.
    """
    def as_dt(value):
        if isinstance(value, datetime.datetime):
            return value
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))

    return (RoadmapItem.objects.filter(product_id__in=list(product_ids), status=RoadmapItem.Status.SHIPPED,
                                       shipped_at__gte=as_dt(start), shipped_at__lt=as_dt(end))
            .select_related("product", "owner").order_by("shipped_at", "id"))


def roadmap_item_status_history(*, item) -> QuerySet[RoadmapStatusChange]:
    return item.status_changes.select_related("actor").order_by("-changed_at", "-id")


def roadmap_themes(*, product) -> list[str]:
    return list(RoadmapItem.objects.filter(product=product).exclude(theme="")
                .order_by("theme").values_list("theme", flat=True).distinct())


_ROW_FIELDS = ("pk", "title", "status", "horizon", "theme", "kind", "start_date", "target_date", "shipped_at",
               "reach", "impact", "confidence", "effort", "rice_score")


def roadmap_timeline_rows(*, product) -> dict:
    """Rows for the Gantt: items with both dates, and the rest listed beside the chart."""
    rows = list(RoadmapItem.objects.filter(product=product).order_by("theme", "start_date", "title").values(*_ROW_FIELDS))
    dated = [r for r in rows if r["start_date"] and r["target_date"]]
    undated = [r for r in rows if not (r["start_date"] and r["target_date"])]
    return {"dated": dated, "undated": undated}


def roadmap_matrix_rows(*, product) -> list[dict]:
    """Rows for the impact-vs-effort matrix (dropped items left out)."""
    return list(RoadmapItem.objects.filter(product=product).exclude(status=RoadmapItem.Status.DROPPED)
                .order_by("-rice_score").values(*_ROW_FIELDS))


def roadmap_status_counts(*, product) -> list[dict]:
    """[{status, label, horizon, count}] for every status × horizon that has items."""
    counts = {(r["status"], r["horizon"]): r["n"] for r in
              RoadmapItem.objects.filter(product=product).values("status", "horizon").annotate(n=Count("id"))}
    return [
        {"status": s, "label": label, "horizon": h, "count": counts.get((s, h), 0)}
        for s, label in RoadmapItem.Status.choices for h in RoadmapItem.Horizon.values
    ]


def roadmap_progress_for_products(*, product_ids, start, end, today=None) -> dict[int, dict]:
    """Per product id: {"shipped": items shipped in [start, end), "in_progress": now, "slipping": open
    past their target date as of today}. One query for any number of products; every id gets a row.
    For the executive portfolio; the caller has filtered product_ids to what the user may see."""
    keys = ("shipped", "in_progress", "slipping")
    return {pid: {k: row[k] for k in keys} for pid, row in
            roadmap_summary_for_products(product_ids=product_ids, start=start, end=end, today=today).items()}


def roadmap_summary_for_products(*, product_ids, start, end, today=None) -> dict[int, dict]:
    """roadmap_progress_for_products plus total, open and shipped_ever counts (the roadmap index)."""
    def as_dt(value):
        if isinstance(value, datetime.datetime):
            return value
        return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))

    today = today or timezone.localdate()
    open_q = ~Q(status__in=[RoadmapItem.Status.SHIPPED, RoadmapItem.Status.DROPPED])
    rows = (RoadmapItem.objects.filter(product_id__in=list(product_ids)).values("product_id").annotate(
        total=Count("id"),
        shipped=Count("id", filter=Q(status=RoadmapItem.Status.SHIPPED, shipped_at__gte=as_dt(start),
                                     shipped_at__lt=as_dt(end))),
        shipped_ever=Count("id", filter=Q(status=RoadmapItem.Status.SHIPPED)),
        in_progress=Count("id", filter=Q(status=RoadmapItem.Status.IN_PROGRESS)),
        slipping=Count("id", filter=open_q & Q(target_date__lt=today)),
        open=Count("id", filter=open_q),
    ))
    out = {pid: {"total": 0, "shipped": 0, "shipped_ever": 0, "in_progress": 0, "slipping": 0, "open": 0}
           for pid in product_ids}
    for r in rows:
        out[r.pop("product_id")] = r
    return out


def roadmap_shipped_between(*, product_ids, start, end, limit: int = 50) -> list[dict]:
    """Items shipped in [start, end) for these products, newest first, as plain rows."""
    return list(
        RoadmapItem.objects.filter(product_id__in=list(product_ids), status=RoadmapItem.Status.SHIPPED,
                                   shipped_at__gte=start, shipped_at__lt=end)
        .order_by("-shipped_at", "id")
        .values("id", "product_id", "title", "shipped_at")[:limit]
    )


def roadmap_slipping(*, product_ids, today=None, limit: int = 50) -> list[dict]:
    """Open items past their target date for these products, most overdue first."""
    return list(
        RoadmapItem.objects.filter(product_id__in=list(product_ids), target_date__lt=today or timezone.localdate())
        .exclude(status__in=[RoadmapItem.Status.SHIPPED, RoadmapItem.Status.DROPPED])
        .order_by("target_date", "id")
        .values("id", "product_id", "title", "target_date")[:limit]
    )


def roadmap_progress_for_user(*, user, start, end) -> dict[int, dict]:
    """roadmap_progress_for_products over every product the user may see."""
    ids = list(product_list_for_user(user=user).values_list("pk", flat=True))
    return roadmap_progress_for_products(product_ids=ids, start=start, end=end)


def roadmap_share_for(*, product) -> RoadmapShareLink | None:
    return RoadmapShareLink.objects.filter(product=product).first()


def roadmap_share_product(*, token: str):
    """The product whose roadmap share link has this token, or None (revoked or never existed)."""
    link = RoadmapShareLink.objects.select_related("product").filter(token=token).first() if token else None
    return link.product if link else None
