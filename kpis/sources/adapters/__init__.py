"""Source adapters, one per MetricSource kind, behind one interface (base.Adapter)."""
from kpis.sources.adapters.base import Adapter, FetchResult, PullError, TransientPullError
from kpis.sources.adapters.http_json import HttpJsonAdapter
from kpis.sources.adapters.prometheus import PrometheusAdapter
from kpis.sources.adapters.sql import SqlAdapter

ADAPTERS: dict[str, Adapter] = {a.kind: a for a in (HttpJsonAdapter(), PrometheusAdapter(), SqlAdapter())}


def adapter_for(kind: str) -> Adapter:
    return ADAPTERS[kind]


__all__ = ["ADAPTERS", "Adapter", "FetchResult", "PullError", "TransientPullError", "adapter_for"]
