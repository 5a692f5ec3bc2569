"""The portfolio: what every product a user may see looks like over a period.

Everything here reads; the page, the CSV export and the weekly digest are all
built from `portfolio_for_user`, so they can never disagree, and none of them
can show a product the user is not a member of (staff see all).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from pmhub import numbers
from pmhub.dates import date_text
from kpis.selectors.portfolio import AT_RISK, NO_DATA, OFF_TRACK, ON_TRACK, STATUS_LABELS
from products.selectors import product_list_for_user

from portfolio import charts, links, sources
from portfolio.periods import Period, period_for

RAG = {OFF_TRACK: "red", AT_RISK: "amber", ON_TRACK: "green", NO_DATA: "grey"}


@dataclass
class SummaryLine:
    kind: str  # threshold, shipped, promoted, move, alert
    text: str
    url: str
    product: str


@dataclass
class ProductRow:
    product: object
    url: str
    kpis: list = field(default_factory=list)
    roadmap: dict = field(default_factory=dict)
    models: list = field(default_factory=list)
    feedback: dict | None = None
    alerts: dict = field(default_factory=dict)
    alert_list: list = field(default_factory=list)
    links: dict = field(default_factory=dict)
    status: str = NO_DATA
    attention: float = 0.0
    reasons: list = field(default_factory=list)

    @property
    def rag(self) -> str:
        return RAG[self.status]

    @property
    def status_label(self) -> str:
        return {OFF_TRACK: "Needs attention", AT_RISK: "Watch", ON_TRACK: "On track", NO_DATA: "No data yet"}[self.status]

    def kpi_counts(self) -> dict[str, int]:
        counts = {OFF_TRACK: 0, AT_RISK: 0, ON_TRACK: 0, NO_DATA: 0}
        for k in self.kpis:
            counts[k.status] += 1
        return counts


@dataclass
class Portfolio:
    period: Period
    rows: list
    summary: list
    parts: dict
    generated_at: datetime

    @property
    def status_counts(self) -> dict[str, int]:
        counts = {OFF_TRACK: 0, AT_RISK: 0, ON_TRACK: 0, NO_DATA: 0}
        for row in self.rows:
            counts[row.status] += 1
        return counts


def _assess(row: ProductRow) -> None:
    """Status of a product, how urgently it needs a look, and why (in words)."""
    counts = row.kpi_counts()
    reasons, score = [], 0.0
    if counts[OFF_TRACK]:
        reasons.append(f"{counts[OFF_TRACK]} KPI{'s' if counts[OFF_TRACK] != 1 else ''} off track")
        score += 100 * counts[OFF_TRACK]
    critical = row.alerts.get("critical", 0)
    open_alerts = row.alerts.get("open", 0)
    if open_alerts:
        reasons.append(f"{open_alerts} open alert{'s' if open_alerts != 1 else ''}")
        score += 60 * critical + 30 * (open_alerts - critical)
    if counts[AT_RISK]:
        reasons.append(f"{counts[AT_RISK]} KPI{'s' if counts[AT_RISK] != 1 else ''} at risk")
        score += 20 * counts[AT_RISK]
    regressed = [m for m in row.models if m.get("improved") is False]
    if regressed:
        reasons.append(f"production model {regressed[0]['model_name']} worse than the previous version")
        score += 25 * len(regressed)
    slipping = row.roadmap.get("slipping", 0)
    if slipping:
        reasons.append(f"{slipping} roadmap item{'s' if slipping != 1 else ''} past target date")
        score += 10 * slipping
    negative_feedback = bool(row.feedback and row.feedback.get("count")
                             and row.feedback.get("negative", 0) * 2 > row.feedback["count"])
    if negative_feedback:
        reasons.append("mostly negative feedback")
        score += 15
    if counts[OFF_TRACK] or critical:
        status = OFF_TRACK
    elif counts[AT_RISK] or open_alerts or regressed or slipping or negative_feedback:
        status = AT_RISK
    elif counts[ON_TRACK]:
        status = ON_TRACK
    else:
        status = NO_DATA
    if counts[NO_DATA] and row.kpis:
        score += 1  # a KPI nobody feeds deserves a look, after everything above
    row.status, row.attention, row.reasons = status, score, reasons


def portfolio_for_user(*, user, period: str | None = None, now: datetime | None = None,
                       product_ids: list[int] | None = None) -> Portfolio:
    """The portfolio of every product the user may see, most in need of attention first."""
    per = period_for(period, now=now)
    products = list(product_list_for_user(user=user).only("id", "name", "slug", "business_objective", "description", "status"))
    if product_ids is not None:
        products = [p for p in products if p.pk in set(product_ids)]
    ids = [p.pk for p in products]
    today = timezone.localdate(per.end)
    kpis = sources.kpi_headlines(product_ids=ids, start=per.start, end=per.end) if ids else {}
    roadmap = sources.roadmap_progress(product_ids=ids, start=per.start, end=per.end, today=today) if ids else {}
    models = sources.model_health(product_ids=ids, start=per.start, end=per.end) if ids else {}
    alerts = sources.open_alerts(product_ids=ids) if ids else {}
    alert_list = sources.open_alert_list(product_ids=ids) if ids else {}
    feedback = sources.feedback_summary(user=user, product_ids=ids, start=per.start, end=per.end) if ids else {}
    parts = {"models": True, "feedback": True, "alerts": True}

    rows = []
    for product in products:
        slug = product.slug
        cards = kpis.get(product.pk, [])
        for card in cards:
            card.url = links.kpi_url(slug, card.id, card.key)
            card.rag = RAG[card.status]
            card.spark_svg = charts.sparkline_points(card.spark)
        model_list = []
        for m in models.get(product.pk, []):
            m = dict(m)
            m.setdefault("url", links.model_url(slug, m.get("model_id")))
            if m.get("value") is not None and m.get("previous_value") is not None:
                delta = m["value"] - m["previous_value"]
                m["change"] = delta
                m["improved"] = None if delta == 0 else (delta > 0) == bool(m.get("higher_is_better", True))
            model_list.append(m)
        row = ProductRow(
            product=product,
            url=links.product_url(slug),
            kpis=cards,
            roadmap=roadmap.get(product.pk, {"shipped": 0, "in_progress": 0, "slipping": 0}),
            models=model_list,
            feedback=feedback.get(product.pk),
            alerts=alerts.get(product.pk, {"open": 0, "critical": 0}),
            alert_list=[{**a, "url": links.kpi_url(slug, a["kpi_id"], a["kpi_key"])}
                        for a in alert_list.get(product.pk, [])],
            links={
                "shipped": links.roadmap_url(slug, "shipped"),
                "in_progress": links.roadmap_url(slug, "in_progress"),
                "slipping": links.roadmap_url(slug),
                "alerts": links.alerts_url(slug),
                "feedback": links.feedback_url(slug),
                "feedback_negative": links.feedback_url(slug, sentiment="negative"),
                "feedback_positive": links.feedback_url(slug, sentiment="positive"),
                "kpis": links.first_url(("kpis:product", {"slug": slug})) or links.product_url(slug),
                "models": links.model_url(slug),
            },
        )
        _assess(row)
        rows.append(row)
    # "Needs attention" before "Watch" before the rest, then the most urgent first.
    band = {OFF_TRACK: 0, AT_RISK: 1}
    rows.sort(key=lambda r: (band.get(r.status, 2), -r.attention, r.product.name.lower()))
    summary = period_summary(rows=rows, period=per, product_ids=ids)
    return Portfolio(period=per, rows=rows, summary=summary, parts=parts, generated_at=per.end)


def fmt_value(value, unit: str = "") -> str:
    """A number as a person reads it, with its unit: 12.3 / 0.123 / 4.5k / 999.9T (pmhub/numbers.py)."""
    return numbers.value_text(value, unit)


def fmt_change_parts(card) -> tuple[str, str]:
    """A KPI's change as (difference, relative): ("+2.4 min", "+8.5%"), ("+3.9 pp", ""), ("—", "")."""
    if card.change is None:
        return "—", ""
    sign = "+" if card.change > 0 else ("−" if card.change < 0 else "±")
    if card.unit == "%":  # a change of a percentage is in percentage points
        return sign + numbers.value_text(abs(card.change), "pp"), ""
    relative = f"{sign}{abs(card.change_pct):.1f}%" if card.change_pct is not None else ""
    return sign + fmt_value(abs(card.change), card.unit), relative


