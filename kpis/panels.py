"""What the kpis app shows on other apps' pages (see pmhub/panels.py)."""
from django.template.loader import render_to_string

from pmhub.panels import register


@register("product_overview", order=20)
def product_kpi_cards(request, product):
    from kpis.selectors.kpis import kpi_overview_cards, open_alerts_for_products
    from kpis.views import _with_sparklines

    # Headline KPIs plus every KPI off track or at risk, and every open alert (issue 18.5).
    cards = _with_sparklines(kpi_overview_cards(user=request.user, product=product))
    alerts = open_alerts_for_products(product_ids=[product.pk]).get(product.pk, [])
    return render_to_string("kpis/_product_panel.html", {"cards": cards, "product": product, "alerts": alerts},
                            request=request)


@register("home", order=10)
def home_attention(request, user):
    """The PM's home: KPIs off track or at risk and open alerts on their products."""
    from kpis.selectors.kpis import alert_list_for_user, kpis_needing_attention_for_user

    cards, total = kpis_needing_attention_for_user(user=user)
    alerts = alert_list_for_user(user=user, state="open")
    return render_to_string("kpis/_home_panel.html", {
        "cards": cards, "total": total, "alerts": list(alerts[:8]), "alert_total": alerts.count(),
    }, request=request)


@register("roadmap_item_detail", order=20)
def roadmap_item_kpis(request, item):
    from pmhub.permissions import user_can
    from pmhub.roles import Action
    from kpis.selectors.kpis import kpis_for_roadmap_item

    if not user_can(request.user, item.product_id, Action.VIEW):
        return ""
    rows = kpis_for_roadmap_item(item=item)
    if not rows:
        return ""  # nothing linked: leave the page to the other panels
    return render_to_string("kpis/_roadmap_item_panel.html", {"rows": rows, "item": item}, request=request)
