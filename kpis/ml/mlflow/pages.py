"""Browser pages under /mlflow/: the run link the MLflow client prints lands on pmhub's model page.

`/mlflow/#/experiments/<id>/runs/<run id>` sends only `/mlflow/` to the server; a static
script (no inline script: the CSP forbids it) reads the fragment and goes to
`/mlflow/runs/<run id>/`, which redirects to the model page at that run's row.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from kpis.ml.mlflow import selectors as sel


@login_required
def ui(request):
    return render(request, "kpis/ml/mlflow_link.html")


def _model_page(model, anchor: str = ""):
    url = reverse("models:detail", args=[model.product.slug, model.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
def run_page(request, run_id: str):
    run = sel.run_get_for_user(user=request.user, run_id=run_id)
    if run is None:
        raise Http404("No such MLflow run (or not visible to you).")
    return _model_page(run.version.model, f"run-{run.run_uuid}")


@login_required
def experiment_page(request, experiment_id: str):
    model = sel.experiment_get_for_user(user=request.user, experiment_id=experiment_id)
    if model is None:
        raise Http404("No such experiment (or not visible to you).")
    return _model_page(model)


@login_required
def registered_model_page(request, name: str):
    from kpis.ml.mlflow.registry import model_get_for_user

    model = model_get_for_user(user=request.user, name=name)
    if model is None:
        raise Http404("No such registered model (or not visible to you).")
    return _model_page(model, "mlflow-runs-title")
