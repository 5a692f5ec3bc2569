"""Reads of feedback, with visibility applied; aggregations happen in the database."""
import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower, TruncWeek
from django.utils import timezone

from products.roadmap.models import RoadmapItem
from products.selectors import product_list_for_user

from .models import Channel, Feedback, FeedbackLink, FeedbackPortal, ImportJob, Segment, Sentiment, ShipNotification, Tag

SEARCH_CONFIG = "english"
# In this order: the expression must stay the one indexed in migration 0003.
SEARCH_FIELDS = ("text", "stakeholder_name", "organisation", "stakeholder_email")


def feedback_list_for_user(*, user, product=None) -> QuerySet[Feedback]:
    qs = Feedback.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product=product)
    return qs


def feedback_new_for_user(*, user, limit: int = 6) -> tuple[list[Feedback], int]:
    """Feedback still "new" (untriaged) on the products the user may see: the newest
    `limit`, and how many there are in all."""
    qs = feedback_list_for_user(user=user).filter(status=Feedback.Status.NEW)
    return list(qs.select_related("product").order_by("-received_at", "-id")[:limit]), qs.count()


def text_search(qs: QuerySet, query: str) -> QuerySet:
    """Full-text search on PostgreSQL over the text, the stakeholder's name, organisation
    and e-mail (English stemming, web-search syntax: "quoted phrase", or, -word), served by
    the GIN index of migration 0003; a case-insensitive substring search of the same
    fields elsewhere (SQLite, the embedded default)."""
    query = (query or "").strip()[:200]
    if not query:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector(*SEARCH_FIELDS, config=SEARCH_CONFIG)
        return qs.annotate(_search=vector).filter(_search=SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG))
    found = Q()
    for field in SEARCH_FIELDS:
        found |= Q(**{f"{field}__icontains": query})
    return qs.filter(found)


@dataclass
class InboxFilters:
    status: str = ""
    channel: str = ""
    segment: str = ""
    sentiment: str = ""
    tag: str = ""
    q: str = ""
    item: str = ""
    meaning: str = ""
    theme: str = ""

    @classmethod
    def from_params(cls, params) -> "InboxFilters":
        def pick(name, choices):
            value = (params.get(name) or "").strip()
            return value if value in choices else ""

        return cls(
            status=pick("status", Feedback.Status.values),
            channel=pick("channel", Channel.values),
            segment=pick("segment", Segment.values),
            sentiment=pick("sentiment", Sentiment.values),
            tag=(params.get("tag") or "").strip().lower()[:40],
            q=(params.get("q") or "").strip()[:200],
            item=(params.get("item") or "").strip() if (params.get("item") or "").strip().isdigit() else "",
            meaning=(params.get("m") or "").strip()[:200],
            theme=(params.get("theme") or "").strip() if (params.get("theme") or "").strip().isdigit() else "",
        )

    @property
    def active(self) -> bool:
        return any(vars(self).values())


def feedback_inbox(*, product, filters: InboxFilters) -> QuerySet[Feedback]:
    """The triage inbox of a product: filtered, newest first, with what each row shows."""
    qs = Feedback.objects.filter(product=product)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.segment:
        qs = qs.filter(segment=filters.segment)
    if filters.sentiment:
        qs = qs.filter(sentiment_label=filters.sentiment)
    if filters.tag:
        qs = qs.filter(Exists(Feedback.tags.through.objects.filter(
            feedback_id=OuterRef("pk"), tag__name=filters.tag)))
    if filters.item:
        qs = qs.filter(Exists(FeedbackLink.objects.filter(feedback_id=OuterRef("pk"), roadmap_item_id=filters.item)))
    if filters.theme:
        qs = qs.filter(theme_assignment__theme_id=filters.theme)
    qs = text_search(qs, filters.q)
    order = ["-received_at", "-id"]
    if filters.meaning:
        # Search by meaning (feedback/themes): the closest pieces first.
        from django.db.models import Case, When

        from .themes.selectors import semantic_search

        ranked = [pk for pk, _ in semantic_search(product=product, query=filters.meaning)]
        qs = qs.filter(pk__in=ranked).annotate(
            _rank=Case(*[When(pk=pk, then=Value(i)) for i, pk in enumerate(ranked)], output_field=IntegerField()))
        order = ["_rank", *order]
    return (qs.select_related("duplicate_of")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")),
                              Prefetch("links", queryset=FeedbackLink.objects.select_related("roadmap_item")))
            .order_by(*order))


