"""Issue 18.11: the model page's MLflow runs panel says who logged a run: the pmhub user
whose token the client used, not "—" when the client reported no mlflow.user."""
from kpis.ml.mlflow.models import MlflowRun
from tests.factories import PASSWORD

from .test_mlflow_api import Mlflow, now_ms


def test_run_logged_with_a_token_shows_its_user(client, product, data_scientist, viewer):
    data_scientist.first_name, data_scientist.last_name = "Dana", "Scientist"
    data_scientist.save()
    ds = Mlflow(data_scientist)
    status, body = ds.post("experiments/create", {"name": f"{product.slug}/ranker"})
    assert status == 200, body
    status, body = ds.post("runs/create", {"experiment_id": body["experiment_id"], "run_name": "v1",
                                           "start_time": now_ms()})
    assert status == 200, body
    run = MlflowRun.objects.select_related("version__model").get()
    assert client.login(username=viewer.username, password=PASSWORD)
    page = client.get(f"/models/{product.slug}/{run.version.model_id}/").content.decode()
    cell = page.split('data-testid="run-logged-by">', 1)[1].split("</td>", 1)[0]
    assert cell == "Dana Scientist"
