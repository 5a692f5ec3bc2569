"""Drill-down links: every number on the portfolio points at the page that explains it.

Each link names the pages that would explain it best, most specific first; the
first one installed wins, so a link gets sharper as the apps that own those
pages land, and never breaks.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

_MISSING: set[tuple] = set()


def first_url(*candidates, query: dict | None = None, fragment: str = "") -> str:
    """candidates: (url name, kwargs) pairs; returns the first that reverses."""
    for name, kwargs in candidates:
        key = (name, tuple(sorted(kwargs)))
        if key in _MISSING:
            continue
        try:
            url = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            _MISSING.add(key)
            continue
        if query:
            url += "?" + urlencode(query)
        if fragment:
            url += "#" + fragment
        return url
    return ""


def product_url(slug: str) -> str:
    return first_url(("products:detail", {"slug": slug}))


def kpi_url(slug: str, kpi_id: int, key: str) -> str:
    return (
        first_url(("kpis:detail", {"slug": slug, "key": key}), ("kpis:kpi", {"slug": slug, "key": key}),
                  ("kpis:detail", {"pk": kpi_id}))
        or first_url(("kpis:product", {"slug": slug}), fragment=f"kpi-{key}")
        or product_url(slug)
    )


def alerts_url(slug: str) -> str:
    return first_url(("kpis:alerts", {"slug": slug}), ("kpis:product-alerts", {"slug": slug}),
                     ("kpis:product", {"slug": slug})) or product_url(slug)


def model_url(slug: str, model_id: int | None = None) -> str:
    if model_id is not None:
        url = first_url(("models:detail", {"slug": slug, "pk": model_id}), ("models:detail", {"pk": model_id}),
                        ("models:model", {"slug": slug, "pk": model_id}))
        if url:
            return url
    return first_url(("models:product", {"slug": slug})) or product_url(slug)


def roadmap_url(slug: str, status: str | None = None) -> str:
    query = {"status": status} if status else None
    return first_url(("roadmap:product", {"slug": slug}), query=query) or product_url(slug)


def roadmap_item_url(slug: str, item_id: int) -> str:
    return first_url(("roadmap:item", {"slug": slug, "pk": item_id}), ("roadmap:detail", {"slug": slug, "pk": item_id}),
                     ("roadmap:item", {"pk": item_id})) or roadmap_url(slug)


def feedback_url(slug: str, **filters) -> str:
    return first_url(("feedback:product", {"slug": slug}), query=filters or None) or product_url(slug)
