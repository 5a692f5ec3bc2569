"""Writes behind pmhub's MLflow endpoints, all through the AI-model services.

Mapping (README, "MLflow"): an experiment is an AIModel named
`<product-slug>/<model-name>`; a run is a ModelVersion created in development
(run name = version label) plus an MlflowRun holding the run id, status, times,
lifecycle stage, tags and dataset inputs; params are the version's params;
metrics go through `model_metrics_log`, the same idempotent store as pmhub's
own ingest API. Bad input raises ValidationError and changes nothing.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from kpis.ml.mlflow.models import MlflowRun
from kpis.ml.models import AIModel, ModelVersion
from kpis.ml.services import (
    MAX_KEY_LENGTH as METRIC_KEY_MAX_LENGTH,
    STEP_MAX,
    STEP_MIN,
    TS_FUTURE_SLACK,
    TS_MIN,
    MetricBatch,
    aimodel_create,
    aimodel_update,
    model_metrics_log,
    model_version_create,
    model_version_rename,
    model_version_update,
)
from kpis.timeseries.services import PointIn
from pmhub import limits
from pmhub.audit import audit_record
from pmhub.permissions import require
from pmhub.roles import Action

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_DATASETS_PER_REQUEST = 1000
MAX_DATASET_FIELD = {"name": 500, "digest": 36, "source_type": 64, "source": 65535, "schema": 1048575,
                     "profile": 1048575}

RUN_NAME_TAG = "mlflow.runName"
NOTE_TAG = "mlflow.note.content"


class AlreadyExists(ValidationError):
    """The thing exists already (MLflow's RESOURCE_ALREADY_EXISTS)."""


class InvalidState(ValidationError):
    """The run is not in a state that allows this (MLflow answers INVALID_PARAMETER_VALUE too)."""


@dataclass(frozen=True, slots=True)
class MetricLog:
    key: str
    value: float
    timestamp: int  # ms since the epoch, as MLflow sends it
    step: int = 0


def ms_to_datetime(ms: int) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, tz=dt_timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValidationError({"timestamp": [f"{ms} is not a time in milliseconds since 1970."]}) from None


def metrics_checked(raw_metrics: list) -> MetricBatch | None:
    """MLflow metric objects as checked store points grouped by key, in one pass, or None.

    The hot path of log-batch and log-metric: every item plainly well formed
    (a string key, a number value within pmhub.limits, an integer timestamp in
    milliseconds from 1970 to tomorrow, an integer step or none). Anything else,
    None: the caller takes the careful path, which accepts the same metrics (and
    a few more spellings, such as numbers sent as strings) and names what is
    wrong. Accepted here implies accepted there, with the same values.
    """
    vmax = limits.VALUE_MAX
    ts_max = timezone.now() + TS_FUTURE_SLACK
    by_key: dict[str, list[PointIn]] = {}
    times: dict[int, datetime] = {}  # every key of one step shares its timestamp
    for item in raw_metrics:
        if type(item) is not dict:
            return None
        key, value, ms, step = item.get("key"), item.get("value"), item.get("timestamp"), item.get("step")
        if type(key) is not str:
            return None
        points = by_key.get(key)
        if points is None:
            if not key or len(key) > METRIC_KEY_MAX_LENGTH or not key.isprintable():
                return None
            points = by_key[key] = []
        if not ((type(value) is float or type(value) is int) and -vmax <= value <= vmax):
            return None  # also NaN, infinities and booleans
        value = float(value)
        if step is None:
            step = 0
        elif type(step) is not int or not STEP_MIN <= step <= STEP_MAX:
            return None
        if type(ms) is not int:
            return None
        ts = times.get(ms)
        if ts is None:
            if not 0 <= ms <= 253_402_300_799_999:  # up to 9999-12-31
                return None
            ts = times[ms] = ms_to_datetime(ms)
            if not TS_MIN <= ts <= ts_max:
                return None
        points.append(PointIn(ts, value, step))
    return MetricBatch(by_key, len(raw_metrics))


def _first_key(metrics: list[MetricLog] | MetricBatch) -> str:
    return next(iter(metrics.by_key)) if isinstance(metrics, MetricBatch) else metrics[0].key


def datetime_to_ms(dt: datetime | None) -> int | None:
    return None if dt is None else int(round(dt.timestamp() * 1000))


def param_value_str(value) -> str:
    """A version param as MLflow shows it: strings as they are, anything else as JSON text."""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value)


def _key_problem(key) -> str | None:
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    if len(key) > MAX_KEY_LENGTH:
        return f"must be at most {MAX_KEY_LENGTH} characters"
    if not key.isprintable():
        return "must contain printable characters only"
    return None


# --- experiments = AI models -------------------------------------------------------------


