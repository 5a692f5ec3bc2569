"""Reads for AI models: lists with visibility applied, final values, curves, comparisons.

"Final value" of a metric of a version: the value at its highest step, the latest
timestamp breaking ties (for a training curve the last step, for an evaluation
logged without steps the latest evaluation). The database picks them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from kpis.ml.models import AIModel, ModelMetric, ModelVersion, StageTransition
from kpis.timeseries.models import Point
from products.selectors import product_list_for_user

Stage = ModelVersion.Stage
CURVE_MAX_POINTS = 1000


@dataclass(frozen=True, slots=True)
class FinalValue:
    value: float
    step: int
    ts: datetime


# --- lists ------------------------------------------------------------------------------


def aimodel_list_for_user(*, user, product=None) -> QuerySet[AIModel]:
    """Models of products the user may see, with `production_version` (label or None) annotated."""
    production = ModelVersion.objects.filter(model=OuterRef("pk"), stage=Stage.PRODUCTION)
    qs = (AIModel.objects.filter(product__in=product_list_for_user(user=user).values("pk"))
          .select_related("product")
          .annotate(production_version=Subquery(production.values("version")[:1]),
                    production_version_id=Subquery(production.values("pk")[:1])))
    if product is not None:
        qs = qs.filter(product=product)
    return qs.order_by("product__name", "name")


def aimodel_get_for_user(*, user, pk: int, product=None) -> AIModel:
    """The model if the user may see it; raises AIModel.DoesNotExist otherwise."""
    return aimodel_list_for_user(user=user, product=product).get(pk=pk)


def model_version_list_for_user(*, user, model=None) -> QuerySet[ModelVersion]:
    qs = (ModelVersion.objects.filter(model__product__in=product_list_for_user(user=user).values("pk"))
          .select_related("model", "model__product", "created_by"))
    if model is not None:
        qs = qs.filter(model=model)
    return qs.order_by("model_id", "created_at", "id")


def version_counts(*, product) -> dict[int, int]:
    """model id -> number of versions, for one product's models."""
    return dict(ModelVersion.objects.filter(model__product=product).order_by().values("model_id")
                .annotate(n=Count("id")).values_list("model_id", "n"))


def model_versions(*, model: AIModel) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(model=model).select_related("created_by").order_by("created_at", "id"))


def stage_history(*, model: AIModel, limit: int = 100) -> list[StageTransition]:
    return list(StageTransition.objects.filter(version__model=model)
                .select_related("version", "actor").order_by("-at", "-id")[:limit])


def metric_keys(*, version_ids) -> list[str]:
    return sorted(set(ModelMetric.objects.filter(version_id__in=list(version_ids)).values_list("key", flat=True)))


def metric_series_id(*, version: ModelVersion, key: str) -> int | None:
    return ModelMetric.objects.filter(version=version, key=key).values_list("series_id", flat=True).first()


def metric_series_ids(*, version_id: int, keys) -> dict[str, int]:
    """key -> series id of those of keys the version has (a new key has none yet).

    On a metric write's path (log-batch): one indexed query, written out on
    PostgreSQL, where building it with the ORM cost more than running it.
    """
    keys = list(keys)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT key, series_id FROM {ModelMetric._meta.db_table} "
                           "WHERE version_id = %s AND key = ANY(%s)", [version_id, keys])
            return dict(cursor.fetchall())
    return dict(ModelMetric.objects.filter(version_id=version_id, key__in=keys).values_list("key", "series_id"))


# --- values --------------------------------------------------------------------------------


def _in_clause(values) -> tuple[str, list]:
    values = list(values)
    return ", ".join(["%s"] * len(values)), values


