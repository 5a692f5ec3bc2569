"""Where the portfolio's parts come from: each app's own portfolio selectors.

Every function takes product ids the caller already filtered to what the user
may see, and returns plain data keyed by product id in a few queries for any
number of products. Only this module knows the other apps' selectors.
"""
from __future__ import annotations

from datetime import date, datetime


def kpi_headlines(*, product_ids, start: datetime, end: datetime, samples: int = 30):
    from kpis.selectors.portfolio import kpi_headlines_for_products

    return kpi_headlines_for_products(product_ids=product_ids, start=start, end=end, samples=samples)


def roadmap_progress(*, product_ids, start: datetime, end: datetime, today: date) -> dict[int, dict]:
    from products.roadmap.selectors import roadmap_progress_for_products

    return roadmap_progress_for_products(product_ids=product_ids, start=start, end=end, today=today)


def roadmap_shipped(*, product_ids, start: datetime, end: datetime) -> list[dict]:
    from products.roadmap.selectors import roadmap_shipped_between

    return roadmap_shipped_between(product_ids=product_ids, start=start, end=end)


def model_health(*, product_ids, start: datetime, end: datetime) -> dict[int, list[dict]]:
    """Models per product id: production version, primary metric, its value and the previous
    production version's (kpis.ml.selectors.production_summaries)."""
    from kpis.ml.selectors import production_summaries

    out: dict[int, list[dict]] = {}
    for product_id, summaries in production_summaries(products=product_ids).items():
        out[product_id] = [
            {
                "model_id": s.model.pk, "model_name": s.model.name, "metric": s.metric,
                "version": s.version.version if s.version else None, "value": s.value,
                "previous_version": s.previous_version.version if s.previous_version else None,
                "previous_value": s.previous_value, "higher_is_better": s.model.higher_is_better,
            }
            for s in summaries
        ]
    return out


def model_promotions(*, product_ids, start: datetime, end: datetime) -> list[dict]:
    from kpis.selectors.portfolio import model_promotions_between

    return model_promotions_between(product_ids=product_ids, start=start, end=end)


def open_alerts(*, product_ids) -> dict[int, dict]:
    """{product id: {"open": n, "critical": n}} of open KPI alerts."""
    from kpis.selectors.portfolio import open_alert_counts_for_products

    return open_alert_counts_for_products(product_ids=product_ids)


def open_alert_list(*, product_ids) -> dict[int, list[dict]]:
    """{product id: [open alert]}: every open alert (up to 20 a product), critical first."""
    from kpis.selectors.portfolio import open_alerts_for_products

    return open_alerts_for_products(product_ids=product_ids)


def feedback_summary(*, user, product_ids, start: datetime, end: datetime) -> dict[int, dict]:
    """{product id: {"count", "previous_count", "positive", "neutral", "negative", "sentiment"}}:
    volume and sentiment in [start, end), and the volume of the period before."""
    from feedback.selectors import feedback_summary_by_product

    wanted = set(product_ids)
    now = feedback_summary_by_product(user=user, start=start, end=end)
    before = feedback_summary_by_product(user=user, start=start - (end - start), end=start)
    out = {}
    for product_id in wanted:
        cur = now.get(product_id, {})
        count = cur.get("count", 0)
        out[product_id] = {
            "count": count, "previous_count": before.get(product_id, {}).get("count", 0),
            "positive": cur.get("positive", 0), "negative": cur.get("negative", 0),
            "neutral": count - cur.get("positive", 0) - cur.get("negative", 0),
            "sentiment": cur.get("avg_sentiment"), "untriaged": cur.get("untriaged", 0),
        }
    return out
