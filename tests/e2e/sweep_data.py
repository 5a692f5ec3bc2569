"""Hostile-but-valid data for the browser sweep: what the forms and the API accept, at its edges.

`edge_world(users)` adds two products next to the demo data, with the demo users as members
in their demo roles:
- "edge": 200-character titles without a space, names and themes at their maximum length,
  roadmap items and an objective dated 1900-01-01 to 2199-12-31, the largest reach and
  effort the policy accepts (1,000,000,000 and 99,999), a dozen items at effort 3-4 (labels that could overlap), a KPI with huge
  values and thresholds, a model version with 20 metric columns, long feedback, a paused
  source;
- "empty": a product with nothing in it.
Writes go through the services; dates at the agreed bounds (1900-01-01 .. 2199-12-31) are set
through the ORM where a service would refuse them, so the pages must survive them either way.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from pmhub import limits

FIRST_DAY = limits.DATE_MIN
LAST_DAY = limits.DATE_MAX


def unbroken(prefix: str, length: int) -> str:
    """A word of `length` characters with no space or hyphen to break at."""
    body = "Supercalifragilisticexpialidocious"
    return (prefix + body * (length // len(body) + 2))[:length]


@dataclass
class Edge:
    product: object
    empty: object
    item: object
    kpi: object
    aimodel: object
    version: object
    feedback: object
    source: object
    long_sprint: object


def edge_world(*, pm, ds, viewer) -> Edge:
    from feedback.services import feedback_create
    from kpis.ml.services import aimodel_create, model_metrics_log, model_version_create, model_version_promote
    from kpis.services.kpis import kpi_create, kpi_points_ingest, objective_create
    from kpis.sources.services import source_create
    from kpis.timeseries.services import PointIn
    from products.models import Membership
    from products.roadmap.models import RoadmapItem
    from products.roadmap.services import roadmap_item_create
    from products.services import product_create
    from products.sprints.models import Sprint
    from products.sprints.services import sprint_create, sprint_start, work_item_create
    from kpis.models import Objective

    product = product_create(actor=pm, name=unbroken("Edge", 120), slug="edge",
                             description=unbroken("Description", 600),
                             business_objective=unbroken("Objective", 300))
    empty = product_create(actor=pm, name="Empty product", slug="empty")
    for p in (product, empty):
        Membership.objects.get_or_create(user=ds, product=p, defaults={"role": "data_scientist"})
        Membership.objects.get_or_create(user=viewer, product=p, defaults={"role": "viewer"})

    today = timezone.localdate()
    item = roadmap_item_create(actor=pm, product=product, title=unbroken("Title", 200), theme=unbroken("Theme", 80),
                               description=unbroken("Text", 2000), status="in_progress", horizon="now",
                               reach=limits.REACH_MAX, impact=3, confidence=100, effort=limits.EFFORT_MAX)
    RoadmapItem.objects.filter(pk=item.pk).update(start_date=FIRST_DAY, target_date=LAST_DAY)
    far = roadmap_item_create(actor=pm, product=product, title="Far future launch", theme="Edges", status="planned",
                              horizon="later", reach=10, impact=1, confidence=50, effort=1)
    RoadmapItem.objects.filter(pk=far.pk).update(start_date=LAST_DAY - dt.timedelta(days=30), target_date=LAST_DAY)
    old = roadmap_item_create(actor=pm, product=product, title="Shipped long ago", theme="Edges", status="shipped",
                              horizon="now", reach=5, impact=0.5, confidence=50, effort=2)
    RoadmapItem.objects.filter(pk=old.pk).update(start_date=FIRST_DAY, target_date=FIRST_DAY + dt.timedelta(days=60))
    for n in range(12):  # a crowd at effort 3-4, impact 2-3: labels that must not pile up
        roadmap_item_create(actor=pm, product=product, title=f"Crowded item number {n} with a long title",
                            status="planned", horizon=("now", "next", "later")[n % 3], reach=100 * (n + 1),
                            impact=(2, 3)[n % 2], confidence=80, effort=str(3 + (n % 5) * 0.25),
                            start_date=today + dt.timedelta(days=7 * n),
                            target_date=today + dt.timedelta(days=7 * n + 30))

    sprint = sprint_create(actor=pm, product=product, name=unbroken("Sprint", 120), goal=unbroken("Goal", 300),
                           start_date=today - dt.timedelta(days=3), end_date=today + dt.timedelta(days=10))
    work_item_create(actor=pm, product=product, title=unbroken("Work", 200), sprint=sprint, points=99)
    sprint_start(actor=pm, sprint=sprint)
    work_item_create(actor=pm, product=product, title=unbroken("Backlog", 200), points=1)
    long_sprint = sprint_create(actor=pm, product=product, name="Three centuries", start_date=today,
                                end_date=today + dt.timedelta(days=14))
    Sprint.objects.filter(pk=long_sprint.pk).update(start_date=FIRST_DAY, end_date=LAST_DAY)

    objective = objective_create(actor=pm, product=product, title=unbroken("Objective", 200),
                                 start_date=today, end_date=today + dt.timedelta(days=90))
    Objective.objects.filter(pk=objective.pk).update(start_date=FIRST_DAY, end_date=LAST_DAY)
    kpi = kpi_create(actor=pm, product=product, name=unbroken("Kpi", 120), key="huge", unit="req",
                     description=unbroken("Why", 500), objective=objective, headline=True, direction="higher",
                     target=1e15, warning_threshold=5e14, critical_threshold=1e14)
    now = timezone.now()
    kpi_points_ingest(kpi=kpi, actor=pm, points=[
        PointIn(ts=now - dt.timedelta(hours=6 * i), value=1e14 * (1 + (i % 9))) for i in range(200)])
    kpi_create(actor=pm, product=product, name="No data yet", key="nodata", unit="%", target=50)
    source = source_create(actor=pm, kpi=kpi, name=unbroken("Source", 120), kind="http_json",
                           config={"url": "https://example.com/metric", "method": "GET", "json_path": "value"},
                           interval_seconds=3600, enabled=False)

    aimodel = aimodel_create(actor=ds, product=product, name=unbroken("Model", 120), primary_metric="metric_00")
    version = None
    for n in range(3):
        version = model_version_create(actor=ds, model=aimodel, version=unbroken(f"v{n}", 64),
                                       params={unbroken("param", 80): unbroken("value", 200)})
        model_metrics_log(actor=ds, version=version, entries=[
            {"key": f"metric_{m:02d}_{'x' * 20}" if m else "metric_00", "value": 0.5 + 0.01 * m + 0.02 * n,
             "step": s} for m in range(20) for s in range(3)])
    model_version_promote(actor=ds, version=version, note=unbroken("Note", 200))

    feedback = feedback_create(actor=pm, product=product, text=unbroken("Feedback", 4000),
                               stakeholder_name=unbroken("Name", 120), organisation=unbroken("Org", 120))
    return Edge(product=product, empty=empty, item=item, kpi=kpi, aimodel=aimodel, version=version,
                feedback=feedback, source=source, long_sprint=long_sprint)