def final_values(*, version_ids, keys=None) -> dict[tuple[int, str], FinalValue]:
    """(version_id, key) -> FinalValue for every metric of the versions (or only keys). Two queries."""
    links = ModelMetric.objects.filter(version_id__in=list(version_ids))
    if keys is not None:
        links = links.filter(key__in=list(keys))
    series = {sid: (vid, key) for vid, key, sid in links.values_list("version_id", "key", "series_id")}
    if not series:
        return {}
    placeholders, params = _in_clause(series)
    table = Point._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT series_id, value, step, ts FROM (SELECT series_id, value, step, ts, row_number() OVER "
            f"(PARTITION BY series_id ORDER BY step DESC, ts DESC) AS rn FROM {table} "
            f"WHERE series_id IN ({placeholders})) latest WHERE rn = 1",
            params,
        )
        rows = cursor.fetchall()
    convert = _ts_converter()
    return {series[sid]: FinalValue(value=value, step=step, ts=convert(ts)) for sid, value, step, ts in rows}


def _ts_converter():
    if connection.vendor == "sqlite":
        from django.utils.dateparse import parse_datetime
        from datetime import timezone as dt_timezone

        def convert(raw):
            if isinstance(raw, datetime):
                return raw if raw.tzinfo else raw.replace(tzinfo=dt_timezone.utc)
            ts = parse_datetime(raw)
            return ts if ts.tzinfo else ts.replace(tzinfo=dt_timezone.utc)

        return convert
    return lambda ts: ts


def final_value(*, version: ModelVersion, key: str) -> FinalValue | None:
    return final_values(version_ids=[version.pk], keys=[key]).get((version.pk, key))


def best_version_ids(*, values: dict[tuple[int, str], FinalValue], key: str, higher_is_better: bool) -> set[int]:
    """The version(s) with the best final value of key (ties all count)."""
    candidates = {vid: fv.value for (vid, k), fv in values.items() if k == key}
    if not candidates:
        return set()
    best = max(candidates.values()) if higher_is_better else min(candidates.values())
    return {vid for vid, v in candidates.items() if v == best}


def lower_is_better_key(key: str) -> bool:
    """Keys whose name says smaller is better (loss, error, perplexity, latency...)."""
    k = key.lower()
    return any(word in k for word in ("loss", "error", "err", "mae", "mse", "rmse", "mape", "perplexity", "toxic",
                                      "latency", "wer", "cer", "brier", "logloss"))


def higher_is_better_for(model: AIModel, key: str) -> bool:
    if model.primary_metric and key == model.primary_metric:
        return model.higher_is_better
    return not lower_is_better_key(key)


# --- history and curves ------------------------------------------------------------------------


def metric_history_raw(*, series_id: int, limit: int = 10_000, start_step: int | None = None) -> list[tuple]:
    """(step, ts, value) ordered by step then ts; at most limit rows."""
    qs = Point.objects.filter(series_id=series_id)
    if start_step is not None:
        qs = qs.filter(step__gte=start_step)
    return list(qs.order_by("step", "ts").values_list("step", "ts", "value")[:limit])


@dataclass(frozen=True, slots=True)
class StepBucket:
    step: int  # the last step in the bucket
    avg: float
    min: float
    max: float
    count: int


def metric_step_buckets(*, series_id: int, max_points: int = CURVE_MAX_POINTS) -> list[StepBucket]:
    """The curve over steps in at most max_points buckets (avg/min/max), computed by the database."""
    table = Point._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), min(step), max(step) FROM {table} WHERE series_id = %s", [series_id])
        count, lo, hi = cursor.fetchone()
        if not count:
            return []
        if count <= max_points:
            cursor.execute(f"SELECT step, avg(value), min(value), max(value), count(*) FROM {table} "
                           f"WHERE series_id = %s GROUP BY step ORDER BY step", [series_id])
        else:
            width = max(1, math.ceil((hi - lo + 1) / max_points))
            cursor.execute(
                f"SELECT max(step), avg(value), min(value), max(value), count(*) FROM {table} "
                f"WHERE series_id = %s GROUP BY (step - %s) / %s ORDER BY 1",
                [series_id, lo, width],
            )
        return [StepBucket(int(s), a, mn, mx, c) for s, a, mn, mx, c in cursor.fetchall()]


# --- the model page ----------------------------------------------------------------------------------


@dataclass
class Comparison:
    versions: list
    keys: list
    final: dict  # (version_id, key) -> FinalValue
    best: dict  # key -> set of version ids
    higher_is_better: dict  # key -> bool
    curves: dict = field(default_factory=dict)  # key -> [(version, [StepBucket])]


