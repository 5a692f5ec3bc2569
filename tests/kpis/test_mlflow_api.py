"""pmhub's MLflow endpoints in-process: shapes, refusals, permissions. The official
client against a live server is in test_mlflow_client.py."""
import base64
import json
import time

import pytest
from django.test import Client

from kpis.ml.mlflow.models import MlflowRun
from kpis.ml.models import ModelMetric, ModelVersion
from kpis.timeseries.models import Point
from pmhub.models import AuditEvent
from pmhub.services import api_token_create

API = "/mlflow/api/2.0/mlflow/"


class Mlflow:
    """A tiny MLflow REST caller over Django's test client."""

    def __init__(self, user=None, auth=None):
        self.client = Client()
        if user is not None:
            _, raw = api_token_create(user=user, name="mlflow tests")
            auth = auth or f"Bearer {raw}"
            self.raw = raw
        self.headers = {"HTTP_AUTHORIZATION": auth} if auth else {}

    def post(self, endpoint, body=None, prefix=API):
        resp = self.client.post(prefix + endpoint, data=json.dumps(body or {}), content_type="application/json",
                                **self.headers)
        return resp.status_code, resp.json()

    def get(self, endpoint, params=None, prefix=API):
        resp = self.client.get(prefix + endpoint, params or {}, **self.headers)
        return resp.status_code, resp.json()


def now_ms():
    return int(time.time() * 1000)


@pytest.fixture
def ds(data_scientist):
    return Mlflow(data_scientist)


@pytest.fixture
def experiment(ds, product):
    status, body = ds.post("experiments/create", {"name": f"{product.slug}/ranker"})
    assert status == 200, body
    return body["experiment_id"]


@pytest.fixture
def run_id(ds, experiment):
    status, body = ds.post("runs/create", {"experiment_id": experiment, "run_name": "v1", "start_time": now_ms(),
                                           "tags": [{"key": "mlflow.user", "value": "alice"}]})
    assert status == 200, body
    return body["run"]["info"]["run_id"]


def test_experiment_is_a_model_named_product_slash_model(ds, product, experiment):
    status, body = ds.get("experiments/get-by-name", {"experiment_name": f"{product.slug}/ranker"})
    assert status == 200
    exp = body["experiment"]
    assert exp["experiment_id"] == experiment
    assert exp["name"] == f"{product.slug}/ranker"
    assert exp["lifecycle_stage"] == "active"
    assert product.ai_models.get().name == "ranker"
    status, body = ds.post("experiments/search", {"filter": "name LIKE '%/rank%'"})
    assert [e["name"] for e in body["experiments"]] == [f"{product.slug}/ranker"]


