"""Helpers to make KPIs and points in tests."""
from datetime import datetime, timedelta, timezone

from kpis.models import KPI
from kpis.timeseries.models import Series
from kpis.timeseries.services import PointIn, series_points_upsert

UTC = timezone.utc


def make_kpi(product, key="conversion", **fields) -> KPI:
    series = Series.objects.create(kind=Series.Kind.KPI, key=key)
    defaults = {"name": key.replace("-", " ").title(), "direction": KPI.Direction.HIGHER}
    defaults.update(fields)
    return KPI.objects.create(product=product, key=key, series=series, **defaults)


def add_points(kpi, values, *, start=None, step=timedelta(minutes=1)):
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    points = [PointIn(ts=start + i * step, value=float(v)) for i, v in enumerate(values)]
    series_points_upsert(series=kpi.series_id, points=points)
    return points
