from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# Per-product tabs: (label, url name taking the product slug). A tab whose
# page is not installed is left out.
PRODUCT_TABS = [
    ("Overview", "products:detail"),
    ("Roadmap", "roadmap:product"),
    ("Sprints", "sprints:product"),
    ("KPIs", "kpis:product"),
    ("Sources", "sources:list"),
    ("Models", "models:product"),
    ("Feedback", "feedback:product"),
]


@register.inclusion_tag("pmhub/_product_tabs.html", takes_context=True)
def product_tabs(context, product, active=""):
    tabs = []
    for label, name in PRODUCT_TABS:
        try:
            url = reverse(name, kwargs={"slug": product.slug})
        except NoReverseMatch:
            continue
        tabs.append({"label": label, "url": url, "active": label.lower() == active.lower()})
    return {"tabs": tabs, "product": product}


@register.filter
def role_label(role):
    from pmhub.roles import Role

    try:
        return Role(role).label
    except ValueError:
        return "Staff" if role is None else role


@register.simple_tag(takes_context=True)
def panels(context, slot, obj):
    """Render every panel registered for slot (see pmhub/panels.py)."""
    from django.utils.safestring import mark_safe

    from pmhub.panels import render

    return mark_safe("\n".join(render(slot, context["request"], obj)))


@register.simple_tag(takes_context=True)
def allowed(context, product, action):
    """`{% allowed product "track" as can_track %}`: whether the user may do action on product."""
    from pmhub.permissions import user_can

    return user_can(context["request"].user, product, action)
