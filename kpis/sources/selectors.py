"""Reads of metric sources and their runs, visibility applied."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet

from kpis.models import KPI
from kpis.sources.adapters import adapter_for
from kpis.sources.models import MetricSource, PullRun
from kpis.sources.secrets import SecretUnreadable, secret_decrypt
from kpis.timeseries.models import Point
from products.selectors import product_list_for_user

RECENT_RUNS = 10


def source_list_for_user(*, user, product=None, kpi=None) -> QuerySet[MetricSource]:
    qs = MetricSource.objects.filter(kpi__product__in=product_list_for_user(user=user).values("pk"))
    if product is not None:
        qs = qs.filter(kpi__product=product)
    if kpi is not None:
        qs = qs.filter(kpi=kpi)
    return qs.select_related("kpi", "kpi__product").order_by("kpi__name", "name")


def source_get_for_user(*, user, pk: int, product=None) -> MetricSource:
    """Raises MetricSource.DoesNotExist when the user may not see it."""
    return source_list_for_user(user=user, product=product).get(pk=pk)


def kpi_list_for_product(*, product) -> QuerySet[KPI]:
    return KPI.objects.filter(product=product).order_by("name")


def source_runs_recent(*, source: MetricSource, limit: int = RECENT_RUNS) -> list[PullRun]:
    return list(PullRun.objects.filter(source=source).order_by("-started_at", "-id")[:limit])


def source_description(*, source: MetricSource) -> list[tuple[str, str]]:
    """What the source asks, secrets masked (never decrypted into a page)."""
    try:
        secrets = secret_decrypt(source.secret)
    except SecretUnreadable:
        return [("Secrets", "unreadable with the current key: enter them again")]
    return adapter_for(source.kind).describe(source.config, secrets)


def source_secret_names(*, source: MetricSource) -> dict:
    """Header names (values masked) and whether a DSN is stored, for forms."""
    try:
        secrets = secret_decrypt(source.secret)
    except SecretUnreadable:
        return {}
    return {"headers": sorted(secrets.get("headers", {})), "dsn": bool(secrets.get("dsn"))}


def source_secrets_masked(*, source: MetricSource) -> dict:
    """The stored secrets as the API shows them: header names with masked values, the DSN
    with its password masked; `{"unreadable": true}` when the current key cannot read them."""
    from kpis.sources.adapters.sql import masked_dsn
    from kpis.sources.secrets import mask

    try:
        secrets = secret_decrypt(source.secret)
    except SecretUnreadable:
        return {"unreadable": True}
    shown = {}
    if secrets.get("headers"):
        shown["headers"] = {name: mask(value) for name, value in sorted(secrets["headers"].items())}
    if secrets.get("dsn"):
        shown["dsn"] = masked_dsn(secrets["dsn"])
    return shown


def source_runs(*, source: MetricSource, status: str | None = None) -> QuerySet[PullRun]:
    """All runs of a source (visibility is the caller's: it got the source from source_list_for_user)."""
    qs = PullRun.objects.filter(source=source)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-started_at", "-id")


@dataclass
class SourceHealth:
    source: MetricSource
    runs: list[PullRun] = field(default_factory=list)
    description: list[tuple[str, str]] = field(default_factory=list)
    latest_points: list[tuple[datetime, float]] = field(default_factory=list)


def source_health(*, source: MetricSource, points: int = 5) -> SourceHealth:
    latest = list(Point.objects.filter(series_id=source.kpi.series_id).order_by("-ts", "-step")
                  .values_list("ts", "value")[:points])
    return SourceHealth(source=source, runs=source_runs_recent(source=source),
                        description=source_description(source=source), latest_points=latest)


def source_health_for_kpi(*, user, kpi: KPI) -> list[SourceHealth]:
    return [source_health(source=s) for s in source_list_for_user(user=user, kpi=kpi)]
