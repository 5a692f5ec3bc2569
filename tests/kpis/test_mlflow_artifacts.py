"""MLflow artifacts through pmhub's artifact proxy, with the real client against a live gunicorn."""
import hashlib
import json
import os

import pytest
import requests

from kpis.ml.mlflow.models import ArtifactFile, MlflowRun
from kpis.ml.models import AIModel
from pmhub.services import api_token_create
from tests import factories
from tests.kpis.test_mlflow_client import run_client

pytestmark = pytest.mark.django_db(transaction=True)
HERE = os.path.dirname(__file__)


@pytest.fixture
def team(db):
    product = factories.ProductFactory(slug="search", name="Search")
    return product, factories.member(product, "data_scientist", "ds"), factories.member(product, "viewer", "exec")


def result(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.split("RESULT ", 1)[1].splitlines()[0])


def test_every_artifact_call_of_the_client_goes_through_pmhub(gunicorn_server, team):
    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="jobs")
    out = result(run_client(os.path.join(HERE, "mlflow_artifacts_script.py"), gunicorn_server, token,
                            "search/ranker"))
    model = AIModel.objects.get(product=product, name="ranker")
    assert out["artifact_uri"] == f"mlflow-artifacts:/{model.pk}/{out['run_id']}/artifacts"
    root = {p: (d, s) for p, d, s in out["root"]}
    assert root["notes.txt"] == (False, 12) and root["docs"][0] and root["tree"][0] and root["plots"][0]
    assert root["config.json"][0] is False and root["config.yaml"][0] is False
    assert out["tree"] == [["tree/sub/b.txt", False, 2], ["tree/sub/é ü.txt", False, 7]]
    assert out["downloaded"] == ["a.txt", "sub/b.txt", "sub/é ü.txt"] and out["unicode"] == "unicode"
    assert out["config"] == {"lr": 0.01, "layers": [64, 32]}
    assert out["text"] == "line one\nline two\n"
    assert out["table_rows"] == 2
    assert {"notes.txt", "docs/notes.txt", "plots/curve.png", "images/noise.png", "tables/preds.json",
            "logs/train.log", "tree/a.txt"} <= set(out["all_files"])

    # What pmhub holds: one row per file with size and checksum; identical bytes share one blob.
    prefix = f"{out['run_id']}/artifacts/"
    rows = {r.path[len(prefix):]: r for r in ArtifactFile.objects.filter(model=model)}
    assert rows["notes.txt"].sha256 == hashlib.sha256(b"hello pmhub\n").hexdigest()
    assert rows["notes.txt"].blob == rows["docs/notes.txt"].blob
    assert rows["plots/curve.png"].size > 1000


def test_sklearn_job_autologs_logs_registers_and_loads_by_alias(gunicorn_server, team):
    from kpis.ml.mlflow.models import LoggedModel, RegisteredVersion, RegistryAlias
    from kpis.ml.models import ModelVersion, StageTransition
    from pmhub.models import AuditEvent

    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="jobs")
    out = result(run_client(os.path.join(HERE, "mlflow_model_script.py"), gunicorn_server, token, "search/ranker",
                            timeout=400))
    assert out["warnings"] == []
    assert "C" in out["autolog_params"] or "max_iter" in out["autolog_params"]
    assert "training_accuracy_score" in out["autolog_metrics"]
    assert out["pred_runs"] and out["pred_models"] and out["sklearn_back"]
    assert out["pred_alias"] and out["pred_version"]
    assert out["registered_version"] == "1" and out["aliases"] == {"champion": "1"} and out["by_alias"] == "1"
    assert out["rm_tags"] == {"owner": "search-team"}
    assert out["stage"] == "Production"
    assert out["search"] == ["search.ranker"] and out["versions"] == ["1"]

    manual = MlflowRun.objects.get(run_uuid=out["manual_run"])
    assert LoggedModel.objects.get(mlflow_id=out["model_id"]).source_run == manual
    rv = RegisteredVersion.objects.get(version=manual.version)
    assert rv.number == 1 and RegistryAlias.objects.get(alias="champion").version == rv
    version = ModelVersion.objects.get(pk=manual.version_id)
    assert version.stage == "production"
    assert StageTransition.objects.filter(version=version, to_stage="production").exists()
    assert AuditEvent.objects.filter(action="model_version.promoted").exists()
    assert ArtifactFile.objects.filter(path__startswith=f"models/{out['model_id']}/artifacts/").exists()
