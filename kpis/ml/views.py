"""Pages for AI models: models per product, the model page comparing versions, promote."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pmhub.permissions import require, user_can
from pmhub.roles import Action
from products import selectors as product_selectors
from products.models import Product

from kpis.ml import charts, selectors, services
from kpis.ml.models import AIModel, ModelVersion

MAX_CURVE_CHARTS = 8


def _product(request, slug, action=Action.VIEW) -> Product:
    try:
        product = product_selectors.product_get_for_user(user=request.user, slug=slug)
    except Product.DoesNotExist:
        raise Http404("No such product.") from None
    require(request.user, product, action)
    return product


def _model(request, product, pk) -> AIModel:
    try:
        return selectors.aimodel_get_for_user(user=request.user, pk=pk, product=product)
    except AIModel.DoesNotExist:
        raise Http404("No such model.") from None


@login_required
def index(request):
    """Every product the user may see, with its models and their production versions."""
    products = list(product_selectors.product_list_for_user(user=request.user))
    summaries = selectors.production_summaries(products=products)
    rows = [{"product": p, "summaries": summaries.get(p.pk, [])} for p in products]
    return render(request, "kpis/ml/index.html", {"rows": rows})


@login_required
def product_models(request, slug):
    product = _product(request, slug)
    summaries = selectors.production_summaries(products=[product])[product.pk]
    counts = selectors.version_counts(product=product)
    return render(request, "kpis/ml/product.html", {
        "product": product, "summaries": summaries, "version_counts": counts,
        "can_track": user_can(request.user, product, Action.TRACK),
    })


@login_required
def model_detail(request, slug, pk):
    product = _product(request, slug)
    model = _model(request, product, pk)
    cmp = selectors.model_comparison(model=model)
    labels = [v.version for v in cmp.versions]
    colours = charts.version_colours(labels)
    label_of = {v.pk: v.version for v in cmp.versions}
    production = next((v for v in cmp.versions if v.stage == ModelVersion.Stage.PRODUCTION), None)

    curve_figures = []
    for i, (key, per_version) in enumerate(list(cmp.curves.items())[:MAX_CURVE_CHARTS]):
        fig = charts.metric_curves_figure(
            key=key, colours=colours, higher_is_better=cmp.higher_is_better[key],
            curves=[(v.version, [b.step for b in buckets], [b.avg for b in buckets]) for v, buckets in per_version],
        )
        curve_figures.append({"id": f"fig-curve-{i}", "key": key, "figure": fig.to_plotly_json()})
    values = {(label_of[vid], key): fv.value for (vid, key), fv in cmp.final.items()}
    best_labels = {k: {label_of[vid] for vid in ids} for k, ids in cmp.best.items()}
    bars = charts.final_values_figure(keys=cmp.keys, versions=labels, values=values, best=best_labels, colours=colours)

    table = []
    for v in cmp.versions:
        cells = []
        for key in cmp.keys:
            fv = cmp.final.get((v.pk, key))
            cells.append({"value": fv.value if fv else None, "step": fv.step if fv else None,
                          "best": v.pk in cmp.best.get(key, ())})
        table.append({"version": v, "colour": colours[v.version], "cells": cells})

    return render(request, "kpis/ml/detail.html", {
        "product": product, "model": model, "versions": cmp.versions, "keys": cmp.keys, "table": table,
        "higher_is_better": cmp.higher_is_better, "production": production,
        "curve_figures": curve_figures, "bars": bars.to_plotly_json() if cmp.keys else None,
        "history": selectors.stage_history(model=model),
        "can_track": user_can(request.user, product, Action.TRACK),
        "more_curves": max(0, len(cmp.curves) - MAX_CURVE_CHARTS),
    })


@login_required
@require_POST
def version_promote(request, slug, pk, version_pk):
    product = _product(request, slug, Action.TRACK)
    model = _model(request, product, pk)
    version = get_object_or_404(ModelVersion.objects.select_related("model"), pk=version_pk, model=model)
    expected = request.POST.get("expected_production", "any")
    if expected not in ("any", ""):
        expected = ModelVersion.objects.filter(pk=expected, model=model).first() if expected.isdigit() else "any"
    elif expected == "":
        expected = None
    try:
        services.model_version_promote(actor=request.user, version=version, expected_production=expected,
                                       note=request.POST.get("note", ""))
    except services.PromotionConflict as exc:
        messages.error(request, f"{exc} Nothing was changed; check the versions below and try again.")
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        messages.success(request, f"Version {version.version} of {model.name} is now in production.")
    return redirect("models:detail", slug=product.slug, pk=model.pk)