def test_experiment_create_refusals(ds, product, experiment, viewer):
    status, body = ds.post("experiments/create", {"name": f"{product.slug}/ranker"})
    assert (status, body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    status, body = ds.post("experiments/create", {"name": "ranker"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "<product-slug>/<model-name>" in body["message"]
    status, body = ds.post("experiments/create", {"name": "nowhere/ranker"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = Mlflow(viewer).post("experiments/create", {"name": f"{product.slug}/other"})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")
    status, body = ds.get("experiments/get", {"experiment_id": "0"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert "set_experiment" in body["message"]


def test_run_is_a_development_version_labelled_with_the_run_name(ds, experiment, run_id):
    run = MlflowRun.objects.select_related("version").get(run_uuid=run_id)
    assert run.version.version == "v1"
    assert run.version.stage == ModelVersion.Stage.DEVELOPMENT
    assert run.status == "RUNNING"
    status, body = ds.get("runs/get", {"run_id": run_id})
    info = body["run"]["info"]
    assert info["run_name"] == "v1" and info["experiment_id"] == experiment and info["status"] == "RUNNING"
    assert {"key": "mlflow.runName", "value": "v1"} in body["run"]["data"]["tags"]
    status, body = ds.post("runs/create", {"experiment_id": experiment, "run_name": "v1"})
    assert (status, body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")


def test_log_batch_stores_metrics_params_tags_once(ds, run_id):
    ts = now_ms()
    batch = {"run_id": run_id,
             "metrics": [{"key": "loss", "value": 1 / (s + 1), "timestamp": ts + s, "step": s} for s in range(100)],
             "params": [{"key": "lr", "value": "0.01"}],
             "tags": [{"key": "team", "value": "search"}]}
    assert ds.post("runs/log-batch", batch) == (200, {})
    assert ds.post("runs/log-batch", batch) == (200, {})  # a retry: nothing doubles
    run = MlflowRun.objects.select_related("version").get(run_uuid=run_id)
    assert run.version.params == {"lr": "0.01"}
    assert run.tags["team"] == "search"
    series = ModelMetric.objects.get(version=run.version, key="loss").series_id
    assert Point.objects.filter(series_id=series).count() == 100
    status, body = ds.get("metrics/get-history", {"run_id": run_id, "metric_key": "loss"})
    assert [p["step"] for p in body["metrics"]] == list(range(100))
    assert body["metrics"][0] == {"key": "loss", "value": 1.0, "timestamp": ts, "step": 0}
    status, body = ds.get("runs/get", {"run_id": run_id})
    assert body["run"]["data"]["metrics"] == [{"key": "loss", "value": 0.01, "timestamp": ts + 99, "step": 99}]


def test_params_are_immutable_but_relogging_the_same_value_is_fine(ds, run_id):
    assert ds.post("runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"}) == (200, {})
    assert ds.post("runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.01"}) == (200, {})
    status, body = ds.post("runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Changing param values is not allowed" in body["message"]
    assert ModelVersion.objects.get(mlflow_run__run_uuid=run_id).params == {"lr": "0.01"}


def test_bad_batch_changes_nothing(ds, run_id):
    ts = now_ms()
    bad = {"run_id": run_id, "params": [{"key": "a", "value": "1"}],
           "metrics": [{"key": "loss", "value": 0.5, "timestamp": ts, "step": 0},
                       {"key": "loss", "value": "NaN", "timestamp": ts, "step": 1}]}
    status, body = ds.post("runs/log-batch", bad)
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "finite" in body["message"]
    assert ModelVersion.objects.get(mlflow_run__run_uuid=run_id).params == {}
    assert not Point.objects.filter(series__model_metric__version__mlflow_run__run_uuid=run_id).exists()


@pytest.mark.parametrize("field, count", [("metrics", 1001), ("params", 101), ("tags", 101)])
def test_log_batch_limits(ds, run_id, field, count):
    ts = now_ms()
    items = ([{"key": "m", "value": 1.0, "timestamp": ts + i, "step": i} for i in range(count)] if field == "metrics"
             else [{"key": f"k{i}", "value": "v"} for i in range(count)])
    status, body = ds.post("runs/log-batch", {"run_id": run_id, field: items})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert f"{count - 1}" in body["message"]


def test_status_end_time_and_soft_delete(ds, experiment, run_id):
    end = now_ms()
    status, body = ds.post("runs/update", {"run_id": run_id, "status": "FAILED", "end_time": end})
    assert body["run_info"]["status"] == "FAILED" and body["run_info"]["end_time"] == end
    assert ds.post("runs/delete", {"run_id": run_id}) == (200, {})
    run = MlflowRun.objects.get(run_uuid=run_id)
    assert run.lifecycle_stage == "deleted" and ModelVersion.objects.filter(pk=run.version_id).exists()
    assert AuditEvent.objects.filter(action="mlflow_run.deleted").exists()
    status, body = ds.post("runs/search", {"experiment_ids": [experiment]})
    assert body == {"runs": []}
    status, body = ds.post("runs/search", {"experiment_ids": [experiment], "run_view_type": "DELETED_ONLY"})
    assert [r["info"]["run_id"] for r in body["runs"]] == [run_id]
    status, body = ds.post("runs/log-parameter", {"run_id": run_id, "key": "x", "value": "1"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert ds.post("runs/restore", {"run_id": run_id}) == (200, {})
    status, body = ds.post("runs/search", {"experiment_ids": [experiment]})
    assert [r["info"]["run_id"] for r in body["runs"]] == [run_id]


def test_search_runs_filters_and_orders(ds, experiment):
    ts = now_ms()
    for label, acc in [("a", 0.7), ("b", 0.9), ("c", 0.8)]:
        _, body = ds.post("runs/create", {"experiment_id": experiment, "run_name": label, "start_time": ts})
        rid = body["run"]["info"]["run_id"]
        ds.post("runs/log-batch", {"run_id": rid, "metrics": [{"key": "acc", "value": acc, "timestamp": ts}],
                                   "params": [{"key": "opt", "value": "adam" if label != "c" else "sgd"}]})
    _, body = ds.post("runs/search", {"experiment_ids": [experiment], "filter": "metrics.acc > 0.75",
                                      "order_by": ["metrics.acc DESC"]})
    assert [r["info"]["run_name"] for r in body["runs"]] == ["b", "c"]
    _, body = ds.post("runs/search", {"experiment_ids": [experiment],
                                      "filter": "params.opt = 'adam' and tags.`mlflow.runName` != 'b'"})
    assert [r["info"]["run_name"] for r in body["runs"]] == ["a"]
    _, body = ds.post("runs/search", {"experiment_ids": [experiment], "max_results": 2,
                                      "order_by": ["attributes.run_name"]})
    assert [r["info"]["run_name"] for r in body["runs"]] == ["a", "b"]
    _, body = ds.post("runs/search", {"experiment_ids": [experiment], "max_results": 2,
                                      "order_by": ["attributes.run_name"], "page_token": body["next_page_token"]})
    assert [r["info"]["run_name"] for r in body["runs"]] == ["c"]
    status, body = ds.post("runs/search", {"experiment_ids": [experiment], "filter": "metrics.acc > 1 OR x"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_history_bulk_interval_samples_steps(ds, run_id):
    ts = now_ms()
    ds.post("runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "loss", "value": float(s), "timestamp": ts, "step": s} for s in range(1000)]})
    status, body = ds.get("metrics/get-history-bulk-interval",
                          {"run_ids": [run_id], "metric_key": "loss", "max_results": 10})
    assert status == 200
    steps = [p["step"] for p in body["metrics"]]
    assert steps[0] == 0 and steps[-1] == 999 and len(steps) <= 12
    assert body["metrics"][0]["run_id"] == run_id
    status, body = ds.get("metrics/get-history-bulk-interval",
                          {"run_ids": [run_id], "metric_key": "loss", "start_step": 10, "end_step": 19},
                          prefix="/mlflow/ajax-api/2.0/mlflow/")
    assert [p["step"] for p in body["metrics"]] == list(range(10, 20))


def test_viewer_reads_but_never_writes(product, viewer, ds, run_id):
    v = Mlflow(viewer)
    assert v.get("runs/get", {"run_id": run_id})[0] == 200
    status, body = v.post("runs/log-metric", {"run_id": run_id, "key": "x", "value": 1, "timestamp": now_ms()})
    assert (status, body["error_code"]) == (403, "PERMISSION_DENIED")


def test_outsider_sees_nothing(outsider, product, run_id, experiment):
    o = Mlflow(outsider)
    status, body = o.get("runs/get", {"run_id": run_id})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = o.get("experiments/get-by-name", {"experiment_name": f"{product.slug}/ranker"})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert o.post("experiments/search")[1] == {"experiments": []}


def test_outsider_cannot_log_into_a_run_it_cannot_see(outsider, ds, run_id):
    """log-metric and log-batch read the run and the caller's role in one query of their own."""
    from kpis.timeseries.models import Point

    before = Point.objects.count()
    o = Mlflow(outsider)
    status, body = o.post("runs/log-metric", {"run_id": run_id, "key": "x", "value": 1, "timestamp": now_ms()})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    status, body = o.post("runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "x", "value": 1, "timestamp": now_ms(), "step": 1}]})
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert Point.objects.count() == before
    # The data scientist's next log-metric goes to the key's series, found with the run.
    assert ds.post("runs/log-metric", {"run_id": run_id, "key": "x", "value": 2, "timestamp": now_ms(), "step": 3})[0] == 200
    assert ds.post("runs/log-metric", {"run_id": run_id, "key": "x", "value": 5, "timestamp": now_ms(), "step": 4})[0] == 200
    status, body = ds.get("metrics/get-history", {"run_id": run_id, "metric_key": "x"})
    assert status == 200 and [m["value"] for m in body["metrics"]] == [2.0, 5.0]


def test_no_anonymous_access_and_basic_auth(data_scientist, run_id):
    status, body = Mlflow().get("runs/get", {"run_id": run_id})
    assert (status, body["error_code"]) == (401, "UNAUTHENTICATED")
    status, body = Mlflow(auth="Bearer pmh_not-a-token").get("runs/get", {"run_id": run_id})
    assert (status, body["error_code"]) == (401, "UNAUTHENTICATED")
    _, raw = api_token_create(user=data_scientist, name="basic")
    basic = "Basic " + base64.b64encode(f"anyone:{raw}".encode()).decode()
    assert Mlflow(auth=basic).get("runs/get", {"run_id": run_id})[0] == 200
    status, body = Mlflow().get("anything", prefix="/mlflow/")
    assert status == 401


def test_what_pmhub_cannot_represent_is_refused(ds, run_id):
    status, body = ds.post("registered-models/create", {"name": "x"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")  # not <product-slug>.<model-name>
    status, body = ds.post("runs/log-inputs", {"run_id": run_id, "models": [{"model_id": "m-1"}]})
    assert (status, body["error_code"]) == (501, "NOT_IMPLEMENTED")
    resp = ds.client.delete(API + "model-versions/delete", data=json.dumps({"name": "x.y", "version": "1"}),
                            content_type="application/json", **ds.headers)
    assert resp.json()["error_code"] in ("RESOURCE_DOES_NOT_EXIST", "NOT_IMPLEMENTED")
    status, body = ds.get("artifacts/list", {"run_id": run_id})
    assert (status, body) == (200, {"root_uri": body["root_uri"]}) and body["root_uri"].startswith("mlflow-artifacts:/")
    resp = ds.client.put("/mlflow/api/2.0/mlflow-artifacts/artifacts/1/x/model.pkl", data=b"x", **ds.headers)
    assert resp.json()["error_code"] in ("RESOURCE_DOES_NOT_EXIST",)
    status, body = ds.post("v1/traces", prefix="/mlflow/")
    assert (status, body["error_code"]) == (501, "NOT_IMPLEMENTED")
    status, body = ds.post("no-such-thing")
    assert (status, body["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


def test_log_inputs_keeps_datasets_once(ds, run_id):
    item = {"dataset": {"name": "train", "digest": "abc123", "source_type": "local", "source": "{}"},
            "tags": [{"key": "mlflow.data.context", "value": "training"}]}
    assert ds.post("runs/log-inputs", {"run_id": run_id, "datasets": [item]}) == (200, {})
    assert ds.post("runs/log-inputs", {"run_id": run_id, "datasets": [item]}) == (200, {})
    _, body = ds.get("runs/get", {"run_id": run_id})
    inputs = body["run"]["inputs"]["dataset_inputs"]
    assert len(inputs) == 1 and inputs[0]["dataset"]["name"] == "train"


def test_model_page_panel_lists_runs_and_tells_loggers_how(rf, product, ds, run_id, viewer, data_scientist):
    from kpis.ml.mlflow.panels import mlflow_runs

    ds.post("runs/update", {"run_id": run_id, "status": "FAILED", "end_time": now_ms()})
    model = product.ai_models.get()
    request = rf.get("/")
    request.user = data_scientist
    html = mlflow_runs(request, model)
    assert "MLflow runs" in html and run_id in html and "Failed" in html and "alice" in html
    assert f'mlflow.set_experiment("{product.slug}/ranker")' in html
    request.user = viewer
    html = mlflow_runs(request, model)
    assert run_id in html and "set_experiment" not in html


def test_renaming_a_run_renames_its_development_version(ds, experiment, run_id):
    status, body = ds.post("runs/update", {"run_id": run_id, "run_name": "v1-final"})
    assert status == 200 and body["run_info"]["run_name"] == "v1-final"
    assert ds.post("runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "v1b"}) == (200, {})
    assert ModelVersion.objects.get(mlflow_run__run_uuid=run_id).version == "v1b"
    ds.post("runs/create", {"experiment_id": experiment, "run_name": "v2"})
    status, body = ds.post("runs/update", {"run_id": run_id, "run_name": "v2"})
    assert (status, body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    status, body = ds.post("runs/update", {"run_id": run_id, "run_name": "a/b"})
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert ModelVersion.objects.get(mlflow_run__run_uuid=run_id).version == "v1b"
