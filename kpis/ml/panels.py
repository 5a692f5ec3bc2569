"""Panels the AI-models part shows on other apps' pages (see pmhub/panels.py)."""
from django.template.loader import render_to_string

from pmhub.panels import register


@register("product_overview", order=30)
def production_models(request, product):
    """The product page: each model's production version and its primary metric, with the change."""
    from kpis.ml.selectors import production_summaries

    summaries = production_summaries(products=[product])[product.pk]
    if not summaries:
        return ""
    return render_to_string("kpis/ml/_product_overview.html", {"product": product, "summaries": summaries},
                            request=request)


@register("kpi_detail", order=40)
def kpi_model_feed(request, kpi):
    """A KPI page: which model metric the KPI follows, and the production value it has now."""
    from kpis.ml.models import KpiModelFeed, ModelVersion
    from kpis.ml.selectors import final_value

    feed = KpiModelFeed.objects.filter(kpi=kpi).select_related("model", "model__product").first()
    if feed is None:
        return ""
    production = ModelVersion.objects.filter(model=feed.model, stage=ModelVersion.Stage.PRODUCTION).first()
    value = final_value(version=production, key=feed.metric_key) if production else None
    return render_to_string("kpis/ml/_kpi_feed.html", {
        "feed": feed, "production": production, "value": value,
    }, request=request)
