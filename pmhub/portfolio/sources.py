"""Where the portfolio's parts come from: each app's own portfolio selectors.

Every function takes product ids the caller already filtered to what the user
may see, and returns plain data keyed by product id in a few queries for any
number of products. A part whose app provides nothing yet returns an empty
answer, and the page leaves that part out for every product.
"""
from __future__ import annotations

import importlib
from datetime import date, datetime


def _optional(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def kpi_headlines(*, product_ids, start: datetime, end: datetime, samples: int = 30):
    from kpis.selectors.portfolio import kpi_headlines_for_products

    return kpi_headlines_for_products(product_ids=product_ids, start=start, end=end, samples=samples)


def roadmap_progress(*, product_ids, start: datetime, end: datetime, today: date) -> dict[int, dict]:
    from products.selectors import roadmap_progress_for_products

    return roadmap_progress_for_products(product_ids=product_ids, start=start, end=end, today=today)


def roadmap_shipped(*, product_ids, start: datetime, end: datetime) -> list[dict]:
    from products.selectors import roadmap_shipped_between

    return roadmap_shipped_between(product_ids=product_ids, start=start, end=end)


def model_health(*, product_ids, start: datetime, end: datetime) -> dict[int, list[dict]]:
    """Production models per product id: name, version, primary metric, its value and the
    previous version's; {} until the models part provides it."""
    fn = _optional("kpis.selectors", "models_portfolio_for_products")
    return fn(product_ids=product_ids, start=start, end=end) if fn else {}


def model_promotions(*, product_ids, start: datetime, end: datetime) -> list[dict]:
    fn = _optional("kpis.selectors", "model_promotions_between")
    return fn(product_ids=product_ids, start=start, end=end) if fn else []


def open_alerts(*, product_ids) -> dict[int, dict]:
    """{product id: {"open": n, "critical": n}} of open KPI alerts."""
    from kpis.selectors.portfolio import open_alert_counts_for_products

    return open_alert_counts_for_products(product_ids=product_ids)


def feedback_summary(*, product_ids, start: datetime, end: datetime) -> dict[int, dict]:
    """{product id: {"count", "previous_count", "positive", "neutral", "negative", "sentiment"}}."""
    fn = _optional("feedback.selectors", "feedback_summary_for_products")
    return fn(product_ids=product_ids, start=start, end=end) if fn else {}


def feedback_available() -> bool:
    return _optional("feedback.selectors", "feedback_summary_for_products") is not None


def models_available() -> bool:
    return _optional("kpis.selectors", "models_portfolio_for_products") is not None


def alerts_available() -> bool:
    return True
