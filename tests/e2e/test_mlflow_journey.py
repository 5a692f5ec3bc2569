"""Browser journey: runs logged through MLflow show on the model page."""
import time

import pytest

from kpis.ml.mlflow.services import (
    MetricLog,
    mlflow_experiment_create,
    mlflow_run_create,
    mlflow_run_log_batch,
    mlflow_run_update,
    ms_to_datetime,
)
from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_mlflow_runs_show_on_the_model_page(page, live_server):
    product = ProductFactory(slug="search", name="Search")
    ds = member(product, "data_scientist", "dora")
    model = mlflow_experiment_create(actor=ds, name="search/ranker")
    now = int(time.time() * 1000)
    for label, status, scale in [("v1", "FINISHED", 1.0), ("v2-crash", "FAILED", 0.8)]:
        run = mlflow_run_create(actor=ds, model=model, run_name=label, user_id="dora",
                                tags=[("mlflow.source.name", "train.py")])
        steps = 40 if status == "FINISHED" else 12
        mlflow_run_log_batch(actor=ds, run=run, params=[("lr", "0.01")], metrics=[
            MetricLog("loss", scale / (s + 1), now - (steps - s) * 1000, s) for s in range(steps)])
        mlflow_run_update(actor=ds, run=run, status=status, end_time=ms_to_datetime(now))

    login(page, "dora", PASSWORD)
    page.goto(f"/models/{product.slug}/{model.pk}/")
    panel = page.locator("section.mlflow-runs")
    panel.get_by_role("heading", name="MLflow runs").wait_for()
    assert panel.get_by_role("cell", name="v2-crash").is_visible()
    assert panel.get_by_text("Failed").is_visible()
    assert panel.get_by_text("Finished").is_visible()
    panel.get_by_text("Log to this model from MLflow").click()
    assert panel.get_by_text('mlflow.set_experiment("search/ranker")').is_visible()