def feedback_get(*, product, pk) -> Feedback:
    return (Feedback.objects.select_related("product", "duplicate_of", "created_by", "import_job")
            .prefetch_related("tags", Prefetch("links", queryset=FeedbackLink.objects.select_related("roadmap_item")),
                              "duplicates")
            .get(product=product, pk=pk))


def tag_counts(*, product, limit=None):
    qs = (Tag.objects.filter(product=product).annotate(n=Count("feedback")).filter(n__gt=0)
          .order_by("-n", "name").values("name", "n"))
    return list(qs[:limit] if limit else qs)


def status_counts(*, product) -> dict[str, int]:
    return dict(Feedback.objects.filter(product=product).values_list("status").annotate(n=Count("id")).order_by())


def roadmap_items_for_linking(*, product) -> QuerySet[RoadmapItem]:
    return RoadmapItem.objects.filter(product=product).exclude(status="dropped").order_by("title")


def roadmap_item_posted(*, product, value: str) -> RoadmapItem | None:
    """The roadmap item of product a form names by pk (None if absent, malformed or another product's)."""
    return RoadmapItem.objects.filter(product=product, pk=int(value)).first() if value.isdigit() else None


def portal_for(*, product) -> FeedbackPortal | None:
    return FeedbackPortal.objects.filter(product=product).first()


def portal_by_token(*, token: str) -> FeedbackPortal | None:
    return FeedbackPortal.objects.select_related("product").filter(token=token, enabled=True).first()


def import_jobs(*, product, limit=10):
    return ImportJob.objects.filter(product=product).defer("content").select_related("created_by")[:limit]


# --- demand on the roadmap -------------------------------------------------------------------

# Duplicates' links are moved to the original when they are marked, and left out here
# too, so one request never counts twice.
_COUNTED = Q(feedback_links__feedback__duplicate_of__isnull=True)


def _org_key_filter():
    return _COUNTED & ~Q(feedback_links__feedback__organisation="")


def item_demand(*, item, limit=20) -> dict:
    """What backs one roadmap item: demand (sum of importances), how many pieces of feedback,
    how many distinct organisations, and the linked feedback itself (most important first)."""
    links = FeedbackLink.objects.filter(roadmap_item=item, feedback__duplicate_of__isnull=True)
    totals = links.aggregate(
        demand=Coalesce(Sum("importance"), 0),
        feedback_count=Count("feedback", distinct=True),
    )
    organisations = (links.exclude(feedback__organisation="").annotate(org=Lower("feedback__organisation"))
                     .values("org").distinct().count())
    linked = list(links.select_related("feedback").order_by("-importance", "-feedback__received_at")[:limit])
    return {**totals, "organisations": organisations, "links": linked}


def reach_suggestion(*, item) -> dict:
    """Suggested RICE reach: the distinct organisations behind the item, plus the
    stakeholders who named no organisation (counted once per e-mail or name)."""
    links = FeedbackLink.objects.filter(roadmap_item=item, feedback__duplicate_of__isnull=True)
    orgs = set(links.exclude(feedback__organisation="").annotate(org=Lower("feedback__organisation"))
               .values_list("org", flat=True))
    people = set(
        (e or n or f"#{pk}").lower() for pk, e, n in
        links.filter(feedback__organisation="").values_list("feedback_id", "feedback__stakeholder_email",
                                                               "feedback__stakeholder_name")
    )
    return {"organisations": len(orgs), "individuals": len(people), "reach": len(orgs) + len(people)}


def demand_ranking(*, product, include_shipped=True, limit=100) -> list[RoadmapItem]:
    """Roadmap items of product ranked by linked feedback: demand, then pieces, then organisations."""
    qs = RoadmapItem.objects.filter(product=product)
    if not include_shipped:
        qs = qs.exclude(status__in=["shipped", "dropped"])
    qs = qs.annotate(
        demand=Coalesce(Sum("feedback_links__importance", filter=_COUNTED), Value(0), output_field=IntegerField()),
        feedback_count=Count("feedback_links", filter=_COUNTED, distinct=True),
        organisations=Count(Lower("feedback_links__feedback__organisation"), filter=_org_key_filter(), distinct=True),
    ).filter(feedback_count__gt=0)
    return list(qs.order_by("-demand", "-feedback_count", "-organisations", "title")[:limit])


