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

    # A copy of the product in the same pmhub: the client loads the copy's model by its new run id,
    # its new logged model id and the copy's alias, from the bytes the copy shares with the original.
    import io

    from products.transfer import product_export, product_import

    buf = io.StringIO()
    product_export(product=product, stream=buf)
    buf.seek(0)
    copy = product_import(stream=buf, slug="search-copy")
    copied = MlflowRun.objects.get(version__model__product=copy, version__version="manual")
    copied_model = LoggedModel.objects.get(model__product=copy, source_run=copied)
    assert copied.run_uuid != out["manual_run"] and copied_model.mlflow_id != out["model_id"]
    loads = result(run_client(COPY_LOADS, gunicorn_server, token, copied.run_uuid, copied_model.mlflow_id,
                              "search-copy.ranker", out["manual_run"], timeout=300))
    assert loads["runs"] == loads["models"] == loads["alias"] == loads["original"]
    assert loads["source_run"] == copied.run_uuid and loads["registered_run"] == copied.run_uuid
    assert loads["original_source_run"] == out["manual_run"]


COPY_LOADS = r"""
import json, sys, mlflow
from mlflow import MlflowClient
from sklearn.datasets import make_classification
run_id, model_id, registered, original_run = sys.argv[1:5]
X, _y = make_classification(n_samples=200, n_features=6, random_state=0)
client = MlflowClient()
out = {
    "runs": mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(X[:20]).tolist(),
    "models": mlflow.pyfunc.load_model(f"models:/{model_id}").predict(X[:20]).tolist(),
    "alias": mlflow.pyfunc.load_model(f"models:/{registered}@champion").predict(X[:20]).tolist(),
    "original": mlflow.pyfunc.load_model(f"runs:/{original_run}/model").predict(X[:20]).tolist(),
    "source_run": client.get_logged_model(model_id).source_run_id,
    "registered_run": client.get_model_version_by_alias(registered, "champion").run_id,
    "original_source_run": client.search_logged_models(
        filter_string=f"source_run_id = '{original_run}'",
        experiment_ids=[client.get_run(original_run).info.experiment_id])[0].source_run_id,
}
print("RESULT " + json.dumps(out))
"""


REFUSALS = r"""
import json, os, sys, tempfile, mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
run_id, other_run = sys.argv[1], sys.argv[2]
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except MlflowException as exc:
        out[name] = exc.error_code
    except Exception as exc:  # the artifact repository raises requests' HTTPError with MLflow's body
        body = getattr(getattr(exc, "response", None), "text", "") or str(exc)
        out[name] = json.loads(body).get("error_code") if body.startswith("{") else type(exc).__name__
        out[name + "_status"] = getattr(getattr(exc, "response", None), "status_code", None)
path = os.path.join(tempfile.mkdtemp(), "big.bin")
with open(path, "wb") as fh:
    fh.write(b"x" * 4096)
attempt("viewer_upload", lambda: MlflowClient().log_artifact(run_id, path))
attempt("viewer_list", lambda: MlflowClient().list_artifacts(run_id))
attempt("viewer_download", lambda: mlflow.artifacts.load_text(f"runs:/{run_id}/notes.txt"))
attempt("other_product", lambda: MlflowClient().list_artifacts(other_run))
attempt("registry_write", lambda: MlflowClient().create_registered_model("search.other"))
print("RESULT " + json.dumps(out))
"""


def _ds_run(gunicorn_server, token, experiment):
    code = ("import mlflow; mlflow.set_experiment(%r); r = mlflow.start_run(run_name='v1');"
            "mlflow.log_text('hello', 'notes.txt'); print('RESULT', r.info.run_id)") % experiment
    proc = run_client(code, gunicorn_server, token)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split("RESULT ", 1)[1].split()[0]


