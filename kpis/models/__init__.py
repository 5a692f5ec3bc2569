"""kpis owns every number pmhub keeps: the time-series store, KPIs and objectives,
AI models with their metrics, and the sources KPIs are pulled from.

One module per part, so each stays small:
- timeseries.py: Series and Point, the store everything numeric goes through, and its Rollups
- kpis.py: Objective and KPI
- alerts.py: Alert, AlertWebhook, AlertDelivery
- imports.py: ImportJob (CSV imports)
- aimodels.py: AIModel, ModelVersion, their stage history and metric series
- mlflow.py: MlflowRun, what an MLflow run keeps beyond its ModelVersion
- sources.py: MetricSource and PullRun (scheduled pulls)
"""
from .aimodels import AIModel, KpiModelFeed, ModelMetric, ModelVersion, StageTransition
from .alerts import Alert, AlertDelivery, AlertWebhook
from .imports import ImportJob
from .kpis import KPI, KPIStatus, Objective
from .mlflow import MlflowRun
from .sources import MetricSource, PullRun
from .timeseries import Point, Rollup, Series

__all__ = [
    "KPI", "Alert", "AlertDelivery", "AlertWebhook", "ImportJob", "KPIStatus", "Objective", "Point", "Rollup",
    "Series",
]
__all__ += ["AIModel", "KpiModelFeed", "ModelMetric", "ModelVersion", "StageTransition"]
__all__ += ["MlflowRun"]
__all__ += ["MetricSource", "PullRun"]
