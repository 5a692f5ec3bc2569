"""The official MLflow client (mlflow-skinny, pinned in requirements-dev.txt) logs a
realistic run to a live pmhub (gunicorn) and reads it back, unchanged."""
import json
import os
import subprocess
import sys

import pytest
import requests
from django.urls import reverse

from kpis.ml.mlflow.models import MlflowRun
from kpis.ml.models import AIModel, ModelMetric, ModelVersion
from kpis.timeseries.models import Point
from pmhub.services import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
HERE = os.path.dirname(__file__)


def run_client(code_or_script, base_url, token, *args, timeout=180, **extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=f"{base_url}/mlflow", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
               MLFLOW_HTTP_REQUEST_TIMEOUT="60", GIT_PYTHON_REFRESH="quiet", PYTHONUNBUFFERED="1", **extra_env)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    cmd = [sys.executable, code_or_script, *args] if code_or_script.endswith(".py") else \
        [sys.executable, "-c", code_or_script, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc


@pytest.fixture
def team(db):
    product = factories.ProductFactory(slug="search", name="Search")
    return product, factories.member(product, "data_scientist", "ds"), factories.member(product, "viewer", "exec")


def test_official_client_logs_a_training_run_and_reads_it_back(gunicorn_server, team):
    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="training jobs")
    proc = run_client(os.path.join(HERE, "mlflow_training_script.py"), gunicorn_server, token, "search/ranker")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])

    # What the client read back.
    assert out["run"]["status"] == "FINISHED" and out["run"]["end_time"]
    assert out["run"]["run_name"] == "v1"
    assert out["run"]["params"] == {"learning_rate": "0.01", "layers": "3", "optimizer": "adam"}
    assert out["run"]["metrics"]["val_acc"] == 0.91
    assert out["run"]["metrics"]["train_loss"] == pytest.approx(1 / 200)
    assert out["run"]["tags"]["team"] == "search"
    assert out["run"]["tags"]["mlflow.runName"] == "v1"
    assert out["overwrite_error"] == "INVALID_PARAMETER_VALUE"
    assert out["failed_status"] == "FAILED"
    assert [s for s, _ in out["history"]] == list(range(200))
    assert out["retried_history_len"] == 300
    assert out["by_name"] == out["experiment_id"]
    assert out["experiments"] == ["search/ranker"]
    assert out["search"] == ["v1"]
    assert out["all_runs"] == ["v1", "v2-crash", "v3-retry"]

    # What pmhub holds: the experiment is a model, the runs are development versions.
    model = AIModel.objects.get(product=product, name="ranker")
    assert str(model.pk) == out["experiment_id"]
    versions = {v.version: v for v in ModelVersion.objects.filter(model=model)}
    assert set(versions) == {"v1", "v2-crash", "v3-retry"}
    assert {v.stage for v in versions.values()} == {"development"}
    assert versions["v1"].params == {"learning_rate": "0.01", "layers": "3", "optimizer": "adam"}
    assert MlflowRun.objects.get(run_uuid=out["failed_run_id"]).status == "FAILED"
    loss = ModelMetric.objects.get(version=versions["v1"], key="train_loss")
    assert Point.objects.filter(series_id=loss.series_id).count() == 200
    retried = ModelMetric.objects.get(version=versions["v3-retry"], key="eval_acc")
    assert Point.objects.filter(series_id=retried.series_id).count() == 300

    # pmhub's own API shows the same run as a version with its params and metric history.
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    listed = api.get(f"{gunicorn_server}/api/v1/models/{model.pk}/versions/").json()
    listed = listed["results"] if isinstance(listed, dict) else listed
    v1 = next(v for v in listed if v["version"] == "v1")
    assert v1["stage"] == "development" and v1["params"]["optimizer"] == "adam"
    history = api.get(f"{gunicorn_server}/api/v1/model-versions/{v1['id']}/metrics/", params={"key": "train_loss"})
    assert history.status_code == 200, history.text
    assert [p["step"] for p in history.json()["points"]] == list(range(200))

    # And the model page: versions compared, the MLflow runs panel with the failed run.
    page = requests.Session()
    login = page.get(f"{gunicorn_server}/login/")
    page.post(f"{gunicorn_server}/login/", data={"username": "ds", "password": factories.PASSWORD,
                                                 "csrfmiddlewaretoken": page.cookies["csrftoken"]},
              headers={"Referer": login.url})
    html = page.get(f"{gunicorn_server}{reverse('models:detail', args=[product.slug, model.pk])}").text
    assert "MLflow runs" in html and "v2-crash" in html and "Failed" in html and out["run_id"] in html
    assert 'mlflow.set_experiment("search/ranker")' in html



REFUSALS = r"""
import json, sys, mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except MlflowException as exc:
        out[name] = exc.error_code
        out[name + "_msg"] = str(exc)[:300]
    except Exception as exc:  # the artifact repository raises requests' HTTPError
        out[name] = type(exc).__name__
        out[name + "_msg"] = str(exc)[-300:]
attempt("read", lambda: MlflowClient().get_experiment_by_name("search/ranker"))
attempt("create_experiment", lambda: mlflow.set_experiment("search/other"))
attempt("log", lambda: MlflowClient().log_metric(sys.argv[1], "x", 1.0))
attempt("artifact", lambda: MlflowClient().list_artifacts(sys.argv[1]))
attempt("registry", lambda: MlflowClient().create_registered_model("m"))
print("RESULT " + json.dumps(out))
"""


def test_official_client_gets_mlflow_errors_for_refusals(gunicorn_server, team):
    product, ds, viewer = team
    _, ds_token = api_token_create(user=ds, name="jobs")
    setup = run_client(
        "import mlflow; mlflow.set_experiment('search/ranker'); r = mlflow.start_run(run_name='v1');"
        "print('RESULT', r.info.run_id)", gunicorn_server, ds_token)
    assert setup.returncode == 0, setup.stderr[-3000:]
    run_id = setup.stdout.split("RESULT ", 1)[1].split()[0]

    _, viewer_token = api_token_create(user=viewer, name="reads")
    proc = run_client(REFUSALS, gunicorn_server, viewer_token, run_id)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert out["read"] == "ok"
    assert out["create_experiment"] == "PERMISSION_DENIED"
    assert out["log"] == "PERMISSION_DENIED", out["log_msg"]
    assert out["registry"] == "INVALID_PARAMETER_VALUE"  # "m" is not <product-slug>.<model-name>
    assert out["artifact"] == "ok"  # viewers read artifacts

    basic = run_client(REFUSALS, gunicorn_server, "", run_id, MLFLOW_TRACKING_USERNAME="anyone",
                       MLFLOW_TRACKING_PASSWORD=viewer_token)
    out = json.loads(basic.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert out["read"] == "ok" and out["log"] == "PERMISSION_DENIED"

    anonymous = run_client(REFUSALS, gunicorn_server, "", run_id)
    out = json.loads(anonymous.stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert out["read"] == "UNAUTHENTICATED" and out["log"] == "UNAUTHENTICATED"
    assert not Point.objects.exists()
