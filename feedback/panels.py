"""What feedback shows on other apps' pages (see pmhub/panels.py)."""
from django.template.loader import render_to_string

from pmhub.panels import register
from pmhub.permissions import user_can
from pmhub.roles import Action


@register("roadmap_item_detail", order=30)
def roadmap_item_demand(request, item):
    """Demand, feedback count, distinct organisations and the linked feedback of a roadmap item."""
    from .selectors import item_demand

    if not user_can(request.user, item.product, Action.VIEW):
        return ""
    return render_to_string("feedback/_item_panel.html", {
        "item": item, "demand": item_demand(item=item, limit=8),
        "can_edit": user_can(request.user, item.product, Action.EDIT),
    }, request=request)


@register("home", order=30)
def home_new_feedback(request, user):
    """The PM's home: feedback nobody has triaged yet, newest first."""
    from .selectors import feedback_new_for_user

    items, total = feedback_new_for_user(user=user, limit=6)
    return render_to_string("feedback/_home_panel.html", {"items": items, "total": total}, request=request)
