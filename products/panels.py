"""The roadmap and sprint panel on the product overview page (pmhub/panels.py)."""
from django.template.loader import render_to_string
from django.utils import timezone

from pmhub.panels import register

from products.roadmap import selectors as roadmap_selectors
from products.sprints import selectors as sprint_selectors


@register("product_overview", order=10)
def roadmap_and_sprint(request, product):
    columns = roadmap_selectors.roadmap_board(product=product)
    active = sprint_selectors.sprint_active(product=product)
    return render_to_string("products/_overview_panel.html", {
        "product": product,
        "columns": [{"label": c["label"], "count": len(c["items"]),
                     "late": sum(1 for i in c["items"] if i.is_slipping)} for c in columns],
        "active": active, "totals": sprint_selectors.sprint_totals(sprint=active) if active else None,
    }, request=request)


@register("home", order=20)
def home_sprints(request, user):
    """The PM's home: the running sprint of each of their products."""
    sprints = list(sprint_selectors.sprint_list_for_user(user=user, state="active")[:10])
    return render_to_string("products/_home_sprints.html", {"sprints": sprints, "today": timezone.localdate()},
                            request=request)
