"""KPI headline cards for many products at once (the portfolio and the digest).

Few queries whatever the number of products: one for the KPIs, one for every
number on their cards. Each number is "the last value at or before a moment",
answered by one backward probe of the point index (series, ts, step), so the
cost grows with products x KPIs x samples, never with the length of history.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from django.db.models import Count, Q

from kpis.models import KPI, Alert
from kpis.timeseries.models import Point

from .status import status_for

ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA = "on_track", "at_risk", "off_track", "no_data"
STATUS_LABELS = {ON_TRACK: "On track", AT_RISK: "At risk", OFF_TRACK: "Off track", NO_DATA: "No data"}
STATUS_RANK = {OFF_TRACK: 3, AT_RISK: 2, NO_DATA: 1, ON_TRACK: 0}


def kpi_status_of(*, value, direction, target, warning, critical) -> str:
    """on track / at risk / off track / no data for one value of a KPI (see status.status_for)."""
    return status_for(direction=direction, target=target, warning=warning, critical=critical, value=value)


@dataclass
class KpiHeadline:
    id: int
    product_id: int
    series_id: int
    name: str
    key: str
    unit: str
    category: str
    direction: str
    target: float | None
    warning: float | None
    critical: float | None
    headline: bool = True
    latest: float | None = None
    start_value: float | None = None
    spark: list = field(default_factory=list)

    @property
    def status(self) -> str:
        return kpi_status_of(value=self.latest, direction=self.direction, target=self.target,
                             warning=self.warning, critical=self.critical)

    @property
    def start_status(self) -> str:
        return kpi_status_of(value=self.start_value, direction=self.direction, target=self.target,
                             warning=self.warning, critical=self.critical)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def change(self) -> float | None:
        if self.latest is None or self.start_value is None:
            return None
        return self.latest - self.start_value

    @property
    def change_pct(self) -> float | None:
        if self.change is None or not self.start_value:
            return None
        return self.change / abs(self.start_value) * 100

    @property
    def improved(self) -> bool | None:
        """Did the change go the good way (None: no change to judge)."""
        if not self.change:
            return None
        return (self.change < 0) if self.direction == KPI.Direction.LOWER else (self.change > 0)


def sample_edges(*, start: datetime, end: datetime, samples: int) -> list[datetime]:
    step = (end - start) / samples
    return [start + step * i for i in range(samples)] + [end]


def values_at(*, series_ids: list[int], edges: list[datetime]) -> dict[tuple[int, int], float]:
    """{(series_id, edge index): last value at or before that edge}, in one query."""
    if not series_ids or not edges:
        return {}
    table = Point._meta.db_table
    probe = (f"(SELECT p.value FROM {table} p WHERE p.series_id = s.sid AND p.ts <= e.edge "
             f"ORDER BY p.ts DESC, p.step DESC LIMIT 1)")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT s.sid, e.i - 1, {probe} FROM unnest(%s::bigint[]) AS s(sid) "
                f"CROSS JOIN unnest(%s::timestamptz[]) WITH ORDINALITY AS e(edge, i)",
                [list(series_ids), list(edges)],
            )
        else:
            adapt = connection.ops.adapt_datetimefield_value
            sids = ", ".join(["(%s)"] * len(series_ids))
            edge_rows = ", ".join(["(%s, %s)"] * len(edges))
            params = [*series_ids]
            for i, edge in enumerate(edges):
                params += [i, adapt(edge)]
            cursor.execute(
                f"WITH s(sid) AS (VALUES {sids}), e(i, edge) AS (VALUES {edge_rows}) "
                f"SELECT s.sid, e.i, {probe} FROM s CROSS JOIN e",
                params,
            )
        return {(sid, int(i)): value for sid, i, value in cursor.fetchall() if value is not None}


def kpi_headlines_for_products(*, product_ids, start: datetime, end: datetime, samples: int = 30) -> dict[int, list[KpiHeadline]]:
    """KPIs per product id for the portfolio and the digest: the headline KPIs, then every
    other KPI off track or at risk at `end` (worst first), whatever its headline flag.
    Each with its latest value, value at `start` and sparkline samples.

    Three queries for any number of products. Callers pass only product ids the
    user may see.
    """
    rows = list(
        KPI.objects.filter(product_id__in=list(product_ids))
        .order_by("product_id", "name")
        .values_list("id", "product_id", "series_id", "name", "key", "unit", "category", "direction",
                     "target", "warning_threshold", "critical_threshold", "headline")
    )
    cards = [KpiHeadline(*row) for row in rows]
    others = [c for c in cards if not c.headline]
    if others:  # one probe at `end` decides which of the others need attention
        latest = values_at(series_ids=[c.series_id for c in others], edges=[end])
        for card in others:
            card.latest = latest.get((card.series_id, 0))
    cards = [c for c in cards if c.headline or c.status in (OFF_TRACK, AT_RISK)]
    edges = sample_edges(start=start, end=end, samples=samples)
    values = values_at(series_ids=[c.series_id for c in cards], edges=edges)
    out: dict[int, list[KpiHeadline]] = {}
    for card in cards:
        card.spark = [values.get((card.series_id, i)) for i in range(len(edges))]
        card.start_value = card.spark[0]
        card.latest = card.spark[-1]
        out.setdefault(card.product_id, []).append(card)
    for product_cards in out.values():
        product_cards.sort(key=lambda c: (not c.headline, -STATUS_RANK[c.status] if not c.headline else 0))
    return out


def open_alert_counts_for_products(*, product_ids) -> dict[int, dict]:
    """{product id: {"open": n, "critical": n}} of open alerts, in one query."""
    rows = (
        Alert.objects.filter(product_id__in=list(product_ids), state=Alert.State.OPEN)
        .values("product_id")
        .annotate(open=Count("id"), critical=Count("id", filter=Q(severity=Alert.Severity.CRITICAL)))
    )
    return {row.pop("product_id"): row for row in rows}


def open_alerts_for_products(*, product_ids, limit_per_product: int = 20) -> dict[int, list[dict]]:
    """{product id: [open alert as plain data]}, critical first then newest, in one query."""
    from .kpis import open_alerts_for_products as alerts_by_product

    return {
        pid: [{"id": a.pk, "severity": a.severity, "severity_label": a.get_severity_display(),
               "kpi_name": a.kpi.name, "kpi_key": a.kpi.key, "kpi_id": a.kpi_id, "message": a.message,
               "opened_at": a.opened_at} for a in alerts]
        for pid, alerts in alerts_by_product(product_ids=product_ids, limit_per_product=limit_per_product).items()
    }


def model_promotions_between(*, product_ids, start: datetime, end: datetime, limit: int = 50) -> list[dict]:
    """Versions promoted to production in [start, end) for these products, newest first (one query)."""
    from kpis.ml.models import ModelVersion, StageTransition

    rows = (
        StageTransition.objects.filter(version__model__product_id__in=list(product_ids),
                                       to_stage=ModelVersion.Stage.PRODUCTION, at__gte=start, at__lt=end)
        .order_by("-at", "-id")
        .values("at", "version__version", "version__model_id", "version__model__name", "version__model__product_id")
        [:limit]
    )
    return [
        {"at": r["at"], "version": r["version__version"], "model_id": r["version__model_id"],
         "model_name": r["version__model__name"], "product_id": r["version__model__product_id"]}
        for r in rows
    ]
