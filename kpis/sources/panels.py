"""The sources' part of a KPI's page (slot "kpi_detail"): health of each source,
recent runs, pull now and test connection, and a link to add a source."""
from django.template.loader import render_to_string

from pmhub.panels import register
from pmhub.permissions import user_can
from pmhub.roles import Action


@register("kpi_detail", order=30)
def kpi_sources_panel(request, kpi):
    from kpis.sources import selectors

    if not user_can(request.user, kpi.product_id, Action.VIEW):
        return ""
    healths = selectors.source_health_for_kpi(user=request.user, kpi=kpi)
    return render_to_string("kpis/sources/_kpi_panel.html", {
        "kpi": kpi, "product": kpi.product, "healths": healths,
        "can_edit": user_can(request.user, kpi.product_id, Action.EDIT),
    }, request=request)
