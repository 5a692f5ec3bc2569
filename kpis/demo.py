"""Demo KPIs: three per demo product, each with a year of hourly history, objectives,
links to shipped roadmap items, and a KPI past its threshold so an alert shows."""
import math
import random
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kpis.ml import demo as ml_demo
from kpis.models import KPI, Objective
from kpis.sources import demo as sources_demo
from kpis.timeseries.models import Series
from kpis.timeseries.services import PointIn, series_points_upsert

DAYS = 365

# product slug -> [(key, name, unit, category, direction, target, warning, critical, base, trend per year,
#                  daily swing, noise, step at ship)]
DEMO_KPIS = {
    "smart-reply": [
        ("first-response-time", "Median first response time", " min", "engagement", "lower", 30, 40, 55,
         52, -14, 6, 2.5, -6),
        ("suggestion-acceptance", "Suggestion acceptance rate", "%", "engagement", "higher", 35, 28, 20,
         24, 9, 3, 1.2, 4),
        ("csat", "Support CSAT", "%", "conversion", "higher", 90, 85, 80, 88, 1.5, 1, 0.8, 0.5),
    ],
    "churn-radar": [
        # Trending the wrong way: past its warning threshold, so an alert is open.
        ("logo-churn", "Monthly logo churn", "%", "revenue", "lower", 1.8, 2.2, 2.6, 2.1, 0.35, 0.05, 0.04, 0),
        ("at-risk-contacted", "At-risk accounts contacted", "%", "conversion", "higher", 80, 60, 40,
         45, 30, 4, 3, 8),
        ("churn-model-auc", "Churn model AUC", "", "model", "higher", 0.85, 0.8, 0.75, 0.79, 0.05, 0.002, 0.004, 0.01),
    ],
    "search-ranking": [
        ("search-conversion", "Search-to-purchase conversion", "%", "conversion", "higher", 4.4, 3.8, 3.4,
         3.9, 0.4, 0.35, 0.12, 0.15),
        ("zero-result-rate", "Zero-result searches", "%", "engagement", "lower", 2, 3, 5, 3.6, -1.2, 0.3, 0.15, -0.4),
        ("ndcg-10", "NDCG@10", "", "model", "higher", 0.62, 0.55, 0.5, 0.57, 0.05, 0.004, 0.006, 0.02),
    ],
}


def _history(spec, *, end: datetime, seed: int, ship_at: datetime | None):
    (_key, _name, _unit, _cat, _dir, _t, _w, _c, base, trend, swing, noise, step) = spec
    rng = random.Random(seed)
    start = end - timedelta(days=DAYS)
    hours = DAYS * 24
    points = []
    for h in range(hours):
        ts = start + timedelta(hours=h)
        value = base + trend * h / hours + swing * math.sin(2 * math.pi * (ts.hour - 6) / 24) + rng.gauss(0, noise)
        value += 0.5 * swing * math.sin(2 * math.pi * h / (24 * 7))
        if ship_at is not None and ts >= ship_at:
            value += step
        points.append(PointIn(ts=ts, value=round(value, 4)))
    return points


def seed(ctx):
    from products.roadmap.models import RoadmapItem

    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    today = date.today()
    for index, product in enumerate(ctx.products):
        specs = DEMO_KPIS.get(product.slug, [])
        if not specs:
            continue
        objective = Objective.objects.filter(product=product).first()
        if objective is None:
            objective = Objective.objects.create(
                product=product, title=(product.business_objective or product.name)[:200],
                description="Key results are the KPIs below.",
                start_date=date(today.year, 1, 1), end_date=date(today.year, 12, 31))
            ctx.note(f"objective for {product.slug}")
        shipped = list(RoadmapItem.objects.filter(product=product, shipped_at__isnull=False).order_by("shipped_at")[:2])
        for n, spec in enumerate(specs):
            key, name, unit, category, direction, target, warning, critical = spec[:8]
            if KPI.objects.filter(product=product, key=key).exists():
                continue
            item = shipped[n % len(shipped)] if shipped and n < 2 else None
            ship_at = item.shipped_at if item else end - timedelta(days=120)
            with transaction.atomic():
                series = Series.objects.create(kind=Series.Kind.KPI, key=key)
                kpi = KPI.objects.create(
                    product=product, series=series, key=key, name=name, unit=unit.strip() if unit == "%" else unit,
                    category=category, direction=direction, target=target, warning_threshold=warning,
                    critical_threshold=critical, objective=objective if n < 2 else None, headline=n < 2,
                    pending_minutes=60 if n == 0 else 0,
                    description=f"Demo KPI with a year of hourly history for {product.name}.")
                if item is not None:
                    kpi.roadmap_items.add(item)
                series_points_upsert(series=series, points=_history(spec, end=end, seed=index * 10 + n,
                                                                   ship_at=ship_at))
            ctx.note(f"KPI {product.slug}/{key} with {DAYS * 24} hourly points")
    _evaluate_demo_alerts(ctx)
    ml_demo.seed(ctx)  # AI models, versions, metrics (kpis/ml/demo.py)
    sources_demo.seed(ctx)  # paused metric sources with history (kpis/sources/demo.py)


def _evaluate_demo_alerts(ctx):
    from kpis.services.alerts import kpi_evaluate

    for kpi in KPI.objects.filter(product__in=ctx.products).select_related("product"):
        if not kpi.alerts.exists():
            alert = kpi_evaluate(kpi=kpi)
            if alert is not None:
                ctx.note(f"alert on {kpi.product.slug}/{kpi.key}")
