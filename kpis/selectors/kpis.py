"""Reads of KPIs: lists with their latest value, cards, dashboards, the portfolio."""
from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone

from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from pmhub.dates import date_range_text
from kpis.models import KPI, Alert, Objective
from kpis.timeseries.models import Point, Rollup
from products.selectors import product_list_for_user

from .status import kpi_status, progress_for
from kpis.timeseries.selectors import (
    CHART_BUCKETS,
    Bucket,
    bucket_seconds_for,
    rollup_width_for,
    series_buckets,
    series_buckets_many,
    series_has_rollups,
)

RANGES = {  # label, seconds
    "24h": ("24 h", 86400),
    "7d": ("7 d", 7 * 86400),
    "30d": ("30 d", 30 * 86400),
    "90d": ("90 d", 90 * 86400),
    "1y": ("1 y", 365 * 86400),
}
RANGE_TITLES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days",
                "1y": "Last year"}
SPARK_DAYS = 30
IMPACT_WINDOW = timedelta(days=14)
# A dashboard chart is about 500 px wide (two to a row): more buckets than that
# draw nothing more. The KPI page's large chart keeps up to MAX_CHART_POINTS.
DASHBOARD_CHART_POINTS = 400


def _latest_subqueries():
    latest = Point.objects.filter(series_id=OuterRef("series_id")).order_by("-ts", "-step")
    return {"latest_value": Subquery(latest.values("value")[:1]), "latest_ts": Subquery(latest.values("ts")[:1])}


def kpi_list_for_user(*, user, product=None, headline_only: bool = False) -> QuerySet[KPI]:
    """KPIs the user may see, each annotated with latest_value and latest_ts (one query)."""
    qs = KPI.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product=product)
    if headline_only:
        qs = qs.filter(headline=True)
    return qs.select_related("product", "objective").annotate(**_latest_subqueries()).order_by("product__name", "name")


def kpi_get_for_user(*, user, product, key: str) -> KPI:
    return kpi_list_for_user(user=user, product=product).get(key=key)


@functools.cache
def _kpi_with_product():
    from pmhub.rows import Joined
    from products.models import Product

    return Joined((KPI, "k"), (Product, "p"))


def kpi_by_ref_for_write(*, user, ref: str | int, key: str | None = None, action: str) -> KPI:
    """A KPI by id, or by product slug and key, for a write the user must be allowed (ingest).

    One query, the user's role on the KPI's product fetched with it (and kept in
    the per-request role cache), instead of the list's annotated visibility
    query: ingest asks this fifty times a second. Raises KPI.DoesNotExist when
    the user may not see the KPI's product, PermissionDenied when they see it but
    may not do action.
    """
    from pmhub import prepared
    from pmhub.permissions import require, role_remember, user_can
    from pmhub.roles import Action
    from products.models import Membership, Product

    if key is None:
        try:
            where, params = "k.id = %s", [int(ref)]
        except (TypeError, ValueError):
            raise KPI.DoesNotExist from None
        if not 0 < params[0] < 2**63:
            raise KPI.DoesNotExist
    else:
        where, params = "p.slug = %s AND k.key = %s", [str(ref), key]
    member = getattr(user, "is_authenticated", False) and not user.is_staff
    joined = _kpi_with_product()
    # Written out: building this query with the ORM cost about 1 ms of CPU per ingest.
    with connection.cursor() as cursor:
        prepared.execute(
            cursor, "pmhub_kpi_by_" + ("id" if key is None else "key"),
            f"""SELECT {joined.columns},
                   (SELECT ms.role FROM {Membership._meta.db_table} ms
                    WHERE ms.user_id = %s AND ms.product_id = p.id LIMIT 1)
            FROM {KPI._meta.db_table} k JOIN {Product._meta.db_table} p ON p.id = k.product_id
            WHERE {where}""",
            [user.pk if member else None, *params],
        )
        row = cursor.fetchone()
    if row is None:
        raise KPI.DoesNotExist
    (kpi, product), (role,) = joined.instances(row, connection)
    kpi.product = product
    if member:
        role_remember(user, kpi.product_id, role)
    if not user_can(user, kpi.product, Action.VIEW):
        raise KPI.DoesNotExist
    require(user, kpi.product, action)
    return kpi