def test_refusals_have_mlflow_error_shapes_and_store_nothing(gunicorn_server, team, settings):
    product, ds, viewer = team
    other = factories.ProductFactory(slug="ads", name="Ads")
    other_ds = factories.member(other, "data_scientist", "ads-ds")
    _, ds_token = api_token_create(user=ds, name="jobs")
    _, other_token = api_token_create(user=other_ds, name="jobs")
    run_id = _ds_run(gunicorn_server, ds_token, "search/ranker")
    other_run = _ds_run(gunicorn_server, other_token, "ads/ctr")
    _, viewer_token = api_token_create(user=viewer, name="reads")
    before = ArtifactFile.objects.count()

    out = result(run_client(REFUSALS, gunicorn_server, viewer_token, run_id, other_run))
    assert out["viewer_upload"] == "PERMISSION_DENIED" and out["viewer_upload_status"] == 403
    assert out["viewer_list"] == "ok" and out["viewer_download"] == "ok"
    assert out["other_product"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["registry_write"] == "PERMISSION_DENIED"

    # Raw requests: traversal, absolute paths, a path outside any run, an oversized body.
    model_id = MlflowRun.objects.get(run_uuid=run_id).version.model_id
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {ds_token}"
    base = f"{gunicorn_server}/mlflow/api/2.0/mlflow-artifacts/artifacts"
    bad_paths = (f"{model_id}/{run_id}/artifacts/%2E%2E/%2E%2E/etc/passwd", f"{model_id}/{run_id}/artifacts/a/%2E/b",
                 f"{model_id}/{run_id}/artifacts/a\\b", f"{model_id}//etc/passwd")
    for bad in bad_paths * 5:  # one keep-alive connection: a refused body must not break the next request
        resp = api.put(f"{base}/{bad}", data=b"evil")
        assert resp.status_code == 400 and resp.json()["error_code"] == "INVALID_PARAMETER_VALUE", (bad, resp.text)
    resp = api.put(f"{base}/{model_id}/not-a-run/x.txt", data=b"evil")
    assert resp.status_code == 404 and resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    resp = api.get(base, params={"path": f"{model_id}/{run_id}/artifacts/../../"})
    assert resp.status_code == 400 and resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    huge = settings.MLFLOW_ARTIFACT_MAX_FILE_SIZE + 1
    resp = api.put(f"{base}/{model_id}/{run_id}/artifacts/huge.bin", data=b"",
                   headers={"Content-Length": str(huge)})
    assert resp.status_code == 400 and resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "MLFLOW_ARTIFACT_MAX_FILE_SIZE" in resp.json()["message"]
    assert ArtifactFile.objects.count() == before


def test_200_mb_up_and_down_byte_for_byte_and_multipart(gunicorn_server, team, tmp_path):
    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="jobs")
    run_id = _ds_run(gunicorn_server, token, "search/ranker")
    big = tmp_path / "weights.bin"
    digest = hashlib.sha256()
    with open(big, "wb") as fh:
        for i in range(200):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            fh.write(block)
    code = r"""
import hashlib, json, os, sys, tempfile, mlflow
from mlflow import MlflowClient
run_id, path = sys.argv[1], sys.argv[2]
MlflowClient().log_artifact(run_id, path, artifact_path="big")
local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="big/weights.bin",
                                            dst_path=tempfile.mkdtemp())
h = hashlib.sha256()
with open(local, "rb") as fh:
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
print("RESULT " + json.dumps({"sha256": h.hexdigest(), "size": os.path.getsize(local)}))
"""
    out = result(run_client(code, gunicorn_server, token, run_id, str(big), timeout=600))
    assert out == {"sha256": digest.hexdigest(), "size": 200 * 1024 * 1024}
    row = ArtifactFile.objects.get(path=f"{run_id}/artifacts/big/weights.bin")
    assert row.sha256 == digest.hexdigest() and row.size == 200 * 1024 * 1024

    # The client's multipart upload through pmhub's signed part URLs (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD).
    small = tmp_path / "parts.bin"
    small.write_bytes(os.urandom(12 * 1024 * 1024 + 5))
    code = r"""
import sys
from mlflow import MlflowClient
MlflowClient().log_artifact(sys.argv[1], sys.argv[2], artifact_path="mpu")
print("RESULT {}")
"""
    result(run_client(code, gunicorn_server, token, run_id, str(small), MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="true",
                      MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE=str(1024 * 1024),
                      MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE=str(5 * 1024 * 1024)))
    row = ArtifactFile.objects.get(path=f"{run_id}/artifacts/mpu/parts.bin")
    assert row.sha256 == hashlib.sha256(small.read_bytes()).hexdigest()

    # Deleting the model deletes its files from storage.
    from django.core.files.storage import storages

    from kpis.ml.services import aimodel_delete

    pm = factories.member(product, "pm", "pm")
    blob = row.blob
    assert storages["mlflow_artifacts"].exists(blob)
    aimodel_delete(actor=pm, model=AIModel.objects.get(product=product, name="ranker"))
    assert not ArtifactFile.objects.exists() and not storages["mlflow_artifacts"].exists(blob)


