"""Small builders for AI-model tests."""
from datetime import datetime, timedelta, timezone

from kpis.ml import services

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def make_model(product, actor, name="ranker", primary_metric="accuracy", higher_is_better=True, task="classification"):
    return services.aimodel_create(actor=actor, product=product, name=name, task=task,
                                   primary_metric=primary_metric, higher_is_better=higher_is_better)


def make_version(model, actor, label, **kwargs):
    return services.model_version_create(actor=actor, model=model, version=label, **kwargs)


def log(version, actor, metrics: dict, step=0, ts=None):
    ts = ts or T0 + timedelta(seconds=step)
    entries = [{"key": k, "value": v, "step": step, "ts": ts.isoformat()} for k, v in metrics.items()]
    return services.model_metrics_log(actor=actor, version=version, entries=entries)
