"""Panels the AI-models part shows on other apps' pages (see pmhub/panels.py)."""
from django.template.loader import render_to_string

from pmhub.panels import register


@register("product_overview", order=30)
def production_models(request, product):
    """The product page: each model's production version and its primary metric, with the change."""
    from kpis.selectors.aimodels import production_summaries

    summaries = production_summaries(products=[product])[product.pk]
    if not summaries:
        return ""
    return render_to_string("kpis/models/_product_overview.html", {"product": product, "summaries": summaries},
                            request=request)
