"""pmhub objects as MLflow JSON (the shapes of mlflow/protos/service.proto) and MLflow
request fields as Python values. Times are milliseconds since the epoch, int64
fields are JSON numbers, as MLflow's own server answers.
"""
from __future__ import annotations

import base64
import json
import math

from kpis.ml.mlflow.models import MlflowRun
from kpis.ml.mlflow.services import NOTE_TAG, RUN_NAME_TAG, datetime_to_ms, param_value_str
from kpis.ml.models import AIModel

from kpis.ml.mlflow.errors import invalid

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


# --- requests ----------------------------------------------------------------------------


def get_str(data: dict, name: str, *, required: bool = False, aliases: tuple[str, ...] = ()) -> str | None:
    for field in (name, *aliases):
        value = data.get(field)
        if value not in (None, ""):
            if not isinstance(value, str):
                raise invalid(f"Field '{field}' must be a string.")
            return value
    if required:
        raise invalid(f"Missing value for required parameter '{name}'.")
    return None


def get_int(data: dict, name: str, *, required: bool = False, default=None) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise invalid(f"Missing value for required parameter '{name}'.")
        return default
    if isinstance(value, bool):
        raise invalid(f"Field '{name}' must be an integer.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise invalid(f"Field '{name}' must be an integer, got {value!r}.") from None
    if not isinstance(value, int) or not INT64_MIN <= value <= INT64_MAX:
        raise invalid(f"Field '{name}' must be a 64-bit integer.")
    return value


def to_float(value, field: str) -> float:
    """A double as proto3 JSON allows it: a number, or a string such as "NaN" or "1.5"."""
    if isinstance(value, bool) or value is None:
        raise invalid(f"Field '{field}' must be a number.")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(f"Field '{field}' must be a number, got {value!r}.")


def get_list(data: dict, name: str) -> list:
    value = data.get(name) or []
    if not isinstance(value, list):
        raise invalid(f"Field '{name}' must be a list.")
    return value


def key_values(items: list, field: str) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"{field}[{i}] must be an object {{key, value}}.")
        key, value = item.get("key"), item.get("value", "")
        if not isinstance(key, str):
            raise invalid(f"{field}[{i}].key must be a string.")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise invalid(f"{field}[{i}].value must be a string.")
        out.append((key, value))
    return out


def page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()).decode())["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise invalid(f"Invalid page token {token!r}.")


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


# --- responses ---------------------------------------------------------------------------


def experiment_name(model: AIModel) -> str:
    return f"{model.product.slug}/{model.name}"


def experiment_json(model: AIModel) -> dict:
    out = {
        "experiment_id": str(model.pk),
        "name": experiment_name(model),
        "artifact_location": f"mlflow-artifacts:/{model.pk}",
        "lifecycle_stage": "active",
        "creation_time": datetime_to_ms(model.created_at),
        "last_update_time": datetime_to_ms(model.updated_at),
    }
    if model.description:
        out["tags"] = [{"key": NOTE_TAG, "value": model.description}]
    return out


def experiment_row(model: AIModel) -> dict:
    data = experiment_json(model)
    return {
        "attributes": {"name": data["name"], "experiment_id": data["experiment_id"],
                       "creation_time": data["creation_time"], "last_update_time": data["last_update_time"]},
        "tags": {t["key"]: t["value"] for t in data.get("tags", [])},
        "metrics": {}, "params": {}, "model": model,
    }


def run_tags(run: MlflowRun) -> dict[str, str]:
    tags = dict(run.tags or {})
    tags[RUN_NAME_TAG] = run.version.version
    if run.version.notes:
        tags[NOTE_TAG] = run.version.notes
    return tags


def run_info_json(run: MlflowRun) -> dict:
    info = {
        "run_id": run.run_uuid,
        "run_uuid": run.run_uuid,
        "run_name": run.version.version,
        "experiment_id": str(run.version.model_id),
        "user_id": run.user_id,
        "status": run.status,
        "start_time": datetime_to_ms(run.start_time),
        "artifact_uri": f"mlflow-artifacts:/{run.version.model_id}/{run.run_uuid}/artifacts",
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time is not None:
        info["end_time"] = datetime_to_ms(run.end_time)
    return info


def metric_json(key: str, value: float, ts, step: int, **extra) -> dict:
    return {"key": key, "value": value if math.isfinite(value) else str(value), "timestamp": datetime_to_ms(ts),
            "step": step, **extra}


def run_json(run: MlflowRun, latest_metrics: list) -> dict:
    return {
        "info": run_info_json(run),
        "data": {
            "metrics": [metric_json(key, value, ts, step) for key, value, ts, step in latest_metrics],
            "params": [{"key": k, "value": param_value_str(v)} for k, v in sorted((run.version.params or {}).items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(run_tags(run).items())],
        },
        "inputs": {"dataset_inputs": list(run.dataset_inputs or [])},
        "outputs": {},
    }


def run_row(run: MlflowRun, latest_metrics: list) -> dict:
    info = run_info_json(run)
    return {
        "attributes": {k: info.get(k) for k in ("run_id", "run_name", "status", "start_time", "end_time",
                                                "user_id", "lifecycle_stage", "artifact_uri", "experiment_id")},
        "metrics": {key: value for key, value, _ts, _step in latest_metrics},
        "params": {k: param_value_str(v) for k, v in (run.version.params or {}).items()},
        "tags": run_tags(run),
        "run": run,
    }
