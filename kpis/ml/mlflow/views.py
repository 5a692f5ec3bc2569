"""The MLflow tracking REST endpoints (`<MLFLOW_TRACKING_URI>/api/2.0/mlflow/...`).

Thin: authenticate, parse the MLflow request, call a service or selector,
shape the MLflow response. Every error leaves as `{"error_code", "message"}`
with MLflow's HTTP status, so the official client raises what it always raises.
"""
from __future__ import annotations

import base64
import binascii
import re

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from kpis.ml.mlflow import selectors as sel, services as svc
from pmhub import jsonbody
from pmhub.services import api_token_authenticate

from kpis.ml.mlflow import search, mapping as m
from kpis.ml.mlflow.errors import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    UNAUTHENTICATED,
    MlflowError,
    from_exception,
    invalid,
    not_found,
    unsupported,
)

MAX_EXPERIMENTS_PER_PAGE = 50_000
MAX_RUNS_PER_PAGE = 50_000
DEFAULT_RUNS_PER_PAGE = 1000
LIST_FIELDS = {"run_ids", "experiment_ids", "order_by"}
RUN_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time", "user_id", "lifecycle_stage",
                  "artifact_uri", "experiment_id"}
EXPERIMENT_ATTRIBUTES = {"name", "experiment_id", "creation_time", "last_update_time"}
VIEW_TYPES = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}

# Parts of MLflow pmhub does not represent: refused with NOT_IMPLEMENTED and a reason.
UNSUPPORTED = {
    "runs/log-model": "MLflow 2's run-level model history is not kept; MLflow 3 clients log models with "
                      "logged-models (supported).",
    "runs/log-inputs:models": "pmhub keeps no logged models as run inputs; log datasets with mlflow.log_input.",
    "traces": "pmhub keeps no MLflow traces.",
    "datasets": "pmhub keeps datasets only as run inputs (mlflow.log_input).",
    "experiments/search-datasets": "pmhub keeps datasets only as run inputs (mlflow.log_input).",
    "experiments/delete": "Experiments are pmhub models: delete a model in pmhub, where it is audited.",
    "experiments/restore": "Experiments are pmhub models; pmhub does not soft-delete them.",
    "experiments/delete-experiment-tag": "The only experiment tag pmhub keeps is mlflow.note.content.",
}

ROUTES = {}
PATTERN_ROUTES = []  # (compiled regex, methods, handler(user, data, method, **groups))


def route(path: str, *methods: str):
    def register(fn):
        ROUTES[path] = (set(methods), fn)
        return fn
    return register


def pattern_route(pattern: str, *methods: str):
    """An endpoint with ids in its path (MLflow 3's logged-models/{model_id}/...)."""
    def register(fn):
        PATTERN_ROUTES.append((re.compile(f"^{pattern}$"), set(methods), fn))
        return fn
    return register


def _match_pattern(endpoint: str):
    for regex, methods, fn in PATTERN_ROUTES:
        found = regex.match(endpoint)
        if found:
            return methods, fn, found.groupdict()
    return None


# --- plumbing -----------------------------------------------------------------------------


def _authenticate(request):
    """Bearer (MLFLOW_TRACKING_TOKEN) or Basic with a pmhub API token as the password."""
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    raw = None
    if scheme.lower() in ("bearer", "token"):
        raw = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            _user, _, raw = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise MlflowError("Malformed basic authorization header.", UNAUTHENTICATED) from None
    if not raw:
        raise MlflowError("Authentication required: set MLFLOW_TRACKING_TOKEN to a pmhub API token "
                          "(profile page, Create token), or MLFLOW_TRACKING_PASSWORD to one.", UNAUTHENTICATED)
    token = api_token_authenticate(raw=raw)
    if token is None:
        raise MlflowError("Invalid or revoked pmhub API token.", UNAUTHENTICATED)
    return token.user


