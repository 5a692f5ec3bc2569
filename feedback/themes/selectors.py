"""Reads of feedback themes, visibility applied by the caller's product; aggregated in the database."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Lower, TruncWeek

from products.roadmap.models import RoadmapItem
from products.selectors import product_list_for_user

from ..models import Feedback, FeedbackLink, Sentiment
from .models import Theme, ThemeAssignment, ThemeLink, ThemeState
from .representation import load_representation, unpack

# Fitted representations and centres by product, kept while the state's version and
# centres stay the same: a worker assigns many pieces without reloading the arrays.
_space_cache: dict[int, tuple] = {}


def state_for(*, product) -> ThemeState | None:
    """The product's grouping state; its fitted representation (megabytes) loads only when read."""
    return ThemeState.objects.defer("representation").filter(product=product).first()


def state_space(state: ThemeState):
    """(representation, centres matrix, theme ids of its rows) of a product's last grouping;
    (None, None, []) when it stored no usable representation."""
    key = (state.version, tuple(state.centroid_theme_ids))
    cached = _space_cache.get(state.product_id)
    if cached and cached[0] == key:
        return cached[1], cached[2], list(key[1])
    try:
        rep = load_representation(state.backend, unpack(state.representation))
    except (KeyError, ValueError, OSError):
        return None, None, []  # no usable representation stored: as if never grouped
    ids = list(state.centroid_theme_ids)
    C = np.frombuffer(bytes(state.centroids), np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 1), np.float32)
    _space_cache[state.product_id] = (key, rep, C)
    return rep, C, ids


def forget_space(product_id: int) -> None:
    _space_cache.pop(product_id, None)


def theme_list_for_user(*, user) -> QuerySet[Theme]:
    return Theme.objects.filter(product__in=product_list_for_user(user=user).values("pk"))


def _with_figures(qs: QuerySet[Theme]) -> QuerySet[Theme]:
    return qs.annotate(
        size=Count("assignments", distinct=True),
        positive=Count("assignments", filter=Q(assignments__feedback__sentiment_label=Sentiment.POSITIVE), distinct=True),
        neutral=Count("assignments", filter=Q(assignments__feedback__sentiment_label=Sentiment.NEUTRAL), distinct=True),
        negative=Count("assignments", filter=Q(assignments__feedback__sentiment_label=Sentiment.NEGATIVE), distinct=True),
    ).select_related("quote").prefetch_related(
        Prefetch("roadmap_links", queryset=ThemeLink.objects.select_related("roadmap_item")))


def themes_for_product(*, product, status=Theme.Status.ACTIVE) -> list[Theme]:
    """The product's themes, largest first, each with size and sentiment counts, its quote and
    its roadmap links; plus `weeks` (pieces per week, the last 8 weeks) and `segments`."""
    import datetime as dt

    from django.utils import timezone

    themes = list(_with_figures(Theme.objects.filter(product=product, status=status)).order_by("-size", "label"))
    if not themes:
        return themes
    ids = [t.pk for t in themes]
    since = timezone.now() - dt.timedelta(weeks=8)
    weeks = defaultdict(dict)
    for row in (ThemeAssignment.objects.filter(theme_id__in=ids, feedback__received_at__gte=since)
                .annotate(week=TruncWeek("feedback__received_at")).values("theme_id", "week")
                .annotate(n=Count("feedback_id")).order_by()):
        weeks[row["theme_id"]][row["week"].date()] = row["n"]
    start = (timezone.now() - dt.timedelta(days=timezone.now().weekday())).date()
    week_starts = [start - dt.timedelta(weeks=w) for w in range(7, -1, -1)]
    segs = defaultdict(list)
    for row in (ThemeAssignment.objects.filter(theme_id__in=ids).values("theme_id", "feedback__segment")
                .annotate(n=Count("feedback_id")).order_by("theme_id", "-n")):
        segs[row["theme_id"]].append((row["feedback__segment"], row["n"]))
    items = defaultdict(set)
    for theme_id, title in (FeedbackLink.objects.filter(feedback__theme_assignment__theme_id__in=ids)
                            .values_list("feedback__theme_assignment__theme_id", "roadmap_item__title").distinct()):
        items[theme_id].add(title)
    for t in themes:
        t.weeks = [weeks[t.pk].get(w, 0) for w in week_starts]
        t.week_max = max(t.weeks) or 1
        t.segments = segs[t.pk][:3]
        t.item_titles = sorted(items[t.pk])
    return themes


