"""Reads of the KPIs themselves: lists, cards and dashboards (kpis.py), status (status.py),
headlines for many products at once (portfolio.py). The store, AI models and sources keep
their own selectors in kpis/timeseries/, kpis/ml/ and kpis/sources/."""
from . import kpis  # noqa: F401