def kpi_by_ref_for_user(*, user, ref: str | int, key: str | None = None) -> KPI:
    """A KPI by id, or by product slug and key; raises KPI.DoesNotExist when invisible."""
    qs = kpi_list_for_user(user=user)
    if key is None:
        return qs.get(pk=int(ref))
    return qs.get(product__slug=ref, key=key)


@dataclass
class KPICard:
    kpi: KPI
    value: float | None
    ts: datetime | None
    status: str
    change_pct: float | None = None
    current_avg: float | None = None
    previous_avg: float | None = None
    spark: list[tuple[datetime, float]] = field(default_factory=list)
    open_alert: Alert | None = None

    @property
    def status_label(self) -> str:
        from kpis.models import KPIStatus

        return KPIStatus(self.status).label

    @property
    def progress(self) -> float | None:
        return progress_for(direction=self.kpi.direction, target=self.kpi.target, value=self.value)

    @property
    def improving(self) -> bool | None:
        if self.change_pct is None or self.change_pct == 0:
            return None
        up = self.change_pct > 0
        return up if self.kpi.direction == KPI.Direction.HIGHER else not up


def _period_averages(series_ids, *, start, mid, end) -> dict[int, tuple[float | None, float | None]]:
    """(previous, current) average per series over [start, mid) and [mid, end), from hourly rollups."""
    if not series_ids:
        return {}
    adapt = connection.ops.adapt_datetimefield_value
    placeholders = ",".join(["%s"] * len(series_ids))
    params = [adapt(mid), adapt(mid), adapt(mid), adapt(mid), *series_ids, adapt(start), adapt(end)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT series_id, "
            f"SUM(CASE WHEN ts < %s THEN sum END), SUM(CASE WHEN ts < %s THEN count END), "
            f"SUM(CASE WHEN ts >= %s THEN sum END), SUM(CASE WHEN ts >= %s THEN count END) "
            f"FROM {Rollup._meta.db_table} WHERE bucket = 3600 AND series_id IN ({placeholders}) "
            f"AND ts >= %s AND ts < %s GROUP BY series_id",
            params,
        )
        rows = cursor.fetchall()
    return {sid: (ps / pc if pc else None, cs / cc if cc else None) for sid, ps, pc, cs, cc in rows}


def _sparklines(series_ids, *, start, end) -> dict[int, list[tuple[datetime, float]]]:
    """Daily averages per series from the daily rollups (one query for all)."""
    out: dict[int, list] = defaultdict(list)
    if not series_ids:
        return out
    rows = (Rollup.objects.filter(series_id__in=series_ids, bucket=Rollup.DAY, ts__gte=start, ts__lt=end)
            .order_by("series_id", "ts").values_list("series_id", "ts", "sum", "count"))
    for sid, ts, total, count in rows:
        out[sid].append((ts, total / count))
    return out