def theme_get(*, product, pk) -> Theme:
    return _with_figures(Theme.objects.filter(product=product)).get(pk=pk)


def theme_figures(*, theme) -> dict:
    """What the theme page shows besides its feedback: weekly counts (all time), sentiment mix,
    segments, organisations, and the roadmap items its feedback is linked to."""
    members = Feedback.objects.filter(theme_assignment__theme=theme)
    weekly = list(members.annotate(week=TruncWeek("received_at")).values("week").annotate(n=Count("id"))
                  .order_by("week"))
    sentiment = dict(members.values_list("sentiment_label").annotate(n=Count("id")).order_by())
    segments = list(members.values("segment").annotate(n=Count("id")).order_by("-n"))
    organisations = list(members.exclude(organisation="").annotate(org=Lower("organisation")).values("org")
                         .annotate(n=Count("id")).order_by("-n", "org")[:12])
    items = list(RoadmapItem.objects.filter(feedback_links__feedback__theme_assignment__theme=theme)
                 .annotate(n=Count("feedback_links", distinct=True)).order_by("-n", "title")[:20])
    return {"weekly": weekly, "sentiment": sentiment, "segments": segments, "organisations": organisations,
            "items": items, "organisations_total": members.exclude(organisation="").annotate(
                org=Lower("organisation")).values("org").distinct().count()}


def theme_feedback(*, theme) -> QuerySet[Feedback]:
    return (Feedback.objects.filter(theme_assignment__theme=theme)
            .select_related("theme_assignment", "theme_assignment__likely_duplicate_of")
            .order_by("-theme_assignment__pinned", "-theme_assignment__similarity", "-id"))


def inbox_hints(*, product, feedback_ids: list[int]) -> dict[int, dict]:
    """For inbox rows: {feedback id: {"theme", "others", "duplicate_of"}} in two queries.
    "others" counts the other pieces of its (active) theme."""
    rows = list(ThemeAssignment.objects.filter(product=product, feedback_id__in=feedback_ids)
                .select_related("theme").only("feedback_id", "theme__label", "theme__status", "theme__product_id",
                                              "likely_duplicate_of_id", "duplicate_similarity"))
    theme_ids = {r.theme_id for r in rows if r.theme_id and r.theme.status == Theme.Status.ACTIVE}
    sizes = dict(ThemeAssignment.objects.filter(theme_id__in=theme_ids).values_list("theme_id")
                 .annotate(n=Count("feedback_id")).order_by())
    hints = {}
    for r in rows:
        active = r.theme_id in theme_ids
        hints[r.feedback_id] = {
            "theme": r.theme if active else None,
            "others": max(0, sizes.get(r.theme_id, 0) - 1) if active else 0,
            "duplicate_of": r.likely_duplicate_of_id,
        }
    return hints


def semantic_search(*, product, query: str, limit: int = 100) -> list[tuple[int, float]]:
    """Feedback of product closest in meaning to query: [(feedback id, similarity)], best first,
    above the representation's search threshold. Empty when the product was never grouped."""
    query = (query or "").strip()[:500]
    state = state_for(product=product)
    if not query or state is None or state.version == 0:
        return []
    rep, _, _ = state_space(state)
    if rep is None:
        return []
    v = rep.transform([query])[0]
    if not np.any(v):
        return []
    rows = list(ThemeAssignment.objects.filter(product=product, state_version=state.version)
                .values_list("feedback_id", "vector"))
    if not rows:
        return []
    M = np.frombuffer(b"".join(bytes(r[1]) for r in rows), np.float32).reshape(len(rows), -1)
    if M.shape[1] != v.shape[0]:
        return []
    sims = M @ v
    order = np.argsort(-sims)[:limit]
    return [(rows[i][0], float(sims[i])) for i in order if sims[i] >= rep.search_threshold]


def themes_for_moving(*, product) -> list[Theme]:
    return list(Theme.objects.filter(product=product).order_by("status", "label").only("pk", "label", "status"))