def experiment_name_split(name: str) -> tuple[str, str]:
    slug, sep, model_name = (name or "").partition("/")
    if not sep or not slug or not model_name.strip():
        raise ValidationError({"name": [
            f"Experiment names in pmhub are '<product-slug>/<model-name>', e.g. 'search/ranker'; got '{name}'."]})
    return slug, model_name.strip()


def mlflow_experiment_create(*, actor, name: str, tags: dict[str, str] | None = None) -> AIModel:
    """An AIModel on the product named by the experiment name (TRACK on that product)."""
    from products.selectors import product_list_for_user

    slug, model_name = experiment_name_split(name)
    tags = dict(tags or {})
    note = tags.pop(NOTE_TAG, "")
    if tags:
        raise ValidationError({"tags": [
            f"pmhub keeps no experiment tags other than {NOTE_TAG} (the model's description); "
            f"refused: {', '.join(sorted(tags))}."]})
    product = product_list_for_user(user=actor).filter(slug=slug).first()
    if product is None:
        raise Http404(f"No product '{slug}' that you are a member of.")
    if AIModel.objects.filter(product=product, name=model_name).exists():
        raise AlreadyExists({"name": [f"Experiment '{name}' already exists."]})
    try:
        return aimodel_create(actor=actor, product=product, name=model_name, description=note)
    except ValidationError as exc:
        if AIModel.objects.filter(product=product, name=model_name).exists():  # lost a race
            raise AlreadyExists({"name": [f"Experiment '{name}' already exists."]}) from exc
        raise


def mlflow_experiment_rename(*, actor, model: AIModel, new_name: str) -> AIModel:
    slug, model_name = experiment_name_split(new_name)
    if slug != model.product.slug:
        raise ValidationError({"new_name": [
            f"An experiment stays on its product: the new name must start with '{model.product.slug}/'."]})
    return aimodel_update(actor=actor, model=model, name=model_name)


def mlflow_experiment_tag_set(*, actor, model: AIModel, key: str, value: str) -> AIModel:
    if key != NOTE_TAG:
        raise ValidationError({"key": [
            f"pmhub keeps no experiment tags other than {NOTE_TAG} (the model's description); refused: {key}."]})
    return aimodel_update(actor=actor, model=model, description=value)


# --- runs = model versions -------------------------------------------------------------


def _generated_run_name() -> str:
    return f"run-{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def _check_tags(tags: list[tuple[str, str]]) -> None:
    errors = {}
    for i, (key, value) in enumerate(tags):
        problem = _key_problem(key)
        if problem:
            errors[f"tags[{i}].key"] = [f"Tag key {problem}."]
        elif not isinstance(value, str) or len(value) > MAX_TAG_VALUE_LENGTH:
            errors[f"tags[{i}].value"] = [f"Tag '{key}': a string of at most {MAX_TAG_VALUE_LENGTH} characters."]
    if errors:
        raise ValidationError(errors)


def mlflow_run_create(*, actor, model: AIModel, run_name: str = "", start_time: datetime | None = None,
                      user_id: str = "", tags: list[tuple[str, str]] = ()) -> MlflowRun:
    """A new development version of model (labelled run_name) and its MlflowRun, status RUNNING."""
    require(actor, model.product_id, Action.TRACK)
    tags = list(tags)
    _check_tags(tags)
    tag_map = dict(tags)
    tag_name = tag_map.pop(RUN_NAME_TAG, None)
    if run_name and tag_name and run_name != tag_name:
        raise ValidationError({"run_name": [
            f"run_name '{run_name}' and tag {RUN_NAME_TAG} '{tag_name}' differ; send one name."]})
    label = (run_name or tag_name or "").strip() or _generated_run_name()
    note = tag_map.pop(NOTE_TAG, "")
    taken = AlreadyExists({"run_name": [
        f"Model '{model.name}' already has a version '{label}': a run name is a version label in pmhub "
        f"and must be unique within the experiment. Pick another run_name."]})
    if ModelVersion.objects.filter(model=model, version=label).exists():
        raise taken
    with transaction.atomic():
        try:
            version = model_version_create(actor=actor, model=model, version=label, params={}, notes=note,
                                           stage=ModelVersion.Stage.DEVELOPMENT)
        except ValidationError:
            if ModelVersion.objects.filter(model=model, version=label).exists():  # lost a race
                raise taken from None
            raise
        run = MlflowRun.objects.create(
            run_uuid=uuid.uuid4().hex, version=version, status=MlflowRun.Status.RUNNING,
            start_time=start_time or timezone.now(), user_id=(user_id or tag_map.get("mlflow.user") or "")[:256],
            created_by=actor if getattr(actor, "is_authenticated", False) else None, tags=tag_map,
        )
    run.version = version
    return run


