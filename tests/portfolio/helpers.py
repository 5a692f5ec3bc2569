"""Data for portfolio tests, written through the store's own write path."""
from datetime import timedelta

from django.utils import timezone

from kpis.models import KPI
from kpis.timeseries.services import PointIn, series_create, series_points_upsert


def make_kpi(product, key="csat", name=None, values=None, *, days=30, unit="", direction="higher",
             target=None, warning=None, critical=None, now=None):
    """A KPI with one point a day ending now: values[0] is `days` days ago, values[-1] today."""
    series = series_create(kind="kpi", key=key)
    kpi = KPI.objects.create(product=product, series=series, name=name or key.replace("_", " ").title(), key=key,
                             unit=unit, direction=direction, target=target, warning_threshold=warning,
                             critical_threshold=critical)
    if values:
        now = now or timezone.now()
        step = timedelta(days=days) / max(len(values) - 1, 1)
        start = now - timedelta(days=days) - timedelta(minutes=1)
        series_points_upsert(series=series, points=[PointIn(ts=start + step * i, value=v) for i, v in enumerate(values)])
    return kpi