def _request_data(request) -> dict:
    if request.method == "GET":
        return {k: (request.GET.getlist(k) if k in LIST_FIELDS else request.GET.get(k)) for k in request.GET}
    if not request.body:
        return {}
    try:
        data = jsonbody.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise MlflowError("The request body is not valid JSON.", BAD_REQUEST) from None
    if not isinstance(data, dict):
        raise MlflowError("The request body must be a JSON object.", BAD_REQUEST)
    return data


def _error(exc: MlflowError) -> JsonResponse:
    return exc.response()


@csrf_exempt
def dispatch(request, endpoint: str):
    try:
        user = _authenticate(request)
        endpoint = endpoint.strip("/")
        if endpoint not in ROUTES and (matched := _match_pattern(endpoint)):
            methods, handler, groups = matched
            if request.method not in methods:
                raise MlflowError(f"Use {' or '.join(sorted(methods))} for {endpoint}.", BAD_REQUEST, status=405)
            return JsonResponse(handler(user, _request_data(request), request.method, **groups))
        if endpoint not in ROUTES:
            for prefix, reason in UNSUPPORTED.items():
                if endpoint == prefix or endpoint.startswith(prefix + "/"):
                    raise unsupported(reason)
            raise MlflowError(f"No MLflow endpoint '{endpoint}' in pmhub.", ENDPOINT_NOT_FOUND)
        methods, handler = ROUTES[endpoint]
        if request.method not in methods:
            raise MlflowError(f"Use {' or '.join(sorted(methods))} for {endpoint}.", BAD_REQUEST, status=405)
        return JsonResponse(handler(user, _request_data(request)))
    except Exception as exc:  # noqa: BLE001 - only ours are turned into MLflow errors
        error = from_exception(exc)
        if error is None:
            raise
        return _error(error)


@csrf_exempt
def elsewhere(request, rest: str = ""):
    """Anything else under the MLflow prefix (artifact proxy, UI, other API versions)."""
    try:
        _authenticate(request)
        if rest.startswith(("api/2.0/mlflow-artifacts", "ajax-api/2.0/mlflow-artifacts")):
            raise MlflowError(f"No artifact endpoint '/{rest}'; pmhub serves mlflow-artifacts/artifacts, "
                              "mlflow-artifacts/mpu/{create,complete,abort}.", ENDPOINT_NOT_FOUND)
        if rest.startswith(("v1/traces", "api/3.0/mlflow/traces", "ajax-api/3.0/mlflow/traces")):
            raise unsupported(UNSUPPORTED["traces"])
        raise MlflowError(f"No MLflow endpoint '/{rest}' in pmhub; pmhub speaks the tracking API under "
                          "api/2.0/mlflow/.", ENDPOINT_NOT_FOUND)
    except MlflowError as exc:
        return _error(exc)


def _experiment(user, data) -> object:
    experiment_id = m.get_str(data, "experiment_id", required=True)
    model = sel.experiment_get_for_user(user=user, experiment_id=experiment_id)
    if model is None:
        hint = (" MLflow's Default experiment does not exist in pmhub: call "
                "mlflow.set_experiment('<product-slug>/<model-name>') first." if experiment_id == "0" else "")
        raise not_found(f"No experiment with id={experiment_id} that you can see.{hint}")
    return model


def _run(user, data, *, for_write: bool = False, metric_key=None):
    run_id = m.get_str(data, "run_id", required=True, aliases=("run_uuid",))
    if for_write:
        run = sel.run_get_for_write(user=user, run_id=run_id,
                                    metric_key=metric_key if isinstance(metric_key, str) else None)
    else:
        run = sel.run_get_for_user(user=user, run_id=run_id)
    if run is None:
        raise not_found(f"Run '{run_id}' not found.")
    return run


def _run_json(run) -> dict:
    return m.run_json(run, sel.run_latest_metrics(version_ids=[run.version_id]).get(run.version_id, []))


# --- experiments -----------------------------------------------------------------------