def kpi_cards(kpis, *, period: timedelta = timedelta(days=7), now: datetime | None = None,
              with_alerts: bool = True) -> list[KPICard]:
    """Cards for KPIs annotated by kpi_list_for_user: latest value, status, change
    against the previous period, sparkline. Three queries whatever the number of KPIs."""
    kpis = list(kpis)
    now = now or timezone.now()
    # Whole hours, so the rollups cover both periods exactly.
    end = datetime.fromtimestamp((int(now.timestamp()) // 3600 + 1) * 3600, tz=dt_timezone.utc)
    mid = end - period
    series_ids = [k.series_id for k in kpis]
    averages = _period_averages(series_ids, start=mid - period, mid=mid, end=end)
    day_end = datetime.fromtimestamp((int(now.timestamp()) // 86400 + 1) * 86400, tz=dt_timezone.utc)
    sparks = _sparklines(series_ids, start=day_end - timedelta(days=SPARK_DAYS), end=day_end)
    alerts = {}
    if with_alerts and kpis:
        for alert in Alert.objects.filter(kpi__in=[k.pk for k in kpis], state=Alert.State.OPEN).order_by("opened_at"):
            alerts.setdefault(alert.kpi_id, alert)
    cards = []
    for kpi in kpis:
        value = getattr(kpi, "latest_value", None)
        previous, current = averages.get(kpi.series_id, (None, None))
        change = None
        if previous not in (None, 0) and current is not None:
            change = 100.0 * (current - previous) / abs(previous)
        cards.append(KPICard(kpi=kpi, value=value, ts=getattr(kpi, "latest_ts", None), status=kpi_status(kpi, value),
                             change_pct=change, current_avg=current, previous_avg=previous,
                             spark=sparks.get(kpi.series_id, []), open_alert=alerts.get(kpi.pk)))
    return cards


@dataclass
class ObjectiveProgress:
    objective: Objective
    cards: list[KPICard]

    @property
    def progress(self) -> float | None:
        values = [c.progress for c in self.cards if c.progress is not None]
        return sum(values) / len(values) if values else None

    @property
    def percent(self) -> int | None:
        p = self.progress
        return None if p is None else round(100 * p)

    def count(self, status: str) -> int:
        return sum(1 for c in self.cards if c.status == status)

    @property
    def on_track(self) -> int:
        return self.count("on_track")


def objectives_with_progress(*, product, cards: list[KPICard]) -> list[ObjectiveProgress]:
    """The product's objectives, each with its key results' cards and their mean progress to target."""
    by_objective = defaultdict(list)
    for card in cards:
        if card.kpi.objective_id:
            by_objective[card.kpi.objective_id].append(card)
    return [ObjectiveProgress(objective=o, cards=by_objective.get(o.pk, []))
            for o in Objective.objects.filter(product=product)]


NEEDS_ATTENTION = ("off_track", "at_risk")


def kpi_overview_cards(*, user, product) -> list[KPICard]:
    """What the product overview shows: the headline KPIs, then every other KPI that is
    off track or at risk (worst first), whatever its headline flag. Four queries."""
    cards = kpi_cards(kpi_list_for_user(user=user, product=product))
    headline = [c for c in cards if c.kpi.headline]
    rank = {"off_track": 0, "at_risk": 1}
    others = sorted((c for c in cards if not c.kpi.headline and c.status in NEEDS_ATTENTION),
                    key=lambda c: (rank[c.status], c.kpi.name.lower()))
    return headline + others


def kpis_needing_attention_for_user(*, user, limit: int = 12) -> tuple[list[KPICard], int]:
    """Every KPI off track or at risk on the products the user may see (off track first),
    at most `limit`, and how many there are in all. One query."""
    rank = {"off_track": 0, "at_risk": 1}
    cards = []
    for kpi in kpi_list_for_user(user=user):
        value = getattr(kpi, "latest_value", None)
        status = kpi_status(kpi, value)
        if status in NEEDS_ATTENTION:
            cards.append(KPICard(kpi=kpi, value=value, ts=getattr(kpi, "latest_ts", None), status=status))
    cards.sort(key=lambda c: (rank[c.status], c.kpi.product.name.lower(), c.kpi.name.lower()))
    return cards[:limit], len(cards)


# --- dashboards ------------------------------------------------------------------------------

@dataclass
class TimeRange:
    key: str  # "24h" … "1y" or "custom"
    start: datetime
    end: datetime
    error: str = ""  # why the custom range asked for was not used (shown beside the picker)

    @property
    def title(self) -> str:
        if self.key in RANGE_TITLES:
            return RANGE_TITLES[self.key]
        return date_range_text(timezone.localtime(self.start), timezone.localtime(self.end - timedelta(seconds=1)))

    @property
    def previous(self) -> "TimeRange":
        span = self.end - self.start
        return TimeRange(key="previous", start=self.start - span, end=self.start)


def time_range_from(params, *, now: datetime | None = None, default: str = "30d") -> TimeRange:
    """?range=24h|7d|30d|90d|1y, or ?from=YYYY-MM-DD&to=YYYY-MM-DD (custom, whole days, to inclusive).

    A custom range that cannot be used (not a date, outside the dates pmhub accepts,
    To before From, only one end given) falls back to the preset range with `error`
    saying why, so the page tells the user instead of silently showing 30 days.
    """
    now = now or timezone.now()
    start_raw, end_raw = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    error = ""
    if start_raw or end_raw:
        start, end, error = _custom_range(start_raw, end_raw)
        if not error:
            return TimeRange(key="custom", start=start, end=end)
    key = params.get("range") or default
    if key not in RANGES:
        key = default
    # Minute-aligned so two renders within a minute share their buckets.
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return TimeRange(key=key, start=end - timedelta(seconds=RANGES[key][1]), end=end, error=error)


def _custom_range(start_raw: str, end_raw: str) -> tuple[datetime | None, datetime | None, str]:
    from pmhub import limits

    if not start_raw or not end_raw:
        return None, None, "Give both From and To for a custom range."
    try:
        start = _parse_day_or_ts(start_raw)
        end = _parse_day_or_ts(end_raw, end_of_day=True)
    except (ValueError, OverflowError):
        return None, None, f"Custom range: {limits.date_message()}"
    if limits.date_error(start) or limits.date_error(end - timedelta(microseconds=1)):
        return None, None, f"Custom range: {limits.date_message()}"
    if end <= start:
        return None, None, "Custom range: To comes before From. Pick a To date on or after the From date."
    return start, end, ""


def _parse_day_or_ts(raw: str, *, end_of_day: bool = False) -> datetime:
    value = datetime.fromisoformat(raw)
    if len(raw) == 10:  # a date: the whole day
        value = value.replace(tzinfo=dt_timezone.utc)
        if end_of_day and value.date() >= date.max:
            raise OverflowError("no day after the last date")
        return value + timedelta(days=1) if end_of_day else value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


@dataclass
class Marker:
    item_id: int
    title: str
    shipped_at: datetime
    before: float | None
    after: float | None

    @property
    def change_pct(self) -> float | None:
        if self.before in (None, 0) or self.after is None:
            return None
        return 100.0 * (self.after - self.before) / abs(self.before)


def series_average(*, series_id: int, start: datetime, end: datetime) -> float | None:
    """Average over [start, end): hourly rollups for whole hours, raw points at the ragged edges."""
    from django.db.models import Count, Sum

    h_start = datetime.fromtimestamp(-(-int(start.timestamp()) // 3600) * 3600, tz=dt_timezone.utc)
    h_end = datetime.fromtimestamp(int(end.timestamp()) // 3600 * 3600, tz=dt_timezone.utc)
    total, count = 0.0, 0
    if h_start < h_end and Rollup.objects.filter(series_id=series_id).exists():
        agg = Rollup.objects.filter(series_id=series_id, bucket=Rollup.HOUR, ts__gte=h_start, ts__lt=h_end).aggregate(
            s=Sum("sum"), c=Sum("count"))
        total, count = agg["s"] or 0.0, agg["c"] or 0
        edges = [(start, h_start), (h_end, end)]
    else:
        edges = [(start, end)]
    for a, b in edges:
        if a < b:
            agg = Point.objects.filter(series_id=series_id, ts__gte=a, ts__lt=b).aggregate(s=Sum("value"), c=Count("id"))
            total += agg["s"] or 0.0
            count += agg["c"] or 0
    return total / count if count else None


def kpi_markers(kpi: KPI, *, start: datetime | None = None, end: datetime | None = None,
               window: timedelta = IMPACT_WINDOW) -> list[Marker]:
    """Linked roadmap items that shipped (in the range, when given), with the KPI's
    average over the window before and after shipped_at. Uses prefetched
    roadmap_items when the caller prefetched them (no query for KPIs without any)."""
    items = [item for item in kpi.roadmap_items.all() if item.shipped_at is not None
             and (start is None or item.shipped_at >= start) and (end is None or item.shipped_at < end)]
    return [
        Marker(item_id=item.pk, title=item.title, shipped_at=item.shipped_at,
               before=series_average(series_id=kpi.series_id, start=item.shipped_at - window, end=item.shipped_at),
               after=series_average(series_id=kpi.series_id, start=item.shipped_at, end=item.shipped_at + window))
        for item in sorted(items, key=lambda i: i.shipped_at)
    ]


@dataclass
class KPIChartData:
    kpi: KPI
    card: KPICard
    range: TimeRange
    bucket_seconds: int
    buckets: list[Bucket]
    previous: list[Bucket]
    markers: list[Marker]


def kpi_chart_data(kpi: KPI, card: KPICard, time_range: TimeRange, *, with_previous: bool = True,
                   with_markers: bool = True) -> KPIChartData:
    """What one KPI chart needs: bucketed series (≤ ~1,000 buckets), the previous period, markers."""
    bucket = bucket_seconds_for(start=time_range.start, end=time_range.end)
    source = "auto"
    if rollup_width_for(bucket):
        source = "rollups" if series_has_rollups(series_id=kpi.series_id) else "raw"
    previous = []
    if with_previous:
        # One read covers both periods; buckets that start before the range belong to the previous one.
        both = series_buckets(series_id=kpi.series_id, start=time_range.previous.start, end=time_range.end,
                              bucket_seconds=bucket, source=source)
        previous = [b for b in both if b.ts < time_range.start]
        buckets = [b for b in both if b.ts >= time_range.start]
    else:
        buckets = series_buckets(series_id=kpi.series_id, start=time_range.start, end=time_range.end,
                                 bucket_seconds=bucket, source=source)
    markers = kpi_markers(kpi, start=time_range.start, end=time_range.end) if with_markers else []
    return KPIChartData(kpi=kpi, card=card, range=time_range, bucket_seconds=bucket, buckets=buckets,
                        previous=previous, markers=markers)


def kpi_charts_data(cards: list[KPICard], time_range: TimeRange, *,
                    max_points: int = DASHBOARD_CHART_POINTS) -> list[KPIChartData]:
    """kpi_chart_data for every card of a dashboard, the buckets of all KPIs and both
    periods read together (at most three queries), at most max_points buckets a chart."""
    bucket = bucket_seconds_for(start=time_range.start, end=time_range.end, max_points=max_points,
                                choices=CHART_BUCKETS)
    both = series_buckets_many(series_ids=[card.kpi.series_id for card in cards], start=time_range.previous.start,
                               end=time_range.end, bucket_seconds=bucket)
    out = []
    for card in cards:
        rows = both[card.kpi.series_id]
        out.append(KPIChartData(
            kpi=card.kpi, card=card, range=time_range, bucket_seconds=bucket,
            buckets=[b for b in rows if b.ts >= time_range.start], previous=[b for b in rows if b.ts < time_range.start],
            markers=kpi_markers(card.kpi, start=time_range.start, end=time_range.end)))
    return out


def period_change(data: KPIChartData) -> tuple[float | None, float | None, float | None]:
    """(current average, previous average, change in %) over the chart's range, from its buckets."""
    def avg(buckets):
        count = sum(b.count for b in buckets)
        return sum(b.sum for b in buckets) / count if count else None

    current, previous = avg(data.buckets), avg(data.previous)
    change = None
    if current is not None and previous not in (None, 0):
        change = 100.0 * (current - previous) / abs(previous)
    return current, previous, change


# --- alerts ---------------------------------------------------------------------------------

def alert_list_for_user(*, user, product=None, state: str | None = None) -> QuerySet[Alert]:
    qs = Alert.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(product=product)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("kpi", "product").prefetch_related(
        Prefetch("deliveries", queryset=Alert.deliveries.rel.related_model.objects.order_by("id"))
    ).order_by("-opened_at", "-id")


def open_alerts_for_products(*, product_ids, limit_per_product: int = 20) -> dict[int, list[Alert]]:
    """{product id: open alerts, critical first then newest}; the caller passes ids the user
    may see. One query."""
    out: dict[int, list[Alert]] = {}
    rows = (Alert.objects.filter(product_id__in=list(product_ids), state=Alert.State.OPEN)
            .select_related("kpi", "product")
            .order_by("product_id", "severity", "-opened_at", "-id"))  # "critical" < "warning"
    for alert in rows:
        bucket = out.setdefault(alert.product_id, [])
        if len(bucket) < limit_per_product:
            bucket.append(alert)
    return out


def kpis_for_roadmap_item(*, item) -> list[tuple[KPICard, Marker | None]]:
    """KPIs linked to a roadmap item, with their card and, once shipped, the before/after averages."""
    kpis = KPI.objects.filter(roadmap_items=item).select_related("product").annotate(**_latest_subqueries())
    cards = kpi_cards(kpis, with_alerts=False)
    out = []
    for card in cards:
        marker = None
        if item.shipped_at:
            marker = Marker(item_id=item.pk, title=item.title, shipped_at=item.shipped_at,
                            before=series_average(series_id=card.kpi.series_id, start=item.shipped_at - IMPACT_WINDOW,
                                                  end=item.shipped_at),
                            after=series_average(series_id=card.kpi.series_id, start=item.shipped_at,
                                                 end=item.shipped_at + IMPACT_WINDOW))
        out.append((card, marker))
    return out
