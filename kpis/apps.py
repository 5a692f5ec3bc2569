from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs, models and metrics"

    def ready(self):
        # Panels: what each feature shows on other features' pages (pmhub/panels.py).
        from kpis import panels  # noqa: F401  (KPIs on the product and roadmap item pages)
        from kpis.ml import panels as ml_panels  # noqa: F401  (AI models on the product and KPI pages)
        from kpis.ml.mlflow import panels as mlflow_panels  # noqa: F401  (MLflow runs on the model page)
        from kpis.sources import panels as sources_panels  # noqa: F401  (sources on the KPI page)
