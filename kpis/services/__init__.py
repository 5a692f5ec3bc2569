"""Writes of the KPIs themselves: KPIs and objectives (kpis.py), alerts (alerts.py), CSV
imports and exports (imports.py). The store, AI models and sources keep their own
services in kpis/timeseries/, kpis/ml/ and kpis/sources/."""
