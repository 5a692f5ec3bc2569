"""export_product / import_product: one product and all that belongs to it, round trip."""
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from kpis.ml.models import AIModel
from kpis.models import KPI, Objective
from kpis.services.kpis import kpi_create, kpi_points_ingest, objective_create
from kpis.timeseries.models import Point, Series
from kpis.timeseries.services import PointIn
from pmhub.audit import audit_record
from pmhub.models import AuditEvent
from pmhub.services import api_token_create
from products.models import Membership, Product
from products.roadmap.models import RoadmapItem
from tests import factories

pytestmark = pytest.mark.django_db

UTC = timezone.utc
User = get_user_model()


def snapshot(product):
    """Everything a user would see of the product, without database ids."""
    kpis = []
    for kpi in KPI.objects.filter(product=product).order_by("key"):
        points = list(Point.objects.filter(series=kpi.series).order_by("ts").values_list("ts", "step", "value"))
        kpis.append((kpi.key, kpi.name, kpi.target, kpi.objective.title if kpi.objective else None,
                     sorted(i.title for i in kpi.roadmap_items.all()), points, kpi.created_at))
    return {
        "product": (product.name, product.description, product.business_objective, product.status, product.created_at),
        "members": sorted(Membership.objects.filter(product=product).values_list("user__username", "role")),
        "roadmap": sorted(RoadmapItem.objects.filter(product=product).values_list(
            "title", "description", "horizon", "reach", "owner__username", "created_at")),
        "objectives": sorted(Objective.objects.filter(product=product).values_list("title", "start_date", "end_date")),
        "kpis": kpis,
    }


@pytest.fixture
def full_product(product_factory):
    product = product_factory(name="Smart <Reply>", slug="smart-reply", description="Drafts replies.\nTwo lines.")
    pm = factories.member(product, "pm", username="priya")
    factories.member(product, "viewer", username="eve")
    item = RoadmapItem.objects.create(product=product, title="Tone control", owner=pm, reach=1200, horizon="now")
    RoadmapItem.objects.create(product=product, title="Multilingual", horizon="later")
    objective = objective_create(actor=pm, product=product, title="Adoption", start_date=date(2026, 1, 1),
                                 end_date=date(2026, 3, 31))
    kpi = kpi_create(actor=pm, product=product, name="Acceptance rate", key="acceptance", target=0.4,
                     objective=objective, roadmap_items=[item])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    kpi_points_ingest(kpi=kpi, points=[PointIn(ts=start + timedelta(hours=i, microseconds=i), value=i / 10) for i in range(500)],
                      evaluate=False)
    kpi_create(actor=pm, product=product, name="Empty one", key="empty")
    audit_record(actor=pm, action="membership.added", product=product, target=product)
    # Another product must stay out of the export.
    other = product_factory(slug="other")
    other_kpi = kpi_create(actor=factories.member(other, "pm"), product=other, name="Other", key="other")
    kpi_points_ingest(kpi=other_kpi, points=[PointIn(ts=start, value=1.0)], evaluate=False)
    return product


def test_export_then_import_after_deletion_restores_everything(full_product, tmp_path):
    before = snapshot(full_product)
    path = tmp_path / "smart-reply.jsonl"
    call_command("export_product", "smart-reply", str(path))
    text = path.read_text()
    assert '"slug": "other"' not in text and '"key": "other"' not in text

    series_ids = list(KPI.objects.filter(product=full_product).values_list("series_id", flat=True))
    full_product.delete()
    Series.objects.filter(pk__in=series_ids).delete()
    assert Point.objects.count() == 1  # the other product's point

    out = io.StringIO()
    call_command("import_product", str(path), stdout=out)
    assert "Imported product 'smart-reply'" in out.getvalue()
    restored = Product.objects.get(slug="smart-reply")
    assert snapshot(restored) == before
    assert Point.objects.count() == 501


def test_import_as_a_copy_next_to_the_original(full_product, tmp_path):
    path = tmp_path / "export.jsonl"
    call_command("export_product", "smart-reply", str(path))
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="exists"):
        call_command("import_product", str(path))
    assert Product.objects.count() == 2  # nothing written by the refused import

    call_command("import_product", str(path), "--slug", "smart-reply-copy")
    copy = Product.objects.get(slug="smart-reply-copy")
    original, duplicate = snapshot(full_product), snapshot(copy)
    assert duplicate == original
    # The copy has series of its own: changing one never changes the other.
    assert not set(KPI.objects.filter(product=copy).values_list("series_id", flat=True)) & set(
        KPI.objects.filter(product=full_product).values_list("series_id", flat=True))
    assert AuditEvent.objects.count() == events


