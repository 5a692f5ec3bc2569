"""MLflow 3 logged models (what `mlflow.<flavour>.log_model` and autolog create): services,
reads, JSON shapes and the REST endpoints under `logged-models`.

A logged model belongs to an experiment (an AI model) and usually to the run that
produced it (a version). Its files are artifacts under
`mlflow-artifacts:/<experiment id>/models/<model id>/artifacts`, so
`models:/<model id>` and `runs:/<run id>/<name>` load the same files.
"""
from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from kpis.ml.mlflow import mapping as m, search
from kpis.ml.mlflow import selectors as sel
from kpis.ml.mlflow.errors import invalid, not_found
from kpis.ml.mlflow.models import LoggedModel, MlflowRun
from kpis.ml.mlflow.services import datetime_to_ms
from kpis.ml.mlflow.views import pattern_route, route
from pmhub.permissions import require
from pmhub.roles import Action

MAX_SEARCH = 1000
STATUSES = {s.value for s in LoggedModel.Status}
ATTRIBUTES = {"name", "model_id", "model_type", "status", "source_run_id", "creation_timestamp",
              "creation_time", "last_updated_timestamp", "experiment_id"}


# --- services -------------------------------------------------------------------------------


def _key_values(items, field) -> dict[str, str]:
    out = {}
    for key, value in m.key_values(items, field):
        if not key or len(key) > 250:
            raise ValidationError({field: [f"Key '{key[:50]}' must be 1 to 250 characters."]})
        if len(value) > 8000:
            raise ValidationError({field: [f"Value of '{key}' must be at most 8000 characters."]})
        out[key] = value
    return out


