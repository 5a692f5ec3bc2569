"""REST API for AI models: models, versions, bulk metrics, history, promotion."""
import json
from datetime import timedelta

import pytest

from kpis.ml.models import AIModel, ModelVersion
from kpis.timeseries.models import Point
from pmhub.models import AuditEvent
from tests import factories
from tests.kpis.aimodel_helpers import T0, make_model, make_version

pytestmark = pytest.mark.django_db


def test_data_scientist_creates_and_lists_models_and_versions(api, product, data_scientist):
    api.as_user(data_scientist)
    r = api.post("/api/v1/models/", {"product": product.slug, "name": "churn-gbm", "task": "classification",
                                     "primary_metric": "auc", "higher_is_better": True}, format="json")
    assert r.status_code == 201, r.json()
    model_id = r.json()["id"]
    assert r.json()["product"] == product.slug and r.json()["production_version"] is None
    r = api.post(f"/api/v1/models/{model_id}/versions/", {"version": "1", "params": {"depth": 6}}, format="json")
    assert r.status_code == 201 and r.json()["stage"] == "development" and r.json()["created_by"] == data_scientist.username
    r = api.post("/api/v1/model-versions/", {"model": model_id, "version": "2", "stage": "staging"}, format="json")
    assert r.status_code == 201, r.json()
    r = api.post("/api/v1/model-versions/", {"model": model_id, "version": "2"}, format="json")
    assert r.status_code == 400 and "already has a version" in r.json()["errors"]["version"][0]

    listed = api.get(f"/api/v1/models/{model_id}/versions/").json()
    assert [v["version"] for v in listed["results"]] == ["1", "2"]
    found = api.get("/api/v1/model-versions/", {"product": product.slug, "model_name": "churn-gbm", "version": "2"}).json()
    assert found["count"] == 1 and found["results"][0]["stage"] == "staging"
    assert api.get("/api/v1/models/", {"product": product.slug}).json()["count"] == 1


def test_api_visibility_and_roles(api, product, data_scientist, viewer):
    model = make_model(product, data_scientist)
    v1 = make_version(model, data_scientist, "1")
    hidden_product = factories.ProductFactory()
    hidden = make_model(hidden_product, factories.member(hidden_product, "pm", "other-pm"), name="secret")

    api.as_user(viewer)
    assert api.get("/api/v1/models/").json()["count"] == 1
    assert api.get(f"/api/v1/models/{hidden.pk}/").status_code == 404
    r = api.post("/api/v1/models/", {"product": product.slug, "name": "mine"}, format="json")
    assert r.status_code == 403
    assert api.post(f"/api/v1/models/{model.pk}/versions/", {"version": "9"}, format="json").status_code == 403
    assert api.post(f"/api/v1/model-versions/{v1.pk}/promote/", {}, format="json").status_code == 403
    r = api.post(f"/api/v1/model-versions/{v1.pk}/metrics/", {"metrics": [{"key": "a", "value": 1}]}, format="json")
    assert r.status_code == 403
    assert api.patch(f"/api/v1/models/{model.pk}/", {"name": "renamed"}, format="json").status_code == 403
    r = api.post("/api/v1/models/", {"product": hidden_product.slug, "name": "x"}, format="json")
    assert r.status_code == 400 and "product" in r.json()["errors"]
    assert Point.objects.count() == 0 and AIModel.objects.count() == 2
    assert ModelVersion.objects.get(pk=v1.pk).stage == "development"