def test_a_promotion_in_pmhub_is_seen_by_the_client(gunicorn_server, team):
    from kpis.ml.mlflow.models import RegisteredVersion
    from kpis.ml.services import model_version_promote

    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="jobs")
    run_id = _ds_run(gunicorn_server, token, "search/ranker")
    code = ("import sys; from mlflow import MlflowClient; c = MlflowClient();"
            "mv = c.create_model_version('search.ranker', 'runs:/%s/model', run_id='%s');"
            "print('RESULT', mv.version, mv.current_stage)") % (run_id, run_id)
    proc = run_client(code, gunicorn_server, token)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split("RESULT ", 1)[1].split() == ["1", "None"]
    model_version_promote(actor=ds, version=RegisteredVersion.objects.get(number=1).version)
    code = ("from mlflow import MlflowClient; print('RESULT', MlflowClient().get_model_version('search.ranker', '1')"
            ".current_stage)")
    proc = run_client(code, gunicorn_server, token)
    assert proc.stdout.split("RESULT ", 1)[1].split() == ["Production"], proc.stderr[-2000:]


def test_the_run_link_the_client_prints_lands_on_the_model_page(page, live_server, team, artifacts_dir):
    from tests.fixtures_live import login

    from kpis.ml.mlflow.services import mlflow_experiment_create, mlflow_run_create

    product, ds, viewer = team
    from kpis.ml.mlflow.models import RegisteredVersion
    from kpis.ml.mlflow.registry import registry_alias_set

    model = mlflow_experiment_create(actor=ds, name="search/ranker")
    run = mlflow_run_create(actor=ds, model=model, run_name="v7")
    rv = RegisteredVersion.objects.create(version=run.version, model=model, number=1, source="runs:/x/model")
    registry_alias_set(actor=ds, model=model, alias="champion-" + "x" * 200, rv=rv)
    ArtifactFile.objects.create(model=model, path=f"{run.run_uuid}/artifacts/" + "y" * 900, blob="blobs/00/0",
                                size=10**12, sha256="0" * 64)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "exec", factories.PASSWORD)
    page.goto(f"{live_server.url}/mlflow/#/experiments/{model.pk}/runs/{run.run_uuid}")
    page.wait_for_url(f"**/models/search/{model.pk}/#run-{run.run_uuid}")
    row = page.locator(f"#run-{run.run_uuid}").inner_text()
    assert row.startswith("v7") and "1 file, 931.3" in row and "search.ranker v1" in row
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=os.path.join(artifacts_dir, "mlflow-run-link-model-page.png"), full_page=True)
    assert errors == []


@pytest.fixture
def s3_pmhub(transactional_db, tmp_path):
    """moto's S3-compatible server (PyPI moto[server]) and a gunicorn whose artifact storage is a bucket there."""
    import sys

    import boto3

    from tests.fixtures_live import _log_path, free_port, process_env, spawn, stop, wait_for_port

    s3_port = free_port()
    moto = spawn([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                 dict(os.environ), _log_path("moto"))
    web = None
    try:
        wait_for_port(s3_port, moto)
        endpoint = f"http://127.0.0.1:{s3_port}"
        creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
        s3 = boto3.client("s3", endpoint_url=endpoint, **creds)
        s3.create_bucket(Bucket="pmhub-artifacts")
        port = free_port()
        env = process_env(MLFLOW_ARTIFACTS_S3_BUCKET="pmhub-artifacts", MLFLOW_ARTIFACTS_S3_ENDPOINT_URL=endpoint,
                          MLFLOW_ARTIFACTS_S3_ACCESS_KEY_ID="test", MLFLOW_ARTIFACTS_S3_SECRET_ACCESS_KEY="test",
                          MLFLOW_ARTIFACTS_S3_REGION="us-east-1", MLFLOW_ARTIFACT_TMP_DIR=str(tmp_path))
        web = spawn([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "pmhub.wsgi:application", "--bind",
                     f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--timeout", "60"], env,
                    _log_path("gunicorn-s3"))
        wait_for_port(port, web)
        yield f"http://127.0.0.1:{port}", s3
    finally:
        if web is not None:
            stop(web)
        stop(moto)


def test_artifacts_in_s3_compatible_storage(s3_pmhub, team, tmp_path):
    base, s3 = s3_pmhub
    product, ds, _viewer = team
    _, token = api_token_create(user=ds, name="jobs")
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "w.bin").write_bytes(data)
    code = r"""
import hashlib, json, sys, tempfile, mlflow
mlflow.set_experiment("search/ranker")
with mlflow.start_run(run_name="s3") as run:
    mlflow.log_artifact(sys.argv[1], artifact_path="weights")
    mlflow.log_dict({"a": 1}, "config.json")
local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="weights/w.bin",
                                            dst_path=tempfile.mkdtemp())
print("RESULT " + json.dumps({"sha": hashlib.sha256(open(local, "rb").read()).hexdigest(),
                              "config": mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/config.json")}))
"""
    out = result(run_client(code, base, token, str(tmp_path / "w.bin")))
    assert out == {"sha": hashlib.sha256(data).hexdigest(), "config": {"a": 1}}
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="pmhub-artifacts")["Contents"]}
    assert f"mlflow-artifacts/blobs/{out['sha'][:2]}/{out['sha']}" in keys


