"""Reads behind pmhub's MLflow endpoints, always limited to the products the user may see."""
from __future__ import annotations

import bisect
from collections import defaultdict

from django.db.models import OuterRef, QuerySet, Subquery

from kpis.ml.mlflow.models import MlflowRun
from kpis.ml.models import AIModel, ModelMetric
from kpis.timeseries.models import Point

MAX_HISTORY_BULK_RUNS = 100
MAX_HISTORY_BULK_RESULTS = 2500


def _visible_product_ids(user):
    from products.selectors import product_list_for_user

    return product_list_for_user(user=user).values("pk")


def experiment_list_for_user(*, user) -> QuerySet[AIModel]:
    return (AIModel.objects.filter(product__in=_visible_product_ids(user))
            .select_related("product").order_by("product__slug", "name"))


def experiment_get_for_user(*, user, experiment_id) -> AIModel | None:
    try:
        pk = int(experiment_id)
    except (TypeError, ValueError):
        return None
    return experiment_list_for_user(user=user).filter(pk=pk).first()


def experiment_get_by_name_for_user(*, user, name: str) -> AIModel | None:
    slug, sep, model_name = (name or "").partition("/")
    if not sep:
        return None
    return experiment_list_for_user(user=user).filter(product__slug=slug, name=model_name.strip()).first()


def run_list_for_user(*, user) -> QuerySet[MlflowRun]:
    return (MlflowRun.objects.filter(version__model__product__in=_visible_product_ids(user))
            .select_related("version__model__product"))


def run_get_for_user(*, user, run_id: str) -> MlflowRun | None:
    if not isinstance(run_id, str) or not run_id or len(run_id) > 32:
        return None
    return run_list_for_user(user=user).filter(run_uuid=run_id).first()


def run_latest_metrics(*, version_ids) -> dict[int, list[tuple[str, float, object, int]]]:
    """version id -> [(key, value, ts, step)]: each key's value at its highest step, latest time (as MLflow)."""
    latest = Point.objects.filter(series_id=OuterRef("series_id")).order_by("-step", "-ts")
    rows = (ModelMetric.objects.filter(version_id__in=list(version_ids))
            .annotate(v=Subquery(latest.values("value")[:1]), t=Subquery(latest.values("ts")[:1]),
                      s=Subquery(latest.values("step")[:1]))
            .order_by("version_id", "key").values_list("version_id", "key", "v", "t", "s"))
    out = defaultdict(list)
    for version_id, key, value, ts, step in rows:
        if value is not None:
            out[version_id].append((key, value, ts, step))
    return out


def run_metric_history(*, run: MlflowRun, key: str, offset: int = 0, limit: int | None = None):
    """[(ts, step, value)] of one metric of a run, ordered by step then time."""
    series_id = ModelMetric.objects.filter(version_id=run.version_id, key=key).values_list("series_id", flat=True).first()
    if series_id is None:
        return []
    qs = Point.objects.filter(series_id=series_id).order_by("step", "ts").values_list("ts", "step", "value")
    return list(qs[offset:offset + limit] if limit else qs[offset:])


def metric_history_bulk_interval(*, runs: list[MlflowRun], key: str, max_results: int,
                                 start_step: int | None = None, end_step: int | None = None):
    """[(run, ts, step, value)] sampled to about max_results steps across runs, keeping each run's
    first and last step: MLflow's own sampling (abstract_store.get_metric_history_bulk_interval)."""
    series = dict(ModelMetric.objects.filter(version_id__in=[r.version_id for r in runs], key=key)
                  .values_list("version_id", "series_id"))
    by_run = {}
    for run in runs:
        sid = series.get(run.version_id)
        by_run[run.run_uuid] = (list(Point.objects.filter(series_id=sid).order_by("step", "ts")
                                     .values_list("ts", "step", "value")) if sid else [])
    steps_per_run = [[p[1] for p in points] for points in by_run.values()]
    mins_maxes = {s for steps in steps_per_run if steps for s in (min(steps), max(steps))}
    all_steps = sorted({s for steps in steps_per_run for s in steps})
    if start_step is None and end_step is None:
        start_step, end_step = 0, (all_steps[-1] if all_steps else 0)
    mins_maxes = {s for s in mins_maxes if start_step <= s <= end_step}
    lo, hi = bisect.bisect_left(all_steps, start_step), bisect.bisect_right(all_steps, end_step)
    if hi - lo <= max_results:
        sampled = set(all_steps[lo:hi])
    else:
        interval = (hi - lo) / max_results
        sampled = {all_steps[lo + int(i * interval)] for i in range(max_results) if lo + int(i * interval) < hi}
        sampled.add(all_steps[hi - 1])
    keep = sampled | mins_maxes
    out = []
    for run in runs:
        out.extend((run, ts, step, value) for ts, step, value in by_run[run.run_uuid] if step in keep)
    return out


def run_list_for_model(*, model, limit: int = 50) -> list[MlflowRun]:
    """The model's MLflow runs, newest first (the caller has checked the model is visible)."""
    return list(MlflowRun.objects.filter(version__model=model).select_related("version", "created_by")
                .order_by("-start_time")[:limit])