def test_bulk_metrics_ten_thousand_entries_idempotent(api, product, data_scientist):
    v1 = make_version(make_model(product, data_scientist), data_scientist, "1")
    api.as_user(data_scientist)
    entries = [{"key": "loss" if i % 2 else "accuracy", "value": 1 / (i + 1), "step": i // 2,
                "ts": (T0 + timedelta(seconds=i // 2)).isoformat()} for i in range(10_000)]
    url = f"/api/v1/model-versions/{v1.pk}/metrics/"
    r = api.post(url, {"metrics": entries}, format="json")
    assert r.status_code == 201 and r.json() == {"stored": 10_000}
    r = api.post(url, {"metrics": entries}, format="json")  # a retry
    assert r.status_code == 201
    assert Point.objects.count() == 10_000
    summary = api.get(url).json()["metrics"]
    assert [m["key"] for m in summary] == ["accuracy", "loss"] and summary[1]["step"] == 4999

    raw = api.get(url, {"key": "loss", "limit": 100}).json()
    assert raw["truncated"] is True and len(raw["points"]) == 100 and raw["points"][0]["step"] == 0
    rest = api.get(url, {"key": "loss", "start_step": 4990}).json()
    assert [p["step"] for p in rest["points"]] == list(range(4990, 5000)) and rest["truncated"] is False
    steps = api.get(url, {"key": "loss", "bucket": "steps", "max_points": 50}).json()
    assert len(steps["points"]) <= 50 and steps["points"][-1]["step"] == 4999
    timed = api.get(url, {"key": "loss", "bucket": "auto"}).json()
    assert sum(p["count"] for p in timed["points"]) == 5000
    assert api.get(url, {"key": "nope"}).status_code == 404
    assert api.get(url, {"key": "loss", "bucket": "fortnight"}).status_code == 400


def test_bad_batches_are_refused_whole_with_index_and_field(api, product, data_scientist):
    v1 = make_version(make_model(product, data_scientist), data_scientist, "1")
    api.as_user(data_scientist)
    url = f"/api/v1/model-versions/{v1.pk}/metrics/"
    good = [{"key": "loss", "value": 0.5, "step": i} for i in range(10)]
    body = json.dumps({"metrics": good + [{"key": "", "value": 1}, {"key": "a", "value": 1.5}]})
    r = api.post(url, body.replace("1.5", "1e999"), content_type="application/json")  # parses as infinity
    assert r.status_code == 400
    body = r.json()
    assert body["detail"] == "Invalid input."
    assert set(body["errors"]) == {"metrics[10].key", "metrics[11].value"}
    # NaN as a JSON literal is not JSON: refused before validation.
    raw = json.dumps({"metrics": [{"key": "loss", "value": float("nan")}]})
    r = api.post(url, raw, content_type="application/json")
    assert r.status_code == 400
    r = api.post(url, {"metrics": [{"key": "loss", "value": 1}] * 10_001}, format="json")
    assert r.status_code == 400 and "10,000" in r.json()["errors"]["metrics"][0]
    r = api.post(url, {"nothing": []}, format="json")
    assert r.status_code == 400
    assert api.post("/api/v1/model-versions/999999/metrics/", {"metrics": good}, format="json").status_code == 404
    assert Point.objects.count() == 0


def test_promote_through_api(api, product, data_scientist, pm):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    api.as_user(data_scientist)
    r = api.post(f"/api/v1/model-versions/{v1.pk}/promote/", {"note": "beats baseline"}, format="json")
    assert r.status_code == 200 and r.json()["stage"] == "production"
    assert api.get(f"/api/v1/models/{model.pk}/").json()["production_version"] == "1"
    # Someone promoted meanwhile: an expectation that no longer holds gets 409 and changes nothing.
    r = api.post(f"/api/v1/model-versions/{v2.pk}/promote/", {"expected_production": None}, format="json")
    assert r.status_code == 409 and "someone else promoted" in r.json()["detail"]
    assert ModelVersion.objects.get(pk=v2.pk).stage == "development"
    r = api.post(f"/api/v1/model-versions/{v2.pk}/promote/", {"expected_production": "1"}, format="json")
    assert r.status_code == 200
    assert dict(ModelVersion.objects.values_list("version", "stage")) == {"1": "archived", "2": "production"}
    assert AuditEvent.objects.filter(action="model_version.promoted", actor=data_scientist).count() == 2
    r = api.post(f"/api/v1/model-versions/{v1.pk}/stage/", {"stage": "staging"}, format="json")
    assert r.status_code == 200 and r.json()["stage"] == "staging"
    r = api.post(f"/api/v1/model-versions/{v1.pk}/promote/", {"expected_production": "nope"}, format="json")
    assert r.status_code == 400


def test_schema_lists_model_endpoints(client):
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/v1/model-versions/{id}/metrics/" in r.content and b"/api/v1/models/" in r.content


@pytest.mark.parametrize("method,url", [
    ("post", "/api/v1/model-versions/x1/metrics/"), ("post", "/api/v1/model-versions/x1/promote/"),
    ("post", "/api/v1/models/x1/kpi-feed/"), ("post", "/api/v1/models/x1/versions/"),
])
def test_malformed_ids_are_404_not_500(api, product, pm, method, url):
    """Found by the API fuzz test: a non-numeric id in these actions raised ValueError (500)."""
    api.as_user(pm)
    r = getattr(api, method)(url, {}, format="json")
    assert r.status_code == 404 and r.json() == {"detail": "Not found."}
