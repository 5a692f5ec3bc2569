"""Issue 18.6 where it shows: the API's status and the dashboard card say "at risk" for a
KPI inside its thresholds but short of its target. Issue 18.1 for model metrics ingest."""
from datetime import timedelta

from django.utils import timezone

from pmhub import limits
from tests.factories import PASSWORD
from tests.kpis.aimodel_helpers import make_model, make_version
from tests.kpis.factories import add_points, make_kpi


def test_api_and_card_follow_the_one_rule(api, client, product, pm):
    csat = make_kpi(product, "csat", name="CSAT", unit="%", target=90, warning_threshold=85, critical_threshold=80)
    response = make_kpi(product, "response", name="Response time", direction="lower", target=30,
                        warning_threshold=45, critical_threshold=60)
    start = timezone.now() - timedelta(hours=1)
    add_points(csat, [89.57], start=start)
    add_points(response, [30.74], start=start)
    api.as_user(pm)
    statuses = {k["key"]: k["status"] for k in api.get(f"/api/v1/kpis/?product={product.slug}").json()["results"]}
    assert statuses == {"csat": "at_risk", "response": "at_risk"}
    assert client.login(username=pm.username, password=PASSWORD)
    page = client.get(f"/kpis/{product.slug}/").content.decode()
    assert "On track" not in page and page.count(">At risk<") >= 2


def test_model_metrics_ingest_refuses_values_past_the_bounds(api, product, data_scientist):
    v1 = make_version(make_model(product, data_scientist), data_scientist, "1")
    api.as_user(data_scientist)
    r = api.post(f"/api/v1/model-versions/{v1.pk}/metrics/", {"metrics": [
        {"key": "loss", "value": 0.5}, {"key": "loss", "value": 10**400, "step": 1},
        {"key": "loss", "value": -2e15, "step": 2}]}, format="json")
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors["metrics[1].value"] == [limits.value_message()] and errors["metrics[2].value"] == [limits.value_message()]