def _rename_if_asked(actor, run: MlflowRun, version: ModelVersion, name: str | None) -> None:
    """A new run name renames the version (development versions only, labels unique per model)."""
    if name is None or name.strip() == "" or name.strip() == version.version:
        return
    try:
        model_version_rename(actor=actor, version=version, label=name)
    except ValidationError as exc:
        taken = ModelVersion.objects.filter(model_id=version.model_id, version=name.strip()).exists()
        raise (AlreadyExists if taken else ValidationError)({"run_name": [
            f"Cannot rename run {run.run_uuid} to '{name}': {' '.join(exc.messages)}"]}) from None
    run.version = version


def _check_active(run: MlflowRun) -> None:
    if run.lifecycle_stage != MlflowRun.Lifecycle.ACTIVE:
        raise InvalidState({"run_id": [
            f"The run {run.run_uuid} is deleted; restore it before logging to it."]})


def mlflow_run_update(*, actor, run: MlflowRun, status: str | None = None, end_time: datetime | None = None,
                      run_name: str | None = None) -> MlflowRun:
    require(actor, run.version.model.product_id, Action.TRACK)
    if status is not None and status not in MlflowRun.Status.values:
        raise ValidationError({"status": [f"Choose one of {', '.join(MlflowRun.Status.values)}."]})
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("model").get(pk=run.version_id)
        _rename_if_asked(actor, run, version, run_name)
        locked = MlflowRun.objects.select_for_update().get(pk=run.pk)
        fields = []
        if status is not None and status != locked.status:
            locked.status = status
            fields.append("status")
        if end_time is not None:
            locked.end_time = end_time
            fields.append("end_time")
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
    locked.version = version
    return locked


def mlflow_run_lifecycle_set(*, actor, run: MlflowRun, deleted: bool) -> MlflowRun:
    """Delete (soft: the run and its version are hidden from MLflow searches, nothing is destroyed) or restore.

    Needs TRACK like logging: it is reversible and touches one run, which is how
    data scientists tidy failed runs in MLflow. Recorded in the audit trail.
    """
    require(actor, run.version.model.product_id, Action.TRACK)
    stage = MlflowRun.Lifecycle.DELETED if deleted else MlflowRun.Lifecycle.ACTIVE
    with transaction.atomic():
        locked = MlflowRun.objects.select_for_update().get(pk=run.pk)
        if locked.lifecycle_stage != stage:
            locked.lifecycle_stage = stage
            locked.save(update_fields=["lifecycle_stage", "updated_at"])
            audit_record(actor=actor, action="mlflow_run.deleted" if deleted else "mlflow_run.restored",
                         product=run.version.model.product_id, target=locked,
                         data={"model": run.version.model.name, "version": run.version.version})
    locked.version = run.version
    return locked


def mlflow_run_log_batch(*, actor, run: MlflowRun, metrics: list[MetricLog] | MetricBatch = (),
                         params: list[tuple[str, str]] = (), tags: list[tuple[str, str]] = ()) -> MlflowRun:
    """Log metrics, params and tags to a run in one transaction: all of it or nothing.

    Params are immutable once logged (MLflow's rule): the same value again is
    fine, a different one is refused. Tags may change. The note tag is the
    version's notes; the run-name tag is the version label and cannot change.
    """
    version = run.version
    require(actor, version.model.product_id, Action.TRACK)
    metrics = metrics if isinstance(metrics, MetricBatch) else list(metrics)
    params, tags = list(params), list(tags)
    errors = {}
    if len(metrics) > MAX_METRICS_PER_BATCH:
        errors["metrics"] = [f"At most {MAX_METRICS_PER_BATCH} metrics per request; got {len(metrics)}."]
    if len(params) > MAX_PARAMS_PER_BATCH:
        errors["params"] = [f"At most {MAX_PARAMS_PER_BATCH} params per request; got {len(params)}."]
    if len(tags) > MAX_TAGS_PER_BATCH:
        errors["tags"] = [f"At most {MAX_TAGS_PER_BATCH} tags per request; got {len(tags)}."]
    if errors:
        raise ValidationError(errors)
    _check_active(run)
    seen = set()
    for i, (key, value) in enumerate(params):
        problem = _key_problem(key)
        if problem:
            errors[f"params[{i}].key"] = [f"Param key {problem}."]
        elif not isinstance(value, str) or len(value) > MAX_PARAM_VALUE_LENGTH:
            errors[f"params[{i}].value"] = [f"Param '{key}': a string of at most {MAX_PARAM_VALUE_LENGTH} characters."]
        elif key in seen:
            errors[f"params[{i}].key"] = [f"Param '{key}' appears twice in this request; send it once."]
        seen.add(key)
    if errors:
        raise ValidationError(errors)
    _check_tags(tags)
    tag_map = dict(tags)
    new_name = tag_map.pop(RUN_NAME_TAG, None)
    note = tag_map.pop(NOTE_TAG, None)
    if isinstance(metrics, MetricBatch):  # checked already (metrics_checked)
        entries = metrics
    else:
        entries = [{"key": m.key, "value": m.value, "step": m.step, "ts": ms_to_datetime(m.timestamp)}
                   for m in metrics]
    if not (params or tags or new_name is not None or note is not None):
        # Metrics only (log-metric, most log-batch calls): no lock on the version or
        # the run, so writers of one run proceed together; the store serialises
        # only what must be (see kpis.timeseries.services).
        if entries:
            known = getattr(run, "metric_series_id", None)
            model_metrics_log(actor=actor, version=version, entries=entries,
                              model_has_feeds=getattr(run, "model_has_feeds", None),
                              series={_first_key(metrics): known} if known is not None else None)
        return run

    with transaction.atomic():
        # The version row lock serialises concurrent param merges of this run.
        locked_version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
        _rename_if_asked(actor, run, locked_version, new_name)
        if params or note is not None:
            current = locked_version.params or {}
            merged = dict(current)
            conflicts = []
            for key, value in params:
                if key in current:
                    if param_value_str(current[key]) != value:
                        conflicts.append(f"'{key}' (logged '{param_value_str(current[key])}', now '{value}')")
                else:
                    merged[key] = value
            if conflicts:
                raise ValidationError({"params": [
                    "Changing param values is not allowed; params were already logged with other values: "
                    + ", ".join(conflicts) + f" for run {run.run_uuid}."]})
            if merged != current or (note is not None and note != locked_version.notes):
                model_version_update(actor=actor, version=locked_version,
                                     params=merged if merged != current else None, notes=note)
        if tag_map:
            locked_run = MlflowRun.objects.select_for_update().get(pk=run.pk)
            locked_run.tags = {**(locked_run.tags or {}), **tag_map}
            locked_run.save(update_fields=["tags", "updated_at"])
            run.tags = locked_run.tags
        if entries:
            model_metrics_log(actor=actor, version=locked_version, entries=entries)
    return run