def test_import_creates_missing_users_inactive(full_product, tmp_path):
    from django.contrib.auth import get_user_model

    path = tmp_path / "export.jsonl"
    call_command("export_product", "smart-reply", str(path))
    full_product.delete()
    get_user_model().objects.filter(username="eve").delete()
    call_command("import_product", str(path))
    eve = get_user_model().objects.get(username="eve")
    assert not eve.is_active and not eve.has_usable_password()
    assert Membership.objects.get(user=eve).role == "viewer"


def test_import_refuses_a_file_that_is_not_an_export(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(CommandError, match="not a pmhub product export"):
        call_command("import_product", str(path))


def test_export_of_unknown_product_fails(tmp_path):
    with pytest.raises(CommandError, match="No product"):
        call_command("export_product", "nope", str(tmp_path / "x.jsonl"))


# --- a product with MLflow runs, imported as a copy next to itself ------------------------------

MLFLOW_API = "/mlflow/api/2.0/mlflow/"
ARTIFACTS_API = "/mlflow/api/2.0/mlflow-artifacts/artifacts"
T0 = 1_767_225_600_000  # 2026-01-01 in ms
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class Tracking:
    """A data scientist's MLflow calls over pmhub's MLflow REST endpoints, with a real API token."""

    def __init__(self, user):
        _, raw = api_token_create(user=user, name="jobs")
        self.client = Client()
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def call(self, method, endpoint, body=None):
        if method == "GET":
            resp = self.client.get(MLFLOW_API + endpoint, body or {}, **self.auth)
        else:
            resp = getattr(self.client, method.lower())(MLFLOW_API + endpoint, data=json.dumps(body or {}),
                                                        content_type="application/json", **self.auth)
        assert resp.status_code == 200, (endpoint, resp.content[:500])
        return resp.json()

    def put_file(self, path, data: bytes):
        resp = self.client.put(f"{ARTIFACTS_API}/{path}", data=data, content_type="application/octet-stream",
                               **self.auth)
        assert resp.status_code == 200, resp.content[:500]

    def get_file(self, path) -> bytes:
        resp = self.client.get(f"{ARTIFACTS_API}/{path}", **self.auth)
        assert resp.status_code == 200, (path, resp.content[:500])
        return b"".join(resp.streaming_content)

    def listing(self, path) -> list:
        resp = self.client.get(ARTIFACTS_API, {"path": path}, **self.auth)
        assert resp.status_code == 200, resp.content[:500]
        return resp.json().get("files", [])


@pytest.fixture
def tracked(product_factory):
    """A product whose data scientist tracked a sweep and a run through MLflow: params, metrics, tags,
    artifacts, a logged model, two registered versions (MLflow 3 and MLflow 2 style), an alias,
    public links, and a multipart upload left open."""
    from feedback.services import portal_set_enabled
    from kpis.ml.mlflow import artifacts as art
    from products.roadmap.services import roadmap_share_enable

    product = product_factory(name="Search", slug="search")
    pm = factories.member(product, "pm", username="priya")
    ds = factories.member(product, "data_scientist", username="dara")
    ml = Tracking(ds)
    exp = ml.call("POST", "experiments/create", {"name": "search/ranker"})["experiment_id"]
    sweep = ml.call("POST", "runs/create", {"experiment_id": exp, "run_name": "sweep", "start_time": T0})
    sweep = sweep["run"]["info"]["run_id"]
    run = ml.call("POST", "runs/create", {
        "experiment_id": exp, "run_name": "v1", "start_time": T0 + 1000,
        "tags": [{"key": "mlflow.parentRunId", "value": sweep}, {"key": "team", "value": "search"}]})
    run = run["run"]["info"]["run_id"]
    ml.call("POST", "runs/log-batch", {
        "run_id": run, "params": [{"key": "lr", "value": "0.01"}, {"key": "layers", "value": "64,32"}],
        "metrics": [{"key": "accuracy", "value": 0.7 + i / 100, "timestamp": T0 + i * 1000, "step": i}
                    for i in range(5)],
        "tags": [{"key": "compare.with", "value": f"runs:/{sweep}/model"}]})
    ml.call("POST", "runs/log-inputs", {"run_id": run, "datasets": [{"dataset": {
        "name": "clicks", "digest": "abc123", "source_type": "local", "source": '{"uri": "s3://b/clicks"}'}}]})
    ml.call("POST", "runs/update", {"run_id": run, "status": "FINISHED", "end_time": T0 + 9000})
    ml.put_file(f"{exp}/{run}/artifacts/model/weights.bin", b"weights of v1")
    ml.put_file(f"{exp}/{run}/artifacts/plots/curve.json", b'{"x": [1, 2]}')
    ml.put_file(f"{exp}/{sweep}/artifacts/model/weights.bin", b"weights of the sweep")
    logged = ml.call("POST", "logged-models", {"experiment_id": exp, "name": "ranker-model", "source_run_id": run,
                                               "params": [{"key": "C", "value": "1.0"}],
                                               "tags": [{"key": "trained.by", "value": run}]})
    logged = logged["model"]["info"]["model_id"]
    ml.put_file(f"{exp}/models/{logged}/artifacts/MLmodel", b"flavors: {}\n")
    ml.call("PATCH", f"logged-models/{logged}", {"status": "LOGGED_MODEL_READY"})
    ml.call("POST", "model-versions/create", {"name": "search.ranker", "source": f"models:/{logged}", "run_id": run,
                                              "tags": [{"key": "from.run", "value": run}]})
    ml.call("POST", "model-versions/create", {"name": "search.ranker", "run_id": sweep,
                                              "source": f"mlflow-artifacts:/{exp}/{sweep}/artifacts/model"})
    ml.call("POST", "registered-models/alias", {"name": "search.ranker", "alias": "champion", "version": "1"})
    model = AIModel.objects.get(pk=exp)
    art.multipart_create(actor=ds, location=art.Location(model, f"{run}/artifacts/big.bin"), num_parts=2)
    roadmap_share_enable(actor=pm, product=product)
    portal_set_enabled(actor=pm, product=product, enabled=True)
    return product, ml


def mlflow_view(ml, slug) -> dict:
    """What the MLflow client sees of the product's experiment, read through the REST API."""
    exp = ml.call("GET", "experiments/get-by-name", {"experiment_name": f"{slug}/ranker"})["experiment"]
    exp_id = exp["experiment_id"]
    view = {"experiment": exp, "runs": {}, "files": {}}
    for run in ml.call("POST", "runs/search", {"experiment_ids": [exp_id]})["runs"]:
        run_id = run["info"]["run_id"]
        got = ml.call("GET", "runs/get", {"run_id": run_id})["run"]
        history = ml.call("GET", "metrics/get-history", {"run_id": run_id, "metric_key": "accuracy"})["metrics"]
        view["runs"][run["info"]["run_name"]] = {"search": run, "get": got, "history": history}
        for entry in ml.listing(f"{exp_id}/{run_id}/artifacts/model"):
            view["files"][f"{run['info']['run_name']}:{entry['path']}"] = ml.get_file(
                f"{exp_id}/{run_id}/artifacts/model/{entry['path']}")
    view["plots"] = ml.listing(f"{exp_id}/{view['runs']['v1']['get']['info']['run_id']}/artifacts/plots")
    models_ = ml.call("POST", "logged-models/search", {"experiment_ids": [exp_id]})["models"]
    view["logged_models"] = models_
    for logged in models_:
        model_id = logged["info"]["model_id"]
        view["logged"] = ml.call("GET", f"logged-models/{model_id}")["model"]
        view["files"]["MLmodel"] = ml.get_file(f"{exp_id}/models/{model_id}/artifacts/MLmodel")
    name = f"{slug}.ranker"
    view["registered"] = ml.call("GET", "registered-models/get", {"name": name})["registered_model"]
    view["versions"] = {}
    for number in ("1", "2"):
        version = ml.call("GET", "model-versions/get", {"name": name, "version": number})["model_version"]
        uri = ml.call("GET", "model-versions/get-download-uri", {"name": name, "version": number})["artifact_uri"]
        view["versions"][number] = (version, uri)
    view["champion"] = ml.call("GET", "registered-models/alias", {"name": name, "alias": "champion"})
    return view


def ids_of(view) -> dict:
    """{id: placeholder} for the run, logged model and experiment ids of one product's view."""
    ids = {run["get"]["info"]["run_id"]: f"<run {name}>" for name, run in view["runs"].items()}
    ids[view["logged"]["info"]["model_id"]] = "<logged model>"
    return ids


def normalised(view, slug) -> str:
    """The view with this product's own ids replaced by names: equal for a faithful copy."""
    text = json.dumps(view, default=lambda b: b.decode(), sort_keys=True)
    for value, placeholder in ids_of(view).items():
        text = text.replace(value, placeholder)
    exp_id = view["experiment"]["experiment_id"]
    text = text.replace(f'"experiment_id": "{exp_id}"', '"experiment_id": "<exp>"')
    text = text.replace(f"mlflow-artifacts:/{exp_id}/", "mlflow-artifacts:/<exp>/")
    text = text.replace(f"mlflow-artifacts:/{exp_id}\"", "mlflow-artifacts:/<exp>\"")
    return text.replace(f"{slug}/ranker", "<slug>/ranker").replace(f"{slug}.ranker", "<slug>.ranker")


def test_a_product_with_mlflow_runs_imports_as_a_copy_next_to_itself(tracked, tmp_path,
                                                                     django_capture_on_commit_callbacks):
    from feedback.models import FeedbackPortal
    from kpis.ml.mlflow.models import ArtifactUpload, LoggedModel, MlflowRun
    from products.roadmap.models import RoadmapShareLink
    from products.roadmap.selectors import roadmap_share_product
    from products.services import product_delete

    product, ml = tracked
    before = mlflow_view(ml, "search")
    original_runs = set(MlflowRun.objects.values_list("run_uuid", flat=True))
    assert len(original_runs) == 2
    path = tmp_path / "search.jsonl"
    call_command("export_product", "search", str(path))

    out = io.StringIO()
    call_command("import_product", str(path), "--slug", "search-copy", stdout=out)
    assert "Imported product 'search-copy'" in out.getvalue()
    copy = Product.objects.get(slug="search-copy")
    assert mlflow_view(ml, "search") == before  # the original is untouched
    duplicate = mlflow_view(ml, "search-copy")
    # Fresh ids of the same form, used everywhere the copy names its runs and its logged model...
    copy_runs = set(MlflowRun.objects.filter(version__model__product=copy).values_list("run_uuid", flat=True))
    assert len(copy_runs) == 2 and not copy_runs & original_runs and all(RUN_ID.match(r) for r in copy_runs)
    copy_logged = duplicate["logged"]["info"]["model_id"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", copy_logged) and copy_logged != before["logged"]["info"]["model_id"]
    assert duplicate["experiment"]["experiment_id"] != before["experiment"]["experiment_id"]
    # ...so that, ids aside, the copy answers exactly what the original does: params, metrics and their
    # history, tags (the parent run, runs:/ URIs), dataset inputs, artifacts and their bytes, the logged
    # model and its files, registered versions with their sources and download URIs, the alias.
    assert normalised(duplicate, "search-copy") == normalised(before, "search")
    v1 = duplicate["runs"]["v1"]["get"]
    tags = {t["key"]: t["value"] for t in v1["data"]["tags"]}
    assert tags["mlflow.parentRunId"] == duplicate["runs"]["sweep"]["get"]["info"]["run_id"]
    assert {p["key"]: p["value"] for p in v1["data"]["params"]} == {"lr": "0.01", "layers": "64,32"}
    assert [m["value"] for m in duplicate["runs"]["v1"]["history"]] == [0.7, 0.71, 0.72, 0.73, 0.74]
    assert duplicate["files"]["v1:weights.bin"] == b"weights of v1"
    version, uri = duplicate["versions"]["1"]
    assert (version["run_id"], version["source"], version["model_id"]) == (
        v1["info"]["run_id"], f"models:/{copy_logged}", copy_logged)
    assert uri == f"mlflow-artifacts:/{duplicate['experiment']['experiment_id']}/models/{copy_logged}/artifacts"
    assert duplicate["champion"]["model_version"]["run_id"] == v1["info"]["run_id"]
    # The copy's files share the original's stored bytes (content-addressed): nothing was copied.
    assert LoggedModel.objects.get(mlflow_id=copy_logged).source_run.run_uuid == v1["info"]["run_id"]
    # An upload left open in the original stays the original's; the copy's has an id of its own.
    uploads = list(ArtifactUpload.objects.order_by("pk").values_list("upload_id", "path"))
    assert len({u for u, _ in uploads}) == 2 and uploads[1][1] == f"{v1['info']['run_id']}/artifacts/big.bin"
    # Public links: the copy's are new tokens; the original's still open the original.
    share_tokens = dict(RoadmapShareLink.objects.values_list("product__slug", "token"))
    assert share_tokens["search"] != share_tokens["search-copy"]
    assert roadmap_share_product(token=share_tokens["search"]) == product
    assert roadmap_share_product(token=share_tokens["search-copy"]) == copy
    assert len(set(FeedbackPortal.objects.values_list("token", flat=True))) == 2

    # A third copy of the same file: fresh ids again, all three products side by side.
    call_command("import_product", str(path), "--slug", "search-copy-2")
    third = mlflow_view(ml, "search-copy-2")
    third_runs = {r["get"]["info"]["run_id"] for r in third["runs"].values()}
    assert not third_runs & (original_runs | copy_runs)
    assert normalised(third, "search-copy-2") == normalised(before, "search")
    assert mlflow_view(ml, "search-copy") == duplicate and mlflow_view(ml, "search") == before

    # The copy's downloads work in the browser too, and go on working once the original is deleted
    # (its bytes stay while a copy names them).
    client = Client()
    client.force_login(User.objects.get(username="dara"))
    copy_run = v1["info"]["run_id"]
    with django_capture_on_commit_callbacks(execute=True):
        product_delete(actor=User.objects.get(username="priya"), product=product)
    page = client.get(f"/mlflow/runs/{copy_run}/artifacts/file/{copy_run}/artifacts/model/weights.bin")
    assert page.status_code == 200 and b"".join(page.streaming_content) == b"weights of v1"
    assert mlflow_view(ml, "search-copy") == duplicate


def test_moved_to_another_pmhub_a_product_keeps_its_mlflow_ids(tracked, tmp_path):
    """No clash (here: the original deleted first, as in a pmhub that never had it): run ids, logged
    model ids and tokens stay; only the experiment id, a database id, changes, and text naming it follows."""
    from feedback.models import FeedbackPortal

    product, ml = tracked
    before = mlflow_view(ml, "search")
    token = FeedbackPortal.objects.get(product=product).token
    path = tmp_path / "search.jsonl"
    call_command("export_product", "search", str(path))
    product.delete()  # the stored bytes stay, as if the blobs were copied alongside (README)
    call_command("import_product", str(path))
    after = mlflow_view(ml, "search")
    assert ids_of(after) == ids_of(before)
    assert after["experiment"]["experiment_id"] != before["experiment"]["experiment_id"]
    assert normalised(after, "search") == normalised(before, "search")
    assert after["versions"]["2"][0]["source"] == (
        f"mlflow-artifacts:/{after['experiment']['experiment_id']}/{after['runs']['sweep']['get']['info']['run_id']}"
        "/artifacts/model")
    assert FeedbackPortal.objects.get().token == token


def test_an_import_that_breaks_a_database_rule_is_refused_whole(tracked, tmp_path):
    """A hand-edited file with two artifacts at one path: a clear error, and nothing imported."""
    path = tmp_path / "search.jsonl"
    call_command("export_product", "search", str(path))
    lines = path.read_text().splitlines()
    artifact = next(line for line in lines if '"model": "kpis.artifactfile"' in line)
    record = json.loads(artifact)
    record["pk"] = 10_000_000
    path.write_text("\n".join([*lines, json.dumps(record)]) + "\n")
    counts = Product.objects.count(), AIModel.objects.count()
    with pytest.raises(CommandError, match="breaks a rule of this database"):
        call_command("import_product", str(path), "--slug", "search-copy")
    assert (Product.objects.count(), AIModel.objects.count()) == counts


def test_an_export_read_from_a_stream_that_cannot_seek_imports_as_a_copy(tracked):
    from kpis.ml.mlflow.models import MlflowRun
    from products.transfer import product_export, product_import

    product, ml = tracked
    buf = io.StringIO()
    product_export(product=product, stream=buf)

    class Pipe:
        """Lines once, like a pipe."""

        def __init__(self, text):
            self._lines = iter(text.splitlines(keepends=True))

        def readline(self):
            return next(self._lines, "")

        def __iter__(self):
            return self._lines

        def seekable(self):
            return False

    copy = product_import(stream=Pipe(buf.getvalue()), slug="piped")
    assert MlflowRun.objects.filter(version__model__product=copy).count() == 2
    assert normalised(mlflow_view(ml, "piped"), "piped") == normalised(mlflow_view(ml, "search"), "search")
