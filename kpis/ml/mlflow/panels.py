"""The model page's "MLflow" panel: the model's MLflow runs with status and times,
and for those who may log, the two settings that point a training job here."""
from django.template.loader import render_to_string

from kpis.ml.mlflow.selectors import run_list_for_model
from pmhub.panels import register
from pmhub.permissions import user_can
from pmhub.roles import Action

from kpis.ml.mlflow.mapping import experiment_name


@register("model_detail", order=60)
def mlflow_runs(request, model):
    runs = run_list_for_model(model=model)
    can_log = user_can(request.user, model.product_id, Action.TRACK)
    if not runs and not can_log:
        return ""
    from kpis.ml.mlflow.registry import aliases_for_model, registered_name
    from kpis.ml.mlflow.selectors import artifact_summary_for_runs, registered_numbers

    return render_to_string("kpis/_mlflow_runs.html", {
        "runs": runs, "can_log": can_log, "experiment": experiment_name(model),
        "registered_name": registered_name(model), "aliases": aliases_for_model(model=model),
        "numbers": registered_numbers(model=model), "artifacts": artifact_summary_for_runs(runs=runs),
        "tracking_uri": request.build_absolute_uri("/mlflow"),
    }, request=request)
