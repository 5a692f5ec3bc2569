from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs, models and metrics"

    def ready(self):
        from . import panels_models, tasks_models  # noqa: F401  (AI models: panels and tasks)
        from .mlflow import panels as mlflow_panels  # noqa: F401  (MLflow runs on the model page)
        from . import panels  # noqa: F401  (registers the panels)
        from . import panels_sources  # noqa: F401 - registers the "kpi_detail" sources panel
