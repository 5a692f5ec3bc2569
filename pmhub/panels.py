"""Panels: how one app shows its part on another app's page without the two
knowing each other's views.

An app registers a function for a slot, in its AppConfig.ready():

    from pmhub.panels import register

    @register("roadmap_item_detail", order=20)
    def feedback_demand(request, item):
        return render_to_string("feedback/_item_demand.html", {...}, request=request)

and the page that owns the slot renders `{% panels "roadmap_item_detail" item %}`.
A panel returns HTML (from a template, so it is escaped) or "" to show nothing.

Slots in use: "product_overview" (product detail page, obj=Product),
"roadmap_item_detail" (obj=RoadmapItem), "kpi_detail" (obj=KPI),
"model_detail" (obj=AIModel), "home" (the home page, obj=the user).
"""
from collections import defaultdict

_PANELS: dict[str, list[tuple[int, object]]] = defaultdict(list)


def register(slot: str, order: int = 50):
    def decorator(func):
        if func not in [f for _, f in _PANELS[slot]]:
            _PANELS[slot].append((order, func))
            _PANELS[slot].sort(key=lambda pair: pair[0])
        return func

    return decorator


def render(slot: str, request, obj) -> list[str]:
    return [html for _, func in _PANELS.get(slot, []) if (html := func(request, obj))]
