"""The Python client and the `pmhub` CLI against a live gunicorn on the test database."""
import math
import os
import subprocess
import sys

import pytest
import requests

from kpis.ml.models import ModelVersion
from kpis.timeseries.models import Point
from pmhub.models import AuditEvent
from pmhub.services import api_token_create
from pmhub_client import PMHub, PMHubError
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team():
    product = factories.ProductFactory(slug="smart-reply", name="Smart Reply")
    ds = factories.member(product, "data_scientist", "dana")
    viewer = factories.member(product, "viewer", "vic")
    return product, api_token_create(user=ds, name="training")[1], api_token_create(user=viewer, name="read")[1]


def test_training_run_logged_with_client_reads_back_through_api(gunicorn_server, team):
    product, token, viewer_token = team
    with PMHub(gunicorn_server, token, product="smart-reply", batch_size=250) as hub:
        hub.create_model("reply-ranker", task="ranking", primary_metric="ndcg@10")
        hub.create_version("reply-ranker", "1", params={"lr": 3e-4, "layers": 6}, notes="baseline")
        hub.create_version("reply-ranker", "2", params={"lr": 1e-4, "layers": 12})
        for version, speed in (("1", 0.01), ("2", 0.02)):
            for step in range(300):  # a training run: 600 entries per version, sent in batches of 250
                loss = 2.0 * math.exp(-speed * step) + 0.1
                hub.log_metrics("reply-ranker", version, {"train/loss": loss, "lr": 3e-4}, step=step)
            hub.log_metrics("reply-ranker", version, {"ndcg@10": 0.61 if version == "1" else 0.67})  # evaluation
        hub.flush()
        assert hub.metrics("reply-ranker", "2") == {"lr": 3e-4, "ndcg@10": 0.67,
                                                    "train/loss": pytest.approx(2.0 * math.exp(-0.02 * 299) + 0.1)}
        promoted = hub.promote("reply-ranker", "1", expected_production=None)
        assert promoted["stage"] == "production"
        hub.promote("reply-ranker", "2", note="better ndcg", expected_production="1")
        # A promote that lost a race is refused: 409, nothing changes.
        with pytest.raises(PMHubError) as exc:
            hub.promote("reply-ranker", "1", expected_production="1")
        assert exc.value.status == 409

    assert Point.objects.count() == 2 * (300 * 2 + 1)  # per version: loss and lr per step, one evaluation
    # Read it back through the plain API, as a viewer.
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {viewer_token}"
    version = s.get(f"{gunicorn_server}/api/v1/model-versions/",
                    params={"product": "smart-reply", "model_name": "reply-ranker", "version": "2"}).json()["results"][0]
    assert version["stage"] == "production" and version["params"] == {"lr": 1e-4, "layers": 12}
    history = s.get(f"{gunicorn_server}/api/v1/model-versions/{version['id']}/metrics/",
                    params={"key": "train/loss"}).json()
    assert [p["step"] for p in history["points"]] == list(range(300))
    assert history["points"][0]["value"] == pytest.approx(2.1)
    curve = s.get(f"{gunicorn_server}/api/v1/model-versions/{version['id']}/metrics/",
                  params={"key": "train/loss", "bucket": "steps", "max_points": 30}).json()["points"]
    assert len(curve) == 30 and curve[-1]["step"] == 299
    assert dict(ModelVersion.objects.values_list("version", "stage")) == {"1": "archived", "2": "production"}
    assert AuditEvent.objects.filter(action="model_version.promoted").count() == 2

    # A viewer's client is refused writes with a clear error; nothing is stored.
    with pytest.raises(PMHubError) as exc:
        with PMHub(gunicorn_server, viewer_token, product="smart-reply") as viewer_hub:
            viewer_hub.log_metrics("reply-ranker", "2", {"accuracy": 0.5}, step=1)
    assert exc.value.status == 403
    with pytest.raises(PMHubError) as exc:
        PMHub(gunicorn_server, viewer_token).promote("reply-ranker", "1")
    assert exc.value.status == 403
    assert ModelVersion.objects.get(version="2").stage == "production"


def test_client_retries_store_nothing_twice_and_refuses_bad_input(gunicorn_server, team):
    product, token, _ = team
    hub = PMHub(gunicorn_server, token, product="smart-reply", batch_size=10_000)
    hub.create_model("churn", primary_metric="auc")
    hub.create_version("churn", "a")
    for step in range(100):
        hub.log_metrics("churn", "a", {"auc": 0.5 + step / 1000}, step=step)
    batch = list(hub._buffer[hub._version_id("churn", "a", None)])
    hub.flush()
    hub._send(hub._version_id("churn", "a", None), batch)  # what a retry after a lost answer sends
    assert Point.objects.count() == 100

    with pytest.raises(ValueError):
        hub.log_metrics("churn", "a", {"auc": float("nan")})
    with pytest.raises(PMHubError) as exc:
        hub.log_metrics("churn", "nope", {"auc": 0.5})
    assert exc.value.status == 404 and "Unknown model or version" in str(exc.value)
    with pytest.raises(PMHubError) as exc:
        hub._send(hub._version_id("churn", "a", None), [{"key": "x" * 251, "value": 1.0}])
    assert exc.value.status == 400 and "metrics[0].key" in exc.value.errors
    with pytest.raises(PMHubError) as exc:
        PMHub("http://127.0.0.1:9", token, retries=1, backoff=0.01).models()
    assert exc.value.status is None and "Cannot reach" in str(exc.value)
    assert Point.objects.count() == 100


def _cli(*args, env):
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "pmhub"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_logs_and_promotes_with_url_and_token_from_environment(gunicorn_server, team):
    product, token, viewer_token = team
    env = {**os.environ, "PMHUB_URL": gunicorn_server, "PMHUB_TOKEN": token, "PMHUB_PRODUCT": "smart-reply"}
    assert _cli("create-model", "--name", "ranker", "--primary-metric", "accuracy", env=env).returncode == 0
    r = _cli("create-version", "--model", "ranker", "--version", "7", "--param", "lr=0.001", env=env)
    assert r.returncode == 0, r.stderr
    r = _cli("log", "--model", "ranker", "--version", "7", "--step", "100", "accuracy=0.93", "loss=0.2", env=env)
    assert r.returncode == 0 and "logged 2 metric(s)" in r.stdout, r.stderr
    r = _cli("promote", "--model", "ranker", "--version", "7", "--expect", "none", env=env)
    assert r.returncode == 0 and "ranker 7 is now in production" in r.stdout, r.stderr
    r = _cli("models", env=env)
    assert "ranker" in r.stdout and "production: 7" in r.stdout

    v = ModelVersion.objects.get(version="7")
    assert v.stage == "production" and v.params == {"lr": 0.001}
    assert sorted(Point.objects.filter(series__model_metric__version=v).values_list("step", "value")) == [
        (100, 0.2), (100, 0.93)]

    # Arguments override the environment; bad input and refusals exit non-zero with the server's message.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("PMHUB_")}
    r = _cli("--url", gunicorn_server, "--token", viewer_token, "promote", "--model", "ranker", "--version", "7", env=bare)
    assert r.returncode == 1 and "403" in r.stderr
    r = _cli("log", "--model", "ranker", "--version", "7", "accuracy=high", env=env)
    assert r.returncode != 0 and "not a number" in r.stderr
    r = _cli("log", "--model", "ranker", "--version", "7", "accuracy=nan", env=env)
    assert r.returncode == 2 and "not a finite number" in r.stderr
    r = _cli("models", env=bare)
    assert r.returncode == 1 and "PMHUB_URL" in r.stderr
    assert Point.objects.count() == 2
