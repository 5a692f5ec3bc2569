"""Reads of the kpis app, one module per part (see kpis/models/__init__.py)."""
from . import kpis  # noqa: F401