@route("experiments/create", "POST")
def experiment_create(user, data):
    name = m.get_str(data, "name", required=True)
    if m.get_str(data, "artifact_location"):
        raise invalid("pmhub keeps an experiment's artifacts itself (mlflow-artifacts:/<experiment id>); "
                      "create the experiment without artifact_location.")
    tags = dict(m.key_values(m.get_list(data, "tags"), "tags"))
    model = svc.mlflow_experiment_create(actor=user, name=name, tags=tags)
    return {"experiment_id": str(model.pk)}


@route("experiments/get", "GET")
def experiment_get(user, data):
    return {"experiment": m.experiment_json(_experiment(user, data))}


@route("experiments/get-by-name", "GET")
def experiment_get_by_name(user, data):
    name = m.get_str(data, "experiment_name", required=True)
    model = sel.experiment_get_by_name_for_user(user=user, name=name)
    if model is None:
        raise not_found(f"Could not find experiment with name '{name}'.")
    return {"experiment": m.experiment_json(model)}


@route("experiments/search", "POST", "GET")
def experiment_search(user, data):
    max_results = m.get_int(data, "max_results", default=1000)
    if not 1 <= max_results <= MAX_EXPERIMENTS_PER_PAGE:
        raise invalid(f"max_results must be between 1 and {MAX_EXPERIMENTS_PER_PAGE}.")
    view_type = m.get_str(data, "view_type") or "ACTIVE_ONLY"
    if view_type not in VIEW_TYPES:
        raise invalid(f"view_type must be one of {', '.join(VIEW_TYPES)}.")
    clauses = search.parse_filter(m.get_str(data, "filter"), default_entity="attributes")
    order = search.parse_order_by(data.get("order_by") or [], default_entity="attributes",
                                  attributes=EXPERIMENT_ATTRIBUTES)
    offset = m.page_offset(m.get_str(data, "page_token"))
    rows = [] if view_type == "DELETED_ONLY" else [m.experiment_row(x) for x in sel.experiment_list_for_user(user=user)]
    rows = [r for r in rows if search.matches(r, clauses)]
    rows = search.sort_rows(rows, order or [("attributes", "last_update_time", True)])
    page = rows[offset:offset + max_results]
    out = {"experiments": [m.experiment_json(r["model"]) for r in page]}
    if offset + max_results < len(rows):
        out["next_page_token"] = m.page_token(offset + max_results)
    return out


@route("experiments/update", "POST")
def experiment_update(user, data):
    model = _experiment(user, data)
    svc.mlflow_experiment_rename(actor=user, model=model, new_name=m.get_str(data, "new_name", required=True))
    return {}


@route("experiments/set-experiment-tag", "POST")
def experiment_tag_set(user, data):
    model = _experiment(user, data)
    key = m.get_str(data, "key", required=True)
    svc.mlflow_experiment_tag_set(actor=user, model=model, key=key, value=data.get("value") or "")
    return {}


# --- runs -----------------------------------------------------------------------------------


@route("runs/create", "POST")
def run_create(user, data):
    model = _experiment(user, data)
    start = m.get_int(data, "start_time")
    run = svc.mlflow_run_create(
        actor=user, model=model, run_name=m.get_str(data, "run_name") or "",
        start_time=svc.ms_to_datetime(start) if start is not None else None,
        user_id=m.get_str(data, "user_id") or "", tags=m.key_values(m.get_list(data, "tags"), "tags"),
    )
    return {"run": _run_json(run)}


@route("runs/get", "GET")
def run_get(user, data):
    return {"run": _run_json(_run(user, data))}


@route("runs/update", "POST")
def run_update(user, data):
    run = _run(user, data)
    end = m.get_int(data, "end_time")
    run = svc.mlflow_run_update(actor=user, run=run, status=m.get_str(data, "status"),
                                end_time=svc.ms_to_datetime(end) if end is not None else None,
                                run_name=m.get_str(data, "run_name"))
    return {"run_info": m.run_info_json(run)}


