"""Writes for AI models: models, versions, stages (promotion) and metrics.

Metrics go through the one store (kpis.timeseries.services.series_points_upsert):
one Series of kind "metric" per (version, key), points upserted on their natural
key (series, ts, step). A retried request therefore duplicates nothing, provided
it carries the same timestamps: an entry without `ts` gets the time of the
request, so a retry of it lands on a new ts. The Python client always sends ts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kpis.ml.models import AIModel, ModelMetric, ModelVersion, StageTransition
from kpis.timeseries.models import Series
from kpis.timeseries.services import PointIn, series_delete, series_points_upsert_many
from pmhub import limits
from pmhub.audit import audit_record
from pmhub.outbox import delay_on_commit
from pmhub.permissions import require
from pmhub.roles import Action

MAX_METRIC_ENTRIES = 10_000
MAX_KEY_LENGTH = 250
MAX_ERRORS_REPORTED = 50
STEP_MIN, STEP_MAX = -(2**63), 2**63 - 1
TS_MIN = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
TS_FUTURE_SLACK = timedelta(days=1)

Stage = ModelVersion.Stage


class PromotionConflict(Exception):
    """The production version changed under the caller (another promote won the race)."""


class MetricIn(NamedTuple):  # a tuple: cheap to build 10,000 times per request
    key: str
    value: float
    step: int
    ts: datetime


@dataclass(frozen=True, slots=True)
class MetricBatch:
    """Metric entries checked already, grouped by key into store points, as the store takes
    them (kpis.ml.mlflow.services.metrics_checked builds it in its one pass)."""

    by_key: dict[str, list[PointIn]]
    count: int

    def __len__(self) -> int:
        return self.count


# --- models -------------------------------------------------------------------------


def _clean_model_fields(*, name=None, task=None, primary_metric=None):
    errors = {}
    if name is not None:
        if not name.strip():
            errors["name"] = ["Give the model a name."]
        elif len(name) > 120:
            errors["name"] = ["At most 120 characters."]
    if task is not None and task not in AIModel.Task.values:
        errors["task"] = [f"Choose one of: {', '.join(AIModel.Task.values)}."]
    if primary_metric:
        problem = _key_problem(primary_metric)
        if problem:
            errors["primary_metric"] = [problem]
    if errors:
        raise ValidationError(errors)


def aimodel_create(*, actor, product, name: str, task: str = AIModel.Task.OTHER, description: str = "",
                   primary_metric: str = "", higher_is_better: bool = True) -> AIModel:
    require(actor, product, Action.TRACK)
    name = (name or "").strip()
    _clean_model_fields(name=name, task=task, primary_metric=primary_metric)
    if AIModel.objects.filter(product=product, name=name).exists():
        raise ValidationError({"name": [f"This product already has a model named '{name}'."]})
    try:
        with transaction.atomic():
            return AIModel.objects.create(
                product=product, name=name, task=task, description=description or "",
                primary_metric=primary_metric or "", higher_is_better=higher_is_better,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        raise ValidationError({"name": [f"This product already has a model named '{name}'."]}) from None


def aimodel_update(*, actor, model: AIModel, **fields) -> AIModel:
    require(actor, model.product_id, Action.TRACK)
    allowed = {"name", "task", "description", "primary_metric", "higher_is_better"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({f: ["Cannot be changed."] for f in sorted(unknown)})
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
    _clean_model_fields(name=fields.get("name"), task=fields.get("task"), primary_metric=fields.get("primary_metric"))
    if "name" in fields and AIModel.objects.filter(product_id=model.product_id, name=fields["name"]).exclude(pk=model.pk).exists():
        raise ValidationError({"name": [f"This product already has a model named '{fields['name']}'."]})
    with transaction.atomic():
        for field, value in fields.items():
            setattr(model, field, value)
        model.save()
    return model


def aimodel_delete(*, actor, model: AIModel) -> None:
    require(actor, model.product_id, Action.MANAGE)
    with transaction.atomic():
        series_ids = list(ModelMetric.objects.filter(version__model=model).values_list("series_id", flat=True))
        audit_record(actor=actor, action="aimodel.deleted", product=model.product_id, target=model,
                     data={"name": model.name})
        from kpis.ml.mlflow.artifacts import artifacts_purge_on_commit  # the files go with the model

        artifacts_purge_on_commit(model_ids=[model.pk])
        model.delete()
        series_delete(series_ids=series_ids)


# --- versions -------------------------------------------------------------------------


def model_version_create(*, actor, model: AIModel, version: str, params: dict | None = None, notes: str = "",
                         stage: str = Stage.DEVELOPMENT) -> ModelVersion:
    """A new version; it may start in development or staging (production only by promotion)."""
    require(actor, model.product_id, Action.TRACK)
    label = str(version or "").strip()
    errors = {}
    if not label:
        errors["version"] = ["Give the version a label, such as 3 or 2026-11-rc1."]
    elif len(label) > 64 or not label.isprintable() or "/" in label:
        errors["version"] = ["At most 64 printable characters, no slash."]
    if params is not None and not isinstance(params, dict):
        errors["params"] = ["Params must be a JSON object."]
    if stage not in (Stage.DEVELOPMENT, Stage.STAGING):
        errors["stage"] = ["A new version starts in development or staging; promote it to production."]
    if errors:
        raise ValidationError(errors)
    duplicate = ValidationError({"version": [f"Model '{model.name}' already has a version '{label}'."]})
    if ModelVersion.objects.filter(model=model, version=label).exists():
        raise duplicate
    try:
        with transaction.atomic():
            mv = ModelVersion.objects.create(
                model=model, version=label, params=params or {}, notes=notes or "", stage=stage,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            StageTransition.objects.create(version=mv, from_stage="", to_stage=stage, actor=mv.created_by,
                                           note="created")
    except IntegrityError:
        raise duplicate from None
    mv.model = model
    return mv


def model_version_update(*, actor, version: ModelVersion, notes: str | None = None,
                         params: dict | None = None) -> ModelVersion:
    require(actor, version.model.product_id, Action.TRACK)
    if params is not None and not isinstance(params, dict):
        raise ValidationError({"params": ["Params must be a JSON object."]})
    with transaction.atomic():
        if notes is not None:
            version.notes = notes
        if params is not None:
            version.params = params
        version.save(update_fields=["notes", "params"])
    return version


def model_version_rename(*, actor, version: ModelVersion, label: str) -> ModelVersion:
    """Change a development version's label (e.g. an MLflow run renamed). Versions that left
    development keep their label: stage history and audit entries name them by it."""
    require(actor, version.model.product_id, Action.TRACK)
    label = str(label or "").strip()
    if not label or len(label) > 64 or not label.isprintable() or "/" in label:
        raise ValidationError({"version": ["At most 64 printable characters, no slash."]})
    if label == version.version:
        return version
    if version.stage != Stage.DEVELOPMENT:
        raise ValidationError({"version": [f"Version {version.version} is in {version.stage}; only versions in "
                                           "development can be renamed."]})
    duplicate = ValidationError({"version": [f"Model '{version.model.name}' already has a version '{label}'."]})
    if ModelVersion.objects.filter(model_id=version.model_id, version=label).exists():
        raise duplicate
    try:
        with transaction.atomic():
            version.version = label
            version.save(update_fields=["version"])
    except IntegrityError:
        raise duplicate from None
    return version


def model_version_promote(*, actor, version: ModelVersion, note: str = "",
                          expected_production: ModelVersion | None | str = "any") -> ModelVersion:
    """Make version the model's production version; the previous one is archived. One transaction.

    Promotions of one model are serialised by a row lock on the model. Pass
    `expected_production` (a version, or None for "no production version yet")
    to refuse with PromotionConflict when another promotion got there first.
    Promoting the version already in production changes nothing.
    """
    require(actor, version.model.product_id, Action.TRACK)
    with transaction.atomic():
        model = AIModel.objects.select_for_update().get(pk=version.model_id)
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        current = ModelVersion.objects.filter(model=model, stage=Stage.PRODUCTION).first()
        if expected_production != "any":
            expected_id = getattr(expected_production, "pk", expected_production)
            if (current.pk if current else None) != expected_id:
                raise PromotionConflict(
                    f"The production version of '{model.name}' is now "
                    f"{current.version if current else 'none'}, not what you expected: someone else promoted meanwhile."
                )
        version.model = model
        if current is not None and current.pk == version.pk:
            return version
        now = timezone.now()
        if current is not None:
            current.stage = Stage.ARCHIVED
            current.stage_changed_at = now
            current.save(update_fields=["stage", "stage_changed_at"])
            StageTransition.objects.create(version=current, from_stage=Stage.PRODUCTION, to_stage=Stage.ARCHIVED,
                                           actor=_actor(actor), note=f"replaced by {version.version}")
        previous_stage = version.stage
        version.stage = Stage.PRODUCTION
        version.stage_changed_at = now
        try:
            with transaction.atomic():
                version.save(update_fields=["stage", "stage_changed_at"])
        except IntegrityError:  # the constraint, should a writer ever bypass the lock
            raise PromotionConflict(f"Another version of '{model.name}' is in production; try again.") from None
        StageTransition.objects.create(version=version, from_stage=previous_stage, to_stage=Stage.PRODUCTION,
                                       actor=_actor(actor), note=(note or "")[:500])
        audit_record(actor=actor, action="model_version.promoted", product=model.product_id, target=version,
                     data={"model": model.name, "version": version.version,
                           "previous": current.version if current else None})
        _queue_feeds(model=model)
    return version


def model_version_stage_set(*, actor, version: ModelVersion, stage: str, note: str = "") -> ModelVersion:
    """Move a version to development, staging or archived (production goes through promote)."""
    if stage == Stage.PRODUCTION:
        return model_version_promote(actor=actor, version=version, note=note)
    require(actor, version.model.product_id, Action.TRACK)
    if stage not in Stage.values:
        raise ValidationError({"stage": [f"Choose one of: {', '.join(Stage.values)}."]})
    with transaction.atomic():
        model = AIModel.objects.select_for_update().get(pk=version.model_id)
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        version.model = model
        if version.stage == stage:
            return version
        previous = version.stage
        version.stage = stage
        version.stage_changed_at = timezone.now()
        version.save(update_fields=["stage", "stage_changed_at"])
        StageTransition.objects.create(version=version, from_stage=previous, to_stage=stage, actor=_actor(actor),
                                       note=(note or "")[:500])
        if previous == Stage.PRODUCTION:
            audit_record(actor=actor, action="model_version.demoted", product=model.product_id, target=version,
                         data={"model": model.name, "version": version.version, "stage": stage})
    return version


def _actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- metrics ---------------------------------------------------------------------------


def _key_problem(key) -> str | None:
    if not isinstance(key, str):
        return "Must be a string."
    if not key:
        return "Must not be empty."
    if len(key) > MAX_KEY_LENGTH:
        return f"At most {MAX_KEY_LENGTH} characters."
    if not key.isprintable():
        return "Must contain printable characters only."
    return None


def _parse_ts(raw, now: datetime):
    """(datetime, None) or (None, problem). ISO 8601 (naive means UTC) or epoch seconds."""
    if raw is None:
        return now, None
    if isinstance(raw, bool):
        return None, "Must be an ISO 8601 timestamp or epoch seconds."
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            return None, "Must be a finite number of seconds."
        try:
            ts = datetime.fromtimestamp(raw, tz=dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None, "Out of range."
    elif isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            return None, "Must be an ISO 8601 timestamp such as 2026-11-27T12:00:00Z."
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt_timezone.utc)
    elif isinstance(raw, datetime):
        ts = raw if raw.tzinfo else raw.replace(tzinfo=dt_timezone.utc)
    else:
        return None, "Must be an ISO 8601 timestamp or epoch seconds."
    if ts < TS_MIN or ts > now + TS_FUTURE_SLACK:
        return None, "Must lie between 1970 and tomorrow."
    return ts, None


def metric_entries_validate(entries, *, now: datetime | None = None) -> list[MetricIn]:
    """Check a whole batch; raise one ValidationError naming every bad entry by index and field.

    An entry is a mapping with key, value, and optionally step (integer, 0 when
    absent) and ts (ISO 8601 or epoch seconds, now when absent). No serializer
    per entry: this is the hot path of ingest, 10,000 entries in a few ms.
    """
    if not isinstance(entries, (list, tuple)):
        raise ValidationError({"metrics": ["Send a list of entries {key, value, step?, ts?}."]})
    if not entries:
        raise ValidationError({"metrics": ["Send at least one entry."]})
    if len(entries) > MAX_METRIC_ENTRIES:
        raise ValidationError({"metrics": [
            f"At most {MAX_METRIC_ENTRIES:,} entries per request; this one has {len(entries):,}. Split it."]})
    now = now or timezone.now()
    out: list[MetricIn] = []
    errors: dict[str, list[str]] = {}
    append = out.append
    vmin, vmax, value_message = -limits.VALUE_MAX, limits.VALUE_MAX, limits.value_message()
    good_keys: set[str] = set()  # keys repeat across a batch: check each once
    parsed_ts: dict = {}  # so do timestamps (every key of one step shares its ts)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            errors[f"metrics[{i}]"] = ["Must be an object {key, value, step?, ts?}."]
            continue
        key = entry.get("key")
        value = entry.get("value")
        step = entry.get("step", 0)
        bad = False
        if type(key) is not str or key not in good_keys:
            if type(key) is not str or not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
                errors[f"metrics[{i}].key"] = [_key_problem(key) if "key" in entry else "This field is required."]
                bad = True
            else:
                good_keys.add(key)
        if type(value) is float:
            if not vmin <= value <= vmax:  # False for NaN and infinities too (pmhub.limits)
                errors[f"metrics[{i}].value"] = [value_message]
                bad = True
        elif type(value) is int:
            if vmin <= value <= vmax:
                value = float(value)
            else:
                errors[f"metrics[{i}].value"] = [value_message]
                bad = True
        else:
            errors[f"metrics[{i}].value"] = ["This field is required." if value is None else "Must be a number."]
            bad = True
        if step is None:
            step = 0
        elif type(step) is not int:
            if type(step) is float and step.is_integer():
                step = int(step)
            else:
                errors[f"metrics[{i}].step"] = ["Must be an integer."]
                bad = True
        if not bad and not STEP_MIN <= step <= STEP_MAX:
            errors[f"metrics[{i}].step"] = ["Out of range."]
            bad = True
        ts_raw = entry.get("ts")
        if ts_raw is None:
            ts = now
        elif type(ts_raw) is str and ts_raw in parsed_ts:
            ts = parsed_ts[ts_raw]
        else:
            ts, problem = _parse_ts(ts_raw, now)
            if ts is not None and type(ts_raw) is str:
                parsed_ts[ts_raw] = ts
            if problem:
                errors[f"metrics[{i}].ts"] = [problem]
                bad = True
        if not bad:
            append(MetricIn(key, value, step, ts))
        if len(errors) >= MAX_ERRORS_REPORTED:
            errors["metrics"] = [f"Stopped after {MAX_ERRORS_REPORTED} errors (at entry {i}); nothing was stored."]
            break
    if errors:
        raise ValidationError(errors)
    return out


def _metric_series_for(*, version: ModelVersion, keys: set[str]) -> dict[str, int]:
    """key -> series id for this version, creating the missing ones.

    New keys are created under a row lock on the version, so two requests that
    introduce the same key at once create it once.
    """
    from kpis.ml.selectors import metric_series_ids

    existing = metric_series_ids(version_id=version.pk, keys=keys)
    missing = keys - existing.keys()
    if missing:
        ModelVersion.objects.select_for_update().filter(pk=version.pk).values_list("pk").first()
        existing.update(metric_series_ids(version_id=version.pk, keys=missing))
        missing = sorted(keys - existing.keys())
        if missing:
            created = Series.objects.bulk_create([Series(kind=Series.Kind.METRIC, key=k) for k in missing])
            ModelMetric.objects.bulk_create(
                [ModelMetric(version=version, key=k, series=s) for k, s in zip(missing, created)]
            )
            existing.update({k: s.pk for k, s in zip(missing, created)})
    return existing


def model_metrics_log(*, actor, version: ModelVersion, entries, model_has_feeds: bool | None = None,
                      series: dict[str, int] | None = None) -> int:
    """Validate a whole batch of metric entries and upsert it; returns the number of entries stored.

    Either every entry is stored or none (one transaction). Entries repeating
    (key, step, ts) within the batch: the last wins. What the caller read with
    the version saves queries here: model_has_feeds=False skips looking for KPIs
    that follow the model; series maps metric keys to their series. With both
    covering the batch (a log-metric to a known key), the store's own statement
    is the only one; with model_has_feeds=False and every key known, one read
    of the keys' series comes before it.
    """
    require(actor, version.model.product_id, Action.TRACK)
    if isinstance(entries, MetricBatch):
        by_key, count = entries.by_key, entries.count
    else:
        metrics = entries if entries and isinstance(entries[0], MetricIn) else metric_entries_validate(entries)
        by_key: dict[str, list[PointIn]] = {}
        for m in metrics:
            by_key.setdefault(m.key, []).append(PointIn(m.ts, m.value, m.step))
        count = len(metrics)
    if model_has_feeds is False:
        if not (series and set(by_key) <= series.keys()):
            from kpis.ml.selectors import metric_series_ids

            series = metric_series_ids(version_id=version.pk, keys=by_key)
        if set(by_key) <= series.keys():  # every key known: no transaction of ours, no lock
            series_points_upsert_many(batches={series[key]: points for key, points in by_key.items()})
            return count
    with transaction.atomic():
        series = _metric_series_for(version=version, keys=set(by_key))
        if model_has_feeds is not False:  # queued on commit; asked first, so the store's row locks come last
            _queue_feeds(model=version.model, keys=set(by_key), only_if_production=version)
        series_points_upsert_many(batches={series[key]: points for key, points in by_key.items()}, savepoint=False)
    return count


def model_metrics_log_simple(*, actor, version: ModelVersion, metrics: dict[str, float], step: int | None = None,
                             ts: datetime | None = None) -> int:
    """Convenience for pages, demo data and other apps: {key: value} at one step and time."""
    entries = [{"key": k, "value": v, "step": step or 0, "ts": ts} for k, v in metrics.items()]
    return model_metrics_log(actor=actor, version=version, entries=entries)


# --- KPIs fed by model metrics ---------------------------------------------------------


def _queue_feeds(*, model: AIModel, keys: set[str] | None = None, only_if_production: ModelVersion | None = None) -> None:
    """After commit, push the production version's latest value into KPIs that follow this model."""
    from kpis.ml.models import KpiModelFeed

    feeds = KpiModelFeed.objects.filter(model=model)
    if keys is not None:
        feeds = feeds.filter(metric_key__in=keys)
    if only_if_production is not None:  # the stage as stored, not as the caller's object remembers it
        feeds = feeds.filter(model__versions__pk=only_if_production.pk, model__versions__stage=Stage.PRODUCTION)
    feed_ids = list(feeds.values_list("pk", flat=True))
    if feed_ids:
        delay_on_commit("kpis.tasks_models.kpi_model_feeds_sync", feed_ids)