def fmt_change(card) -> str:
    difference, relative = fmt_change_parts(card)
    return f"{difference} ({relative})" if relative else difference


def period_summary(*, rows, period: Period, product_ids) -> list[SummaryLine]:
    """What happened in the period, in sentences built only from the data."""
    lines: list[SummaryLine] = []
    by_id = {row.product.pk: row for row in rows}
    # 1. KPIs whose status changed between the start and the end of the period.
    for row in rows:
        for card in row.kpis:
            if card.start_value is None or card.latest is None or card.status == card.start_status:
                continue
            target = f"; target {fmt_value(card.target, card.unit)}" if card.target is not None else ""
            lines.append(SummaryLine(
                kind="threshold", product=row.product.name, url=card.url,
                text=(f"{row.product.name}: {card.name} went from {STATUS_LABELS[card.start_status].lower()} to "
                      f"{STATUS_LABELS[card.status].lower()} ({fmt_value(card.start_value, card.unit)} → "
                      f"{fmt_value(card.latest, card.unit)}{target})."),
            ))
    # 2. Roadmap items shipped.
    for item in sources.roadmap_shipped(product_ids=product_ids, start=period.start, end=period.end) if product_ids else []:
        row = by_id.get(item["product_id"])
        if row is None:
            continue
        when = date_text(item["shipped_at"])
        lines.append(SummaryLine(
            kind="shipped", product=row.product.name, url=links.roadmap_item_url(row.product.slug, item["id"]),
            text=f"{row.product.name} shipped “{item['title']}” on {when}.",
        ))
    # 3. Model versions promoted to production.
    for promo in sources.model_promotions(product_ids=product_ids, start=period.start, end=period.end) if product_ids else []:
        row = by_id.get(promo["product_id"])
        if row is None:
            continue
        when = date_text(promo["at"])
        lines.append(SummaryLine(
            kind="promoted", product=row.product.name,
            url=promo.get("url") or links.model_url(row.product.slug, promo.get("model_id")),
            text=f"{row.product.name}: {promo['model_name']} {promo['version']} was promoted to production on {when}.",
        ))
    # 4. The biggest KPI moves (relative), at most three.
    moves = [(row, card) for row in rows for card in row.kpis if card.change_pct is not None and card.change]
    moves.sort(key=lambda rc: -abs(rc[1].change_pct))
    for row, card in moves[:3]:
        way = "better" if card.improved else "worse"
        lines.append(SummaryLine(
            kind="move", product=row.product.name, url=card.url,
            text=(f"{row.product.name}: {card.name} moved {fmt_change(card)} {period.phrase}, "
                  f"from {fmt_value(card.start_value, card.unit)} to {fmt_value(card.latest, card.unit)} ({way})."),
        ))
    return lines