@route("runs/delete", "POST")
def run_delete(user, data):
    svc.mlflow_run_lifecycle_set(actor=user, run=_run(user, data), deleted=True)
    return {}


@route("runs/restore", "POST")
def run_restore(user, data):
    svc.mlflow_run_lifecycle_set(actor=user, run=_run(user, data), deleted=False)
    return {}


@route("runs/search", "POST", "GET")
def run_search(user, data):
    experiment_ids = [str(x) for x in m.get_list(data, "experiment_ids")]
    max_results = m.get_int(data, "max_results", default=DEFAULT_RUNS_PER_PAGE)
    if not 1 <= max_results <= MAX_RUNS_PER_PAGE:
        raise invalid(f"max_results must be between 1 and {MAX_RUNS_PER_PAGE}.")
    view_type = m.get_str(data, "run_view_type") or "ACTIVE_ONLY"
    if view_type not in VIEW_TYPES:
        raise invalid(f"run_view_type must be one of {', '.join(VIEW_TYPES)}.")
    clauses = search.parse_filter(m.get_str(data, "filter"), default_entity=None)
    order = search.parse_order_by(data.get("order_by") or [], attributes=RUN_ATTRIBUTES)
    offset = m.page_offset(m.get_str(data, "page_token"))
    model_ids = []
    for experiment_id in experiment_ids:
        try:
            model_ids.append(int(experiment_id))
        except ValueError:
            raise invalid(f"Experiment id {experiment_id!r} is not a pmhub experiment id.") from None
    runs = list(sel.run_list_for_user(user=user).filter(version__model_id__in=model_ids,
                                                        lifecycle_stage__in=VIEW_TYPES[view_type]))
    latest = sel.run_latest_metrics(version_ids=[r.version_id for r in runs])
    rows = [m.run_row(r, latest.get(r.version_id, [])) for r in runs]
    rows = [r for r in rows if search.matches(r, clauses)]
    rows = search.sort_rows(rows, order or [("attributes", "start_time", True)])
    page = rows[offset:offset + max_results]
    out = {"runs": [m.run_json(r["run"], latest.get(r["run"].version_id, [])) for r in page]}
    if offset + max_results < len(rows):
        out["next_page_token"] = m.page_token(offset + max_results)
    return out


def _metric_from(data: dict, where: str) -> svc.MetricLog:
    key = data.get("key")
    if not isinstance(key, str):
        raise invalid(f"{where}.key must be a string.")
    # model_id / dataset_name / dataset_digest (MLflow 3 autolog sends them): the metric is kept on the
    # run; the link is not (a logged model's metrics are its source run's, see README "MLflow").
    value = m.to_float(data.get("value"), f"{where}.value")
    return svc.MetricLog(key=key, value=value, timestamp=m.get_int(data, "timestamp", required=True),
                         step=m.get_int(data, "step", default=0))


@route("runs/log-metric", "POST")
def log_metric(user, data):
    run = _run(user, data, for_write=True, metric_key=data.get("key"))
    metrics = svc.metrics_checked([data]) or [_metric_from(data, "metric")]
    svc.mlflow_run_log_batch(actor=user, run=run, metrics=metrics)
    return {}


@route("runs/log-parameter", "POST")
def log_param(user, data):
    run = _run(user, data)
    key = m.get_str(data, "key", required=True)
    value = data.get("value")
    svc.mlflow_run_log_batch(actor=user, run=run, params=[(key, "" if value is None else value)])
    return {}


@route("runs/set-tag", "POST")
def set_tag(user, data):
    run = _run(user, data)
    key = m.get_str(data, "key", required=True)
    value = data.get("value")
    svc.mlflow_run_log_batch(actor=user, run=run, tags=[(key, "" if value is None else value)])
    return {}


@route("runs/delete-tag", "POST")
def delete_tag(user, data):
    svc.mlflow_run_tag_delete(actor=user, run=_run(user, data), key=m.get_str(data, "key", required=True))
    return {}


