"""Mounted at /mlflow/: MLFLOW_TRACKING_URI=http://host:port/mlflow."""
from django.urls import path, re_path

from kpis.ml.mlflow import views

app_name = "mlflow"

urlpatterns = [
    path("api/2.0/mlflow/<path:endpoint>", views.dispatch, name="api"),
    path("ajax-api/2.0/mlflow/<path:endpoint>", views.dispatch, name="ajax-api"),
    re_path(r"^(?P<rest>.*)$", views.elsewhere, name="elsewhere"),
]