def mlflow_run_tag_delete(*, actor, run: MlflowRun, key: str) -> MlflowRun:
    require(actor, run.version.model.product_id, Action.TRACK)
    _check_active(run)
    with transaction.atomic():
        locked = MlflowRun.objects.select_for_update().get(pk=run.pk)
        if key not in (locked.tags or {}):
            raise Http404(f"No tag '{key}' on run {run.run_uuid}.")
        locked.tags = {k: v for k, v in locked.tags.items() if k != key}
        locked.save(update_fields=["tags", "updated_at"])
    return locked


def _check_dataset(i: int, item) -> dict:
    if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
        raise ValidationError({f"datasets[{i}]": ["Must be {\"dataset\": {...}, \"tags\": [...]}."]})
    ds = item["dataset"]
    clean = {}
    for field, limit in MAX_DATASET_FIELD.items():
        value = ds.get(field)
        if value is None:
            if field in ("name", "digest", "source_type", "source"):
                raise ValidationError({f"datasets[{i}].{field}": ["This field is required."]})
            continue
        if not isinstance(value, str) or len(value) > limit:
            raise ValidationError({f"datasets[{i}].{field}": [f"A string of at most {limit} characters."]})
        clean[field] = value
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("key"), str) for t in tags):
        raise ValidationError({f"datasets[{i}].tags": ["A list of {key, value}."]})
    return {"dataset": clean, "tags": [{"key": t["key"][:255], "value": str(t.get("value", ""))[:500]} for t in tags]}


def mlflow_run_inputs_log(*, actor, run: MlflowRun, datasets: list) -> MlflowRun:
    """Record dataset inputs on the run (kept as MLflow sent them; same name and digest once)."""
    require(actor, run.version.model.product_id, Action.TRACK)
    _check_active(run)
    if not isinstance(datasets, list) or len(datasets) > MAX_DATASETS_PER_REQUEST:
        raise ValidationError({"datasets": [f"A list of at most {MAX_DATASETS_PER_REQUEST} dataset inputs."]})
    cleaned = [_check_dataset(i, item) for i, item in enumerate(datasets)]
    with transaction.atomic():
        locked = MlflowRun.objects.select_for_update().get(pk=run.pk)
        current = list(locked.dataset_inputs or [])
        index = {(d["dataset"]["name"], d["dataset"]["digest"]): n for n, d in enumerate(current)}
        for item in cleaned:
            ident = (item["dataset"]["name"], item["dataset"]["digest"])
            if ident in index:
                current[index[ident]] = item
            else:
                index[ident] = len(current)
                current.append(item)
        locked.dataset_inputs = current
        locked.save(update_fields=["dataset_inputs", "updated_at"])
    locked.version = run.version
    return locked