@route("runs/log-batch", "POST")
def log_batch(user, data):
    run = _run(user, data, for_write=True)
    raw_metrics = m.get_list(data, "metrics")
    if len(raw_metrics) > svc.MAX_METRICS_PER_BATCH:  # refuse before parsing a huge body
        raise invalid(f"A log-batch request may carry at most {svc.MAX_METRICS_PER_BATCH} metrics; "
                      f"this one has {len(raw_metrics)}.")
    metrics = svc.metrics_checked(raw_metrics)
    if metrics is None:  # something to convert or to refuse: the careful path names it
        metrics = []
        for i, item in enumerate(raw_metrics):
            if not isinstance(item, dict):
                raise invalid(f"metrics[{i}] must be an object.")
            metrics.append(_metric_from(item, f"metrics[{i}]"))
    svc.mlflow_run_log_batch(actor=user, run=run, metrics=metrics,
                             params=m.key_values(m.get_list(data, "params"), "params"),
                             tags=m.key_values(m.get_list(data, "tags"), "tags"))
    return {}


@route("runs/log-inputs", "POST")
def log_inputs(user, data):
    run = _run(user, data)
    if m.get_list(data, "models"):
        raise unsupported(UNSUPPORTED["runs/log-inputs:models"])
    datasets = m.get_list(data, "datasets")
    if datasets:
        svc.mlflow_run_inputs_log(actor=user, run=run, datasets=datasets)
    return {}


# --- metric history ---------------------------------------------------------------------


@route("metrics/get-history", "GET")
def metric_history(user, data):
    run = _run(user, data)
    key = m.get_str(data, "metric_key", required=True)
    limit = m.get_int(data, "max_results")
    if limit is not None and not 1 <= limit <= 25_000:
        raise invalid("max_results must be between 1 and 25000.")
    offset = m.page_offset(m.get_str(data, "page_token"))
    points = sel.run_metric_history(run=run, key=key, offset=offset, limit=limit + 1 if limit else None)
    out = {"metrics": [m.metric_json(key, value, ts, step) for ts, step, value in points[:limit]]}
    if limit and len(points) > limit:
        out["next_page_token"] = m.page_token(offset + limit)
    return out


@route("metrics/get-history-bulk-interval", "GET")
def metric_history_bulk_interval(user, data):
    run_ids = data.get("run_ids") or []
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if not run_ids:
        raise invalid("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > sel.MAX_HISTORY_BULK_RUNS:
        raise invalid(f"GetMetricHistoryBulkInterval request must specify at most {sel.MAX_HISTORY_BULK_RUNS} "
                      f"run_ids. Received {len(run_ids)} run_ids.")
    key = m.get_str(data, "metric_key", required=True)
    max_results = m.get_int(data, "max_results", default=sel.MAX_HISTORY_BULK_RESULTS)
    if not 1 <= max_results <= sel.MAX_HISTORY_BULK_RESULTS:
        raise invalid(f"max_results must be between 1 and {sel.MAX_HISTORY_BULK_RESULTS}.")
    start, end = m.get_int(data, "start_step"), m.get_int(data, "end_step")
    if (start is None) != (end is None):
        raise invalid("If either start step or end step are specified, both must be specified.")
    if start is not None and start > end:
        raise invalid(f"end_step must be greater than start_step. Found start_step={start} and end_step={end}.")
    runs = []
    for run_id in run_ids:
        run = sel.run_get_for_user(user=user, run_id=run_id)
        if run is None:
            raise not_found(f"Run '{run_id}' not found.")
        runs.append(run)
    rows = sel.metric_history_bulk_interval(runs=runs, key=key, max_results=max_results, start_step=start,
                                            end_step=end)
    return {"metrics": [m.metric_json(key, value, ts, step, run_id=run.run_uuid) for run, ts, step, value in rows]}