def test_run_artifacts_page_tree_sizes_previews_and_roles(client, team, tmp_path):
    from kpis.ml.mlflow import artifacts as art
    from kpis.ml.mlflow.services import mlflow_experiment_create, mlflow_run_create

    product, ds, viewer = team
    model = mlflow_experiment_create(actor=ds, name="search/ranker")
    run = mlflow_run_create(actor=ds, model=model, run_name="v1")
    files = {"config.json": b'{"lr": 0.01}', "preds.csv": b"x,y\n1,<b>a</b>\n", "notes.txt": b"<script>x</script>",
             "plots/curve.png": b"\x89PNG\r\n\x1a\n" + b"0" * 100, "model.svg": b"<svg onload=alert(1)></svg>"}
    for name, data in files.items():
        loc = art.Location(model, f"{run.run_uuid}/artifacts/{name}")
        art.artifact_upload(actor=ds, location=loc, chunks=iter([data]), length=len(data))
    outsider = factories.UserFactory(username="outsider")
    client.force_login(outsider)
    assert client.get(f"/mlflow/runs/{run.run_uuid}/artifacts/").status_code == 404
    client.force_login(viewer)
    html = client.get(f"/mlflow/runs/{run.run_uuid}/artifacts/").content.decode()
    assert "plots/curve.png" in html and "&lt;script&gt;" in html and "<script>x" not in html
    assert "&lt;b&gt;a&lt;/b&gt;" in html and '"lr": 0.01' in html.replace("&quot;", '"')
    png = client.get(f"/mlflow/runs/{run.run_uuid}/artifacts/file/{run.run_uuid}/artifacts/plots/curve.png")
    assert png["Content-Type"] == "image/png" and png["Content-Disposition"].startswith("inline")
    svg = client.get(f"/mlflow/runs/{run.run_uuid}/artifacts/file/{run.run_uuid}/artifacts/model.svg")
    assert svg["Content-Type"] == "application/octet-stream" and svg["Content-Disposition"].startswith("attachment")
    assert b"".join(svg.streaming_content) == files["model.svg"]


def test_export_import_carries_the_index_not_the_bytes(transactional_db, team):
    """Moved to another pmhub (here: the same database after deleting the original): the rows come
    back; the bytes come back once the storage's blobs are copied alongside, as the README says."""
    import io

    from django.core.files.base import ContentFile
    from django.core.files.storage import storages
    from django.http import Http404

    from kpis.ml.mlflow import artifacts as art
    from kpis.ml.mlflow.services import mlflow_experiment_create, mlflow_run_create
    from products.services import product_delete
    from products.transfer import product_export, product_import

    product, ds, _viewer = team
    model = mlflow_experiment_create(actor=ds, name="search/ranker")
    run = mlflow_run_create(actor=ds, model=model, run_name="v1")
    row = art.artifact_upload(actor=ds, location=art.Location(model, f"{run.run_uuid}/artifacts/w.bin"),
                              chunks=iter([b"weights"]), length=7)
    buf = io.StringIO()
    product_export(product=product, stream=buf)
    product_delete(actor=factories.member(product, "pm", "pm"), product=product)
    assert not storages["mlflow_artifacts"].exists(row.blob)  # deleting the product deleted its bytes
    buf.seek(0)
    moved = product_import(stream=buf)
    copied = ArtifactFile.objects.get(model__product=moved)
    assert (copied.path, copied.blob, copied.sha256, copied.size) == (row.path, row.blob, row.sha256, 7)
    with pytest.raises(Http404):
        art.blob_chunks(copied.blob)  # bytes not carried: a clear 404
    storages["mlflow_artifacts"].save(row.blob, ContentFile(b"weights"))  # the operator copies the blobs
    assert b"".join(art.blob_chunks(copied.blob)) == b"weights"