def portfolio_csv_rows(portfolio: Portfolio):
    """The portfolio as CSV rows: a header, then one row per headline KPI (one per product without any)."""
    yield [
        "product", "product_status", "business_objective", "kpi", "unit", "latest", "target", "kpi_status",
        f"change_{portfolio.period.key}", "change_pct", "roadmap_shipped", "roadmap_in_progress",
        "roadmap_slipping", "production_models", "feedback_count", "feedback_negative", "open_alerts",
        "period_start", "period_end",
    ]
    for row in portfolio.rows:
        models = "; ".join(
            f"{m['model_name']} {m.get('version', '')} {m.get('metric', '')}={'' if m.get('value') is None else round(m['value'], 6)}".strip()
            for m in row.models
        )
        common_tail = [
            row.roadmap.get("shipped", 0), row.roadmap.get("in_progress", 0), row.roadmap.get("slipping", 0),
            models, "" if row.feedback is None else row.feedback.get("count", 0),
            "" if row.feedback is None else row.feedback.get("negative", 0), row.alerts.get("open", 0),
            portfolio.period.start.isoformat(timespec="seconds"), portfolio.period.end.isoformat(timespec="seconds"),
        ]
        head = [row.product.name, row.status_label, row.product.business_objective]
        if not row.kpis:
            yield [*head, "", "", "", "", "", "", "", *common_tail]
        for card in row.kpis:
            yield [
                *head, card.name, card.unit, _num(card.latest), _num(card.target), STATUS_LABELS[card.status],
                _num(card.change), "" if card.change_pct is None else round(card.change_pct, 2), *common_tail,
            ]


def _num(value):
    return "" if value is None else round(value, 6)