def ship_notification_recipients(*, item) -> list[dict]:
    """Stakeholders (by e-mail, each once) whose feedback backs item, or a duplicate of it,
    and who were not told yet. [{"email", "name", "organisation"}] sorted by e-mail."""
    backing = Feedback.objects.filter(Q(links__roadmap_item=item) | Q(duplicate_of__links__roadmap_item=item))
    already = set(ShipNotification.objects.filter(roadmap_item=item).values_list("email", flat=True))
    people = {}
    for email, name, org in backing.exclude(stakeholder_email="").values_list(
            "stakeholder_email", "stakeholder_name", "organisation").order_by("received_at"):
        key = email.lower()
        if key not in already and key not in people:
            people[key] = {"email": key, "name": name, "organisation": org}
    return [people[k] for k in sorted(people)]


def ship_notifications(*, item) -> QuerySet[ShipNotification]:
    return ShipNotification.objects.filter(roadmap_item=item)


# --- dashboard ------------------------------------------------------------------------------

def _period(qs, start, end):
    if start:
        qs = qs.filter(received_at__gte=start)
    if end:
        qs = qs.filter(received_at__lt=end)
    return qs


def dashboard_data(*, product, start=None, end=None) -> dict:
    """Everything the feedback dashboard draws, aggregated in the database (a handful of queries)."""
    qs = _period(Feedback.objects.filter(product=product), start, end)
    weekly = list(qs.annotate(week=TruncWeek("received_at")).values("week", "channel")
                  .annotate(n=Count("id")).order_by("week", "channel"))
    trend = list(qs.annotate(week=TruncWeek("received_at")).values("week")
                 .annotate(avg=Avg("sentiment"), n=Count("id"),
                           negative=Count("id", filter=Q(sentiment_label=Sentiment.NEGATIVE)))
                 .order_by("week"))
    tags = list(Tag.objects.filter(product=product, feedback__in=qs.values("pk"))
                .values("name").annotate(n=Count("feedback")).order_by("-n", "name")[:15])
    segments = list(qs.values("segment").annotate(n=Count("id")).order_by("-n"))
    themes = list(
        FeedbackLink.objects.filter(feedback__in=qs.values("pk"))
        .values("roadmap_item__theme", "feedback__sentiment_label")
        .annotate(n=Count("feedback", distinct=True)).order_by("roadmap_item__theme")
    )
    totals = qs.aggregate(total=Count("id"), avg=Avg("sentiment"),
                          negative=Count("id", filter=Q(sentiment_label=Sentiment.NEGATIVE)),
                          untriaged=Count("id", filter=Q(status=Feedback.Status.NEW)))
    return {"weekly": weekly, "trend": trend, "tags": tags, "segments": segments, "themes": themes, "totals": totals}


# --- across products: index page and the executive portfolio ------------------------------------

def feedback_summary_by_product(*, user, start=None, end=None) -> dict[int, dict]:
    """Per product the user may see: volume, average sentiment and share negative over a period.

    One query whatever the number of products: {product_id: {"count", "avg_sentiment",
    "negative", "positive", "untriaged"}}. Products without feedback in the period are absent.
    """
    qs = _period(Feedback.objects.filter(product__in=product_list_for_user(user=user).values("pk")), start, end)
    rows = qs.values("product_id").annotate(
        count=Count("id"), avg_sentiment=Avg("sentiment"),
        negative=Count("id", filter=Q(sentiment_label=Sentiment.NEGATIVE)),
        positive=Count("id", filter=Q(sentiment_label=Sentiment.POSITIVE)),
        untriaged=Count("id", filter=Q(status=Feedback.Status.NEW)),
    ).order_by()
    return {r.pop("product_id"): r for r in rows}


def feedback_index(*, user, days=90) -> list[dict]:
    """Rows of the cross-product feedback page: each visible product with its last-days figures."""
    start = timezone.now() - dt.timedelta(days=days)
    summary = feedback_summary_by_product(user=user, start=start)
    totals = dict(Feedback.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
                  .values_list("product_id").annotate(n=Count("id")).order_by())
    rows = []
    for product in product_list_for_user(user=user):
        s = summary.get(product.pk, {})
        rows.append({"product": product, "total": totals.get(product.pk, 0), "recent": s.get("count", 0),
                     "avg_sentiment": s.get("avg_sentiment"), "untriaged": s.get("untriaged", 0),
                     "negative": s.get("negative", 0)})
    return rows