def logged_model_create(*, actor, model, name: str = "", model_type: str = "", source_run: MlflowRun | None = None,
                        params: dict | None = None, tags: dict | None = None) -> LoggedModel:
    require(actor, model.product_id, Action.TRACK)
    if source_run is not None and source_run.version.model_id != model.pk:
        raise ValidationError({"source_run_id": ["The run belongs to another experiment."]})
    name = (name or "").strip() or f"model-{uuid.uuid4().hex[:8]}"
    if len(name) > 250 or "/" in name or ":" in name:
        raise ValidationError({"name": ["At most 250 characters, no '/' or ':'."]})
    return LoggedModel.objects.create(
        mlflow_id=f"m-{uuid.uuid4().hex}", model=model, source_run=source_run, name=name,
        model_type=(model_type or "")[:120], params=params or {}, tags=tags or {},
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def logged_model_update(*, actor, logged: LoggedModel, status: str | None = None, tags: dict | None = None,
                        params: dict | None = None, delete_tag: str | None = None) -> LoggedModel:
    require(actor, logged.model.product_id, Action.TRACK)
    if status is not None and status not in STATUSES:
        raise ValidationError({"status": [f"Choose one of {', '.join(sorted(STATUSES))}."]})
    with transaction.atomic():
        locked = LoggedModel.objects.select_for_update().get(pk=logged.pk)
        locked.model, locked.source_run = logged.model, logged.source_run
        if status is not None:
            locked.status = status
        if tags:
            locked.tags = {**locked.tags, **tags}
        if params:
            locked.params = {**locked.params, **params}
        if delete_tag is not None:
            if delete_tag not in locked.tags:
                raise Http404(f"No tag '{delete_tag}' on logged model {locked.mlflow_id}.")
            locked.tags = {k: v for k, v in locked.tags.items() if k != delete_tag}
        locked.save()
    return locked


def logged_model_delete(*, actor, logged: LoggedModel) -> None:
    """Soft delete (MLflow's lifecycle): hidden from searches; the files stay until the model goes."""
    require(actor, logged.model.product_id, Action.TRACK)
    LoggedModel.objects.filter(pk=logged.pk).update(deleted=True)


# --- reads ----------------------------------------------------------------------------------


def logged_model_get_for_user(*, user, mlflow_id: str, allow_deleted: bool = False) -> LoggedModel | None:
    qs = LoggedModel.objects.filter(mlflow_id=mlflow_id, model__in=sel.experiment_list_for_user(user=user))
    if not allow_deleted:
        qs = qs.filter(deleted=False)
    return qs.select_related("model__product", "source_run").first()


def logged_models_for_run(*, run: MlflowRun) -> list[LoggedModel]:
    return list(LoggedModel.objects.filter(source_run=run, deleted=False).order_by("created_at"))


# --- JSON -------------------------------------------------------------------------------------


def artifact_uri(logged: LoggedModel) -> str:
    return f"mlflow-artifacts:/{logged.model_id}/models/{logged.mlflow_id}/artifacts"


def logged_model_json(logged: LoggedModel) -> dict:
    info = {
        "model_id": logged.mlflow_id,
        "experiment_id": str(logged.model_id),
        "name": logged.name,
        "creation_timestamp_ms": datetime_to_ms(logged.created_at),
        "last_updated_timestamp_ms": datetime_to_ms(logged.updated_at),
        "artifact_uri": artifact_uri(logged),
        "status": logged.status,
        "creator_id": str(logged.created_by_id or ""),
        "tags": [{"key": k, "value": v} for k, v in sorted(logged.tags.items())],
    }
    if logged.model_type:
        info["model_type"] = logged.model_type
    if logged.source_run_id:
        info["source_run_id"] = logged.source_run.run_uuid
    if logged.status_message:
        info["status_message"] = logged.status_message
    return {"info": info,
            "data": {"params": [{"key": k, "value": v} for k, v in sorted(logged.params.items())], "metrics": []}}


def _row(logged: LoggedModel) -> dict:
    info = logged_model_json(logged)["info"]
    return {
        "attributes": {"name": logged.name, "model_id": logged.mlflow_id, "model_type": logged.model_type,
                       "status": logged.status, "source_run_id": info.get("source_run_id", ""),
                       "experiment_id": str(logged.model_id),
                       "creation_timestamp": info["creation_timestamp_ms"],
                       "creation_time": info["creation_timestamp_ms"],
                       "last_updated_timestamp": info["last_updated_timestamp_ms"]},
        "tags": dict(logged.tags), "params": dict(logged.params), "metrics": {}, "logged": logged,
    }


# --- endpoints ----------------------------------------------------------------------------------


def _logged(user, model_id: str, allow_deleted=False) -> LoggedModel:
    logged = logged_model_get_for_user(user=user, mlflow_id=model_id, allow_deleted=allow_deleted)
    if logged is None:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    return logged


@route("logged-models", "POST")
def create(user, data):
    experiment = sel.experiment_get_for_user(user=user, experiment_id=m.get_str(data, "experiment_id", required=True))
    if experiment is None:
        raise not_found("No experiment with that id that you can see.")
    run = None
    run_id = m.get_str(data, "source_run_id")
    if run_id:
        run = sel.run_get_for_user(user=user, run_id=run_id)
        if run is None:
            raise not_found(f"Run '{run_id}' not found.")
    logged = logged_model_create(
        actor=user, model=experiment, name=m.get_str(data, "name") or "", model_type=m.get_str(data, "model_type") or "",
        source_run=run, params=_key_values(m.get_list(data, "params"), "params"),
        tags=_key_values(m.get_list(data, "tags"), "tags"))
    return {"model": logged_model_json(logged)}


@route("logged-models/search", "POST", "GET")
def search_models(user, data):
    ids = [str(x) for x in m.get_list(data, "experiment_ids")]
    if not ids:
        raise invalid("experiment_ids is required.")
    if m.get_list(data, "datasets"):
        raise invalid("pmhub keeps no metrics per dataset on logged models; search without datasets.")
    max_results = m.get_int(data, "max_results", default=100)
    if not 1 <= max_results <= MAX_SEARCH:
        raise invalid(f"max_results must be between 1 and {MAX_SEARCH}.")
    clauses = search.parse_filter(m.get_str(data, "filter"), default_entity="attributes")
    order = []
    for item in m.get_list(data, "order_by"):
        if not isinstance(item, dict) or not isinstance(item.get("field_name"), str):
            raise invalid("order_by items are {field_name, ascending}.")
        entity, _, key = item["field_name"].rpartition(".")
        entity = search.ENTITY_ALIASES.get(entity or "attributes")
        if entity not in ("attributes", "tags", "params"):
            raise invalid(f"Cannot order logged models by {item['field_name']!r}.")
        order.append((entity, key, not item.get("ascending", True)))
    offset = m.page_offset(m.get_str(data, "page_token"))
    experiments = [e for e in (sel.experiment_get_for_user(user=user, experiment_id=i) for i in ids) if e]
    rows = [_row(x) for x in LoggedModel.objects.filter(model__in=experiments, deleted=False)
            .select_related("source_run").order_by("-created_at")]
    for clause in clauses:
        if clause.entity == "attributes" and clause.key not in ATTRIBUTES:
            raise invalid(f"Invalid attribute key '{clause.key}' for logged models; use one of "
                          f"{', '.join(sorted(ATTRIBUTES))}.")
    rows = [r for r in rows if search.matches(r, clauses)]
    rows = search.sort_rows(rows, order or [("attributes", "creation_timestamp", True)])
    page = rows[offset:offset + max_results]
    out = {"models": [logged_model_json(r["logged"]) for r in page]}
    if offset + max_results < len(rows):
        out["next_page_token"] = m.page_token(offset + max_results)
    return out


@pattern_route(r"logged-models/(?P<model_id>[^/]+)", "GET", "PATCH", "DELETE")
def one(user, data, method, model_id):
    if method == "GET":
        allow = str(data.get("allow_deleted", "")).lower() == "true"
        return {"model": logged_model_json(_logged(user, model_id, allow_deleted=allow))}
    logged = _logged(user, model_id)
    if method == "DELETE":
        logged_model_delete(actor=user, logged=logged)
        return {}
    status = data.get("status")
    if isinstance(status, int):
        status = {1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED"}.get(status)
    return {"model": logged_model_json(logged_model_update(actor=user, logged=logged, status=status))}


@pattern_route(r"logged-models/(?P<model_id>[^/]+)/tags", "PATCH", "POST")
def tags_set(user, data, method, model_id):
    logged = logged_model_update(actor=user, logged=_logged(user, model_id),
                                 tags=_key_values(m.get_list(data, "tags"), "tags"))
    return {"model": logged_model_json(logged)}


@pattern_route(r"logged-models/(?P<model_id>[^/]+)/tags/(?P<key>.+)", "DELETE")
def tag_delete(user, data, method, model_id, key):
    logged_model_update(actor=user, logged=_logged(user, model_id), delete_tag=key)
    return {}


@pattern_route(r"logged-models/(?P<model_id>[^/]+)/params", "POST")
def params_log(user, data, method, model_id):
    logged_model_update(actor=user, logged=_logged(user, model_id),
                        params=_key_values(m.get_list(data, "params"), "params"))
    return {}


@pattern_route(r"logged-models/(?P<model_id>[^/]+)/artifacts/directories", "GET")
def artifacts_list(user, data, method, model_id):
    from kpis.ml.mlflow.artifacts import artifact_list, clean_path

    logged = _logged(user, model_id)
    sub = clean_path(m.get_str(data, "artifact_directory_path"), allow_empty=True)
    root = f"models/{logged.mlflow_id}/artifacts"
    files = [{"path": e.name, "is_dir": e.is_dir, **({} if e.is_dir else {"file_size": e.size})}
             for e in artifact_list(model=logged.model, path=f"{root}/{sub}" if sub else root)]
    return {"files": files} if files else {}


@route("runs/outputs", "POST")
def run_outputs(user, data):
    run_id = m.get_str(data, "run_id", required=True)
    run = sel.run_get_for_user(user=user, run_id=run_id)
    if run is None:
        raise not_found(f"Run '{run_id}' not found.")
    require(user, run.version.model.product_id, Action.TRACK)
    for i, item in enumerate(m.get_list(data, "models")):
        model_id = item.get("model_id") if isinstance(item, dict) else None
        logged = logged_model_get_for_user(user=user, mlflow_id=model_id or "")
        if logged is None or logged.model_id != run.version.model_id:
            raise not_found(f"models[{i}]: logged model '{model_id}' not found in the run's experiment.")
        if logged.source_run_id is None:
            LoggedModel.objects.filter(pk=logged.pk).update(source_run=run)
    return {}