def kpi_model_feed_set(*, actor, kpi, model: AIModel | None, metric_key: str = ""):
    """Make a KPI follow the production version's latest value of model's metric_key (None: stop).

    Editing KPIs is a PM's job (EDIT); the model must belong to the KPI's product.
    The KPI gets the current value at once (after commit).
    """
    from kpis.ml.models import KpiModelFeed
    from kpis.models import KPI

    require(actor, kpi.product_id, Action.EDIT)
    with transaction.atomic():
        if model is None:
            KpiModelFeed.objects.filter(kpi=kpi).delete()
            return None
        errors = {}
        if model.product_id != kpi.product_id:
            errors["model"] = ["Choose a model of the KPI's product."]
        problem = _key_problem(metric_key)
        if problem:
            errors["metric_key"] = [problem]
        if kpi.category != KPI.Category.MODEL:
            errors["kpi"] = ["Only a KPI of category 'Model quality' can follow a model metric."]
        if errors:
            raise ValidationError(errors)
        feed, _ = KpiModelFeed.objects.update_or_create(kpi=kpi, defaults={"model": model, "metric_key": metric_key})
        _queue_feeds(model=model, keys={metric_key})
    return feed


def kpi_model_feed_sync(*, feed) -> bool:
    """Write the production version's latest value of the feed's key as a KPI point (now).

    Returns False when there is nothing to write (no production version or no value).
    Goes through the KPI ingest service, so the KPI's status and alerts follow.
    """
    from kpis.ml.selectors import final_value

    production = ModelVersion.objects.filter(model_id=feed.model_id, stage=Stage.PRODUCTION).first()
    if production is None:
        return False
    value = final_value(version=production, key=feed.metric_key)
    if value is None:
        return False
    ts = timezone.now().replace(microsecond=0)
    from kpis.services.kpis import kpi_points_ingest

    # No actor: whoever set the feed up (a PM) was checked then; status and alerts follow via kpi_evaluate.
    kpi_points_ingest(kpi=feed.kpi, points=[PointIn(ts, value.value, 0)])
    return True
