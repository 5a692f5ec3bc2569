"""Reads behind pmhub's MLflow endpoints, always limited to the products the user may see."""
from __future__ import annotations

import bisect
import functools
from collections import defaultdict

from django.db import connection
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


@functools.cache
def _run_for_write_columns():
    from kpis.ml.models import AIModel, ModelVersion
    from pmhub.rows import Joined
    from products.models import Product

    return Joined((MlflowRun, "r"), (ModelVersion, "v"), (AIModel, "a"), (Product, "p"))


def run_get_for_write(*, user, run_id: str, metric_key: str | None = None) -> MlflowRun | None:
    """A run to log into, in one query: with its version, model and product, the
    user's role on that product (kept in the per-request role cache), whether
    any KPI follows the model (run.model_has_feeds) and, given a metric key, the
    series of that key in the run (run.metric_series_id, None while the key is
    new). None when the user may not see the run's product; the caller's service
    checks the right to track.

    Log-metric asks this for every metric a training loop logs, so it replaces
    the visibility subquery and the separate role query of run_get_for_user.
    """
    from kpis.ml.models import AIModel, KpiModelFeed, ModelVersion
    from pmhub import prepared
    from pmhub.permissions import role_remember, user_can
    from pmhub.roles import Action
    from products.models import Membership, Product

    if not isinstance(run_id, str) or not run_id or len(run_id) > 32:
        return None
    # Hand-written SQL: the ORM took ~3 ms of CPU to build this query (four models,
    # three subqueries, each subquery's default ordering) for a 0.2 ms execution.
    joined = _run_for_write_columns()
    member = getattr(user, "is_authenticated", False) and not user.is_staff
    with connection.cursor() as cursor:
        prepared.execute(
            cursor, "pmhub_run_for_write",
            f"""SELECT {joined.columns},
                   EXISTS (SELECT 1 FROM {KpiModelFeed._meta.db_table} f WHERE f.model_id = a.id),
                   (SELECT mm.series_id FROM {ModelMetric._meta.db_table} mm
                    WHERE mm.version_id = v.id AND mm.key = %s LIMIT 1),
                   (SELECT ms.role FROM {Membership._meta.db_table} ms
                    WHERE ms.user_id = %s AND ms.product_id = p.id LIMIT 1)
            FROM {MlflowRun._meta.db_table} r
            JOIN {ModelVersion._meta.db_table} v ON v.id = r.version_id
            JOIN {AIModel._meta.db_table} a ON a.id = v.model_id
            JOIN {Product._meta.db_table} p ON p.id = a.product_id
            WHERE r.run_uuid = %s""",
            [metric_key, user.pk if member else None, run_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    objects, (has_feeds, series_id, role) = joined.instances(row, connection)
    run, version, model, product = objects
    version.model, model.product = model, product  # as select_related would
    run.version = version
    run.model_has_feeds, run.metric_series_id = has_feeds, series_id
    if member:
        role_remember(user, product.pk, role)
    return run if user_can(user, product, Action.VIEW) else None


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


def registered_numbers(*, model) -> dict[int, int]:
    """version id -> its MLflow registry number, for the model's registered versions."""
    from kpis.ml.mlflow.models import RegisteredVersion

    return dict(RegisteredVersion.objects.filter(model=model).values_list("version_id", "number"))


def artifact_summary_for_runs(*, runs) -> dict[str, tuple[int, int]]:
    """run id -> (files, bytes) of the run's artifacts and of the models it logged."""
    from kpis.ml.mlflow.models import ArtifactFile, LoggedModel

    out = {}
    if not runs:
        return out
    model_id = runs[0].version.model_id
    logged = dict(LoggedModel.objects.filter(source_run__in=runs).values_list("mlflow_id", "source_run__run_uuid"))
    rows = (ArtifactFile.objects.filter(model_id=model_id).values_list("path", "size"))
    for path, size in rows.iterator(chunk_size=5000):
        head, _, rest = path.partition("/")
        run_uuid = logged.get(rest.partition("/")[0]) if head == "models" else head
        if run_uuid:
            files, total = out.get(run_uuid, (0, 0))
            out[run_uuid] = (files + 1, total + size)
    return out
