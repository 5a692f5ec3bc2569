"""Mounted at /mlflow/: MLFLOW_TRACKING_URI=http://host:port/mlflow."""
from django.urls import path, re_path

from kpis.ml.mlflow import logged_models, pages, proxy, registry, views  # noqa: F401 (these register their routes)

app_name = "mlflow"

urlpatterns = [
    path("api/2.0/mlflow/<path:endpoint>", views.dispatch, name="api"),
    path("ajax-api/2.0/mlflow/<path:endpoint>", views.dispatch, name="ajax-api"),
]
for _prefix in ("api", "ajax-api"):
    _base = f"{_prefix}/2.0/mlflow-artifacts/"
    urlpatterns += [
        path(f"{_base}artifacts", proxy.artifacts_root, name=f"{_prefix}-artifacts-root"),
        path(f"{_base}artifacts/", proxy.artifacts_root),
        path(f"{_base}artifacts/<path:path>", proxy.artifact, name=f"{_prefix}-artifact"),
        path(f"{_base}mpu/create/<path:path>", proxy.mpu_create, name=f"{_prefix}-mpu-create"),
        path(f"{_base}mpu/complete/<path:path>", proxy.mpu_complete, name=f"{_prefix}-mpu-complete"),
        path(f"{_base}mpu/abort/<path:path>", proxy.mpu_abort, name=f"{_prefix}-mpu-abort"),
        path(f"{_base}mpu/part/<str:token>", proxy.mpu_part, name=f"{_prefix}-mpu-part"),
        path(f"{_base}presigned/<path:path>", proxy.presigned, name=f"{_prefix}-presigned"),
    ]
urlpatterns += [
    path("", pages.ui, name="ui"),
    path("runs/<str:run_id>/", pages.run_page, name="run-page"),
    path("runs/<str:run_id>/artifacts/", pages.run_artifacts, name="run-artifacts"),
    path("runs/<str:run_id>/artifacts/file/<path:path>", pages.run_artifact_file, name="run-artifact-file"),
    path("experiments/<str:experiment_id>/", pages.experiment_page, name="experiment-page"),
    path("registered-models/<str:name>/", pages.registered_model_page, name="registered-model-page"),
    re_path(r"^(?P<rest>.*)$", views.elsewhere, name="elsewhere"),
]