def model_comparison(*, model: AIModel, curve_points: int = CURVE_MAX_POINTS) -> Comparison:
    """Everything the model page compares: final values per version and key, the best, curves."""
    versions = model_versions(model=model)
    ids = [v.pk for v in versions]
    links = list(ModelMetric.objects.filter(version_id__in=ids).values_list("version_id", "key", "series_id"))
    keys = sorted({k for _, k, _ in links}, key=lambda k: (k != model.primary_metric, k))
    final = final_values(version_ids=ids)
    hib = {k: higher_is_better_for(model, k) for k in keys}
    best = {k: best_version_ids(values=final, key=k, higher_is_better=hib[k]) for k in keys}
    by_id = {v.pk: v for v in versions}
    curves: dict[str, list] = {}
    for vid, key, sid in sorted(links, key=lambda row: (row[1], ids.index(row[0]))):
        buckets = metric_step_buckets(series_id=sid, max_points=curve_points)
        if len(buckets) > 1:  # a curve needs more than one step
            curves.setdefault(key, []).append((by_id[vid], buckets))
    curves = {k: curves[k] for k in keys if k in curves}
    return Comparison(versions=versions, keys=keys, final=final, best=best, higher_is_better=hib, curves=curves)


# --- production summaries (product page panel, portfolio) ------------------------------------------


@dataclass(frozen=True)
class ProductionSummary:
    model: AIModel
    version: ModelVersion | None
    metric: str
    value: float | None
    previous_version: ModelVersion | None
    previous_value: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous_value is None:
            return None
        return self.value - self.previous_value

    @property
    def improved(self) -> bool | None:
        """True when the change goes the good way for this metric, None when unknown or zero."""
        change = self.change
        if not change:
            return None
        return (change > 0) == self.model.higher_is_better


def production_summaries(*, products) -> dict[int, list[ProductionSummary]]:
    """product id -> one summary per model: production version, its primary metric, and the change
    since the previous production version. A fixed number of queries whatever the number of products."""
    product_ids = [getattr(p, "pk", p) for p in products]
    models = list(AIModel.objects.filter(product_id__in=product_ids).order_by("product_id", "name")
                  .prefetch_related(Prefetch("versions", queryset=ModelVersion.objects.filter(stage=Stage.PRODUCTION),
                                             to_attr="production")))
    current = {m.pk: (m.production[0] if m.production else None) for m in models}
    # The previous production version: the latest one promoted to production before the current one.
    promotions = (StageTransition.objects.filter(version__model_id__in=[m.pk for m in models], to_stage=Stage.PRODUCTION)
                  .select_related("version").order_by("-at", "-id"))
    previous: dict[int, ModelVersion] = {}
    for t in promotions:
        mid = t.version.model_id
        cur = current.get(mid)
        if mid in previous or cur is None or t.version_id == cur.pk:
            continue
        previous[mid] = t.version
    wanted_versions = [v.pk for v in current.values() if v] + [v.pk for v in previous.values()]
    keys = {m.primary_metric for m in models if m.primary_metric}
    values = final_values(version_ids=wanted_versions, keys=keys) if wanted_versions and keys else {}
    out: dict[int, list[ProductionSummary]] = {pid: [] for pid in product_ids}
    for m in models:
        cur, prev = current[m.pk], previous.get(m.pk)
        value = values.get((cur.pk, m.primary_metric)) if cur else None
        prev_value = values.get((prev.pk, m.primary_metric)) if prev else None
        out[m.product_id].append(ProductionSummary(
            model=m, version=cur, metric=m.primary_metric,
            value=value.value if value else None, previous_version=prev,
            previous_value=prev_value.value if prev_value else None,
        ))
    return out


def production_summaries_for_user(*, user, products=None) -> dict[int, list[ProductionSummary]]:
    """Like production_summaries, restricted to products the user may see."""
    visible = product_list_for_user(user=user)
    if products is not None:
        visible = visible.filter(pk__in=[getattr(p, "pk", p) for p in products])
    return production_summaries(products=list(visible.values_list("pk", flat=True)))
