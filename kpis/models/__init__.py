"""Every model of the kpis app, so that Django registers them: each feature keeps its own.

- kpis/timeseries/models.py: Series and Point, the store everything numeric goes through, and its Rollups
- kpis/models/ (this package), the KPIs themselves:
  - kpis.py: Objective and KPI
  - alerts.py: Alert, AlertWebhook, AlertDelivery
  - imports.py: ImportJob (CSV imports)
- kpis/ml/models.py: AIModel, ModelVersion, their stage history, metric series and KPI feeds
- kpis/ml/mlflow/models.py: MlflowRun, what an MLflow run keeps beyond its ModelVersion
- kpis/sources/models.py: MetricSource and PullRun (scheduled pulls)

Code outside a feature imports a model from its feature's module; `from kpis.models
import KPI` is the KPI feature's own path.
"""
from kpis.timeseries.models import Point, Rollup, Series

from .kpis import KPI, KPIStatus, Objective
from .alerts import Alert, AlertDelivery, AlertWebhook
from .imports import ImportJob

from kpis.ml.mlflow.models import (  # noqa: E402
    ArtifactFile, ArtifactUpload, LoggedModel, MlflowRun, RegisteredModelTag, RegisteredVersion, RegistryAlias,
)
from kpis.ml.models import AIModel, KpiModelFeed, ModelMetric, ModelVersion, StageTransition  # noqa: E402
from kpis.sources.models import MetricSource, PullRun  # noqa: E402

__all__ = [
    "ArtifactFile", "ArtifactUpload", "LoggedModel", "RegisteredModelTag", "RegisteredVersion", "RegistryAlias",
    "KPI", "Alert", "AlertDelivery", "AlertWebhook", "ImportJob", "KPIStatus", "Objective",
    # registered here, owned by their features:
    "Point", "Rollup", "Series", "AIModel", "KpiModelFeed", "ModelMetric", "ModelVersion", "StageTransition",
    "MlflowRun", "MetricSource", "PullRun",
]
