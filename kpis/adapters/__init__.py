"""Source adapters, one per MetricSource kind, behind one interface (base.Adapter)."""
from .base import Adapter, FetchResult, PullError, TransientPullError
from .http_json import HttpJsonAdapter
from .prometheus import PrometheusAdapter
from .sql import SqlAdapter

ADAPTERS: dict[str, Adapter] = {a.kind: a for a in (HttpJsonAdapter(), PrometheusAdapter(), SqlAdapter())}


def adapter_for(kind: str) -> Adapter:
    return ADAPTERS[kind]


__all__ = ["ADAPTERS", "Adapter", "FetchResult", "PullError", "TransientPullError", "adapter_for"]
