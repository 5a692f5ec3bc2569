"""A product whose every user-writable text holds script and HTML, and checks that none of it runs.

`hostile_product()` fills one product the way a malicious member (or a metric source, or a
stakeholder on the public form) could: names, descriptions, titles, themes, units, tags,
version labels, params, metric keys, usernames, error messages... each carries a payload.
`raw_payloads_in(text)` says which payload appears unescaped in an HTML page, and
`raw_payloads_in_figures(html)` which appears unescaped in the Plotly figures a page embeds
with `json_script` (plotly.js renders a subset of HTML in titles, labels, legends and hover
text, so a figure must carry escaped text).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from django.utils import timezone as dj_timezone

from tests import factories

UTC = timezone.utc
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
XSS = SCRIPT + IMG
# plotly.js renders <a href>, <b>, <span style> in chart text: a link to elsewhere in a label is the risk there.
LINK = '<a href="https://evil.example/">phish</a>'
XSS_LONG = XSS + LINK
# Fields of 24 to 40 characters get the short form.
SHORT = "<img src=x onerror=a()>"
# What must never appear unescaped (the start of each injected element).
MARKERS = ("<script>alert(1)", "<img src=x", '<a href="https://evil.example')


def xss(label: str = "", long: bool = False) -> str:
    """The payload, with a label so a failure says which field leaked (long: with a link too)."""
    return f"{label}{XSS_LONG if long else XSS}"


@dataclass
class Hostile:
    product: object
    pm: object
    kpi: object
    objective: object
    item: object
    shipped_item: object
    sprint: object
    closed_sprint: object
    work_item: object
    aimodel: object
    version: object
    feedback: object
    link: object
    feedback_import: object
    kpi_import: object
    webhook: object
    source: object
    membership: object
    token: object
    share_token: str
    portal_token: str
    theme: object = None


def raw_payloads_in(html: str) -> list[str]:
    return [m for m in MARKERS if m in html]


_JSON_SCRIPT = re.compile(r'<script id="([^"]+)" type="application/json">(.*?)</script>', re.S)


def figures_in(html: str) -> dict[str, dict]:
    """The Plotly figures (json_script blocks with data and layout) of a page, by element id."""
    found = {}
    for element_id, body in _JSON_SCRIPT.findall(html):
        try:
            value = json.loads(body)
        except ValueError:
            continue
        if isinstance(value, dict) and "data" in value and "layout" in value:
            found[element_id] = value
    return found


def strings_in(value, path="$"):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k, f"{path}.<key>")
            yield from strings_in(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_in(v, f"{path}[{i}]")


def raw_payloads_in_figure(figure) -> list[str]:
    """Paths in a figure (dict or go.Figure) whose text holds a payload unescaped."""
    if hasattr(figure, "to_plotly_json"):
        figure = json.loads(figure.to_json())
    return [f"{path}: {text[:80]}" for path, text in strings_in(figure) if raw_payloads_in(text)]


def raw_payloads_in_figures(html: str) -> list[str]:
    return [f"{fid} {leak}" for fid, fig in figures_in(html).items() for leak in raw_payloads_in_figure(fig)]


def hostile_product(slug: str = "hostile") -> Hostile:
    """One product with every text field a member, a source or a stakeholder can write set to a payload."""
    from feedback.models import Feedback, FeedbackLink, FeedbackPortal, ShipNotification, Tag
    from feedback.models import ImportJob as FeedbackImport
    from kpis.ml.mlflow.models import MlflowRun
    from kpis.ml.models import AIModel, KpiModelFeed, ModelMetric, ModelVersion, StageTransition
    from kpis.models import KPI, Alert, AlertDelivery, AlertWebhook, ImportJob, Objective
    from kpis.sources.models import MetricSource, PullRun
    from kpis.timeseries.models import Series
    from kpis.timeseries.services import PointIn, series_points_upsert
    from pmhub.models import AuditEvent
    from pmhub.services import api_token_create
    from products.models import Membership, Product
    from products.roadmap.models import RoadmapItem, RoadmapShareLink, RoadmapStatusChange
    from products.sprints.models import Sprint, SprintSnapshot, WorkItem

    now = dj_timezone.now()
    today = now.date()
    product = Product.objects.create(name=xss("product "), slug=slug, description=xss("description "),
                                     business_objective=xss("objective "))
    pm = factories.UserFactory(username=f"pm-{slug}", first_name=xss(), last_name=SHORT)
    membership = Membership.objects.create(user=pm, product=product, role="pm")
    # A member whose username itself is hostile (the admin, imports and fixtures can set any username).
    evil = factories.UserFactory(username=f"{slug}{SHORT}", email=f"evil-{slug}@example.com", first_name=xss())
    Membership.objects.create(user=evil, product=product, role="data_scientist")
    token, _ = api_token_create(user=pm, name=xss("token "))

    objective = Objective.objects.create(product=product, title=xss("objective "), description=xss(),
                                         start_date=today - timedelta(days=60), end_date=today + timedelta(days=60))
    kpi = KPI.objects.create(product=product, objective=objective, key=f"{slug}-kpi", name=xss("kpi ", long=True),
                             description=xss(), unit=SHORT, target=50, warning_threshold=30, critical_threshold=10,
                             headline=True, series=Series.objects.create(kind=Series.Kind.KPI, key=f"{slug}-kpi"))
    start = now - timedelta(days=40)
    series_points_upsert(series=kpi.series_id, points=[
        PointIn(ts=start + timedelta(hours=6 * i), value=float(20 + (i % 9))) for i in range(160)])

    item = RoadmapItem.objects.create(product=product, title=xss("item ", long=True), description=xss(), internal_notes=xss(),
                                      theme=xss("theme ")[:80], status="in_progress", horizon="now", owner=evil,
                                      start_date=today - timedelta(days=10), target_date=today + timedelta(days=20),
                                      reach=500, impact=2, confidence=80, effort=3)
    shipped = RoadmapItem.objects.create(product=product, title=xss("shipped ", long=True), theme=SHORT, status="shipped",
                                         horizon="now", shipped_at=now - timedelta(days=20),
                                         start_date=today - timedelta(days=50), target_date=today - timedelta(days=20),
                                         reach=100, impact=1, confidence=50, effort=1)
    RoadmapStatusChange.objects.create(item=item, from_status="planned", to_status="in_progress", actor=evil,
                                       changed_at=now)
    kpi.roadmap_items.add(item, shipped)
    share = RoadmapShareLink.objects.create(product=product, token=f"share-{slug}-token", created_by=pm)

    closed = Sprint.objects.create(product=product, name=xss("closed sprint ", long=True), goal=xss(), state="closed",
                                   start_date=today - timedelta(days=30), end_date=today - timedelta(days=16),
                                   committed_points=13, completed_points=8, closed_at=now - timedelta(days=16))
    sprint = Sprint.objects.create(product=product, name=xss("sprint "), goal=xss("goal "), state="active",
                                   start_date=today - timedelta(days=5), end_date=today + timedelta(days=9),
                                   started_at=now - timedelta(days=5), committed_points=8)
    for d in range(5):
        SprintSnapshot.objects.create(sprint=sprint, date=today - timedelta(days=5 - d), scope_points=8,
                                      remaining_points=8 - d)
    work_item = WorkItem.objects.create(product=product, sprint=sprint, roadmap_item=item, title=xss("work "),
                                        description=xss(), points=3, assignee=evil)
    WorkItem.objects.create(product=product, title=xss("backlog "), description=xss(), points=2)
    WorkItem.objects.create(product=product, sprint=closed, title=xss("done "), points=8, status="done",
                            completed_at=now - timedelta(days=17))

    aimodel = AIModel.objects.create(product=product, name=xss("model ", long=True), description=xss(), primary_metric=SHORT,
                                     created_by=evil)
    version = None
    for n, label in enumerate((xss("v1 "), xss("v2 "))):
        version = ModelVersion.objects.create(model=aimodel, version=label, params={xss("param "): xss()},
                                              notes=xss("notes "), created_by=evil,
                                              stage="production" if n else "development")
        for key in (SHORT, xss("metric ", long=True)):
            metric_series = Series.objects.create(kind=Series.Kind.METRIC, key=key)
            ModelMetric.objects.create(version=version, key=key, series=metric_series)
            series_points_upsert(series=metric_series.pk, points=[
                PointIn(ts=now - timedelta(minutes=10 - s), value=0.5 + 0.05 * s + 0.01 * n, step=s)
                for s in range(6)])
    StageTransition.objects.create(version=version, from_stage="development", to_stage="production", actor=evil,
                                   note=xss("note "))
    MlflowRun.objects.create(run_uuid=f"{abs(hash(slug)):032x}"[:32], version=version, start_time=now,
                             user_id=xss(), tags={xss("tag "): xss()},
                             dataset_inputs=[{"dataset": {"name": xss(), "digest": SHORT, "source": xss()}}])
    fed = KPI.objects.create(product=product, key=f"{slug}-fed", name=xss("fed "), unit="%",
                             series=Series.objects.create(kind=Series.Kind.KPI, key=f"{slug}-fed"))
    KpiModelFeed.objects.create(kpi=fed, model=aimodel, metric_key=SHORT)

    tag = Tag.objects.create(product=product, name=IMG)
    feedback = None
    for n in range(3):
        feedback = Feedback.objects.create(product=product, text=xss(f"feedback {n} "), stakeholder_name=xss(),
                                           stakeholder_email=f"a{n}@example.com", organisation=xss("org "),
                                           received_at=now - timedelta(days=3 + 5 * n), created_by=evil,
                                           sentiment=-0.5 + 0.5 * n,
                                           sentiment_label=("negative", "neutral", "positive")[n])
        feedback.tags.add(tag)
    link = FeedbackLink.objects.create(feedback=feedback, roadmap_item=item, importance=2, created_by=evil)
    FeedbackLink.objects.create(feedback=feedback, roadmap_item=shipped, importance=1)
    ShipNotification.objects.create(roadmap_item=shipped, email="a0@example.com", name=xss(), error=xss())
    from feedback.themes.models import Theme, ThemeAssignment, ThemeLink, ThemeState

    theme = Theme.objects.create(product=product, label=xss("theme "), keywords=[xss(), IMG], quote=feedback)
    ThemeState.objects.create(product=product, backend="tfidf", version=1, run_state="failed",
                              run_message=xss("run "), run_finished_at=now, run_seconds=1.5, grouped_count=3)
    for fb in Feedback.objects.filter(product=product):
        ThemeAssignment.objects.create(feedback=fb, product=product, theme=theme, similarity=0.5, vector=b"\0" * 16,
                                       state_version=1, likely_duplicate_of=feedback if fb != feedback else None)
    ThemeLink.objects.create(theme=theme, roadmap_item=item, importance=2, created_by=evil)
    portal = FeedbackPortal.objects.create(product=product, token=f"portal-{slug}-token", enabled=True)
    feedback_import = FeedbackImport.objects.create(product=product, created_by=evil, filename=xss("file "),
                                                    content=b"text\n", state="failed", message=xss(),
                                                    errors=[{"line": 2, "field": xss(), "message": xss()}])

    kpi_import = ImportJob.objects.create(kpi=kpi, created_by=evil, file="imports/none.csv", filename=xss(),
                                          state="failed", errors=[{"line": 3, "message": xss()}], error_count=1)
    webhook = AlertWebhook.objects.create(product=product, url=f"https://example.com/hook?{IMG}")
    alert = Alert.objects.create(kpi=kpi, product=product, kind="threshold", severity="warning",
                                 message=xss("alert "), value=25)
    AlertDelivery.objects.create(alert=alert, event="opened", channel="webhook", target=webhook.url, status="failed",
                                 attempts=3, last_error=xss())
    source = MetricSource.objects.create(kpi=kpi, name=xss("source "), kind="http_json", created_by=evil,
                                         config={"url": f"https://example.com/m?{IMG}", "method": "GET",
                                                 "json_path": "value"},
                                         health="failing", consecutive_failures=2, last_error=xss("error "),
                                         last_error_at=now, last_run_at=now)
    PullRun.objects.create(source=source, slot=now, status="failed", started_at=now, finished_at=now,
                           error=xss("pull "))
    AuditEvent.objects.create(actor=evil, action="membership.role_changed", product=product,
                              target_repr=xss(), data={"note": xss()})
    return Hostile(product=product, pm=pm, kpi=kpi, objective=objective, item=item, shipped_item=shipped,
                   sprint=sprint, closed_sprint=closed, work_item=work_item, aimodel=aimodel, version=version,
                   feedback=feedback, link=link, feedback_import=feedback_import, kpi_import=kpi_import,
                   webhook=webhook, source=source, membership=membership, token=token, share_token=share.token,
                   portal_token=portal.token, theme=theme)


def start_of(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)
