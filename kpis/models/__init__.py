"""kpis owns every number pmhub keeps: the time-series store, KPIs and objectives,
AI models with their metrics, and the sources KPIs are pulled from.

One module per part, so each stays small:
- timeseries.py: Series and Point, the store everything numeric goes through
- kpis.py: Objective and KPI (and their alerts)
"""
from .kpis import KPI, Objective
from .timeseries import Point, Series

__all__ = ["KPI", "Objective", "Point", "Series"]
