"""Pages of metric sources: list per product, form, detail with health, pull now, test connection."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pmhub.permissions import user_can
from pmhub.roles import Action
from products.views import form_errors_from, get_product_for

from kpis.sources import selectors, services
from kpis.sources.adapters import PullError
from kpis.sources.forms import SourceForm
from kpis.sources.models import MetricSource


def _source(request, slug, pk, action=Action.VIEW):
    product = get_product_for(request, slug, action)
    try:
        return product, selectors.source_get_for_user(user=request.user, pk=pk, product=product)
    except MetricSource.DoesNotExist:
        raise Http404("No such source.") from None


def _health_context(request, product, source):
    return {"product": product, "health": selectors.source_health(source=source),
            "can_edit": user_can(request.user, product, Action.EDIT)}


@login_required
def source_list(request, slug):
    product = get_product_for(request, slug)
    sources = selectors.source_list_for_user(user=request.user, product=product)
    return render(request, "kpis/sources/source_list.html", {
        "product": product, "sources": sources, "can_edit": user_can(request.user, product, Action.EDIT),
        "has_kpis": selectors.kpi_list_for_product(product=product).exists(),
    })


@login_required
def source_create(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    kpis = selectors.kpi_list_for_product(product=product)
    initial = {"kpi": request.GET.get("kpi")} if request.GET.get("kpi") else {}
    form = SourceForm(request.POST or None, kpis=kpis, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            source = services.source_create(actor=request.user, kpi=form.cleaned_data["kpi"],
                                            kind=form.cleaned_data["kind"], **form.service_kwargs())
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, f"Source '{source.name}' added; its first pull is queued.")
            return redirect("sources:detail", slug=product.slug, pk=source.pk)
    return render(request, "kpis/sources/source_form.html", {"product": product, "form": form, "creating": True})


def _errors(form, exc):
    # Adapter errors name config keys; show them on the form's fields.
    rename = {"query": "sql" if form.data.get("kind", getattr(form.source, "kind", "")) == "sql" else "promql"}
    if hasattr(exc, "error_dict"):
        exc = ValidationError({rename.get(k, k): v for k, v in exc.error_dict.items()})
    form_errors_from(form, exc)


@login_required
def source_edit(request, slug, pk):
    product, source = _source(request, slug, pk, Action.EDIT)
    stored = selectors.source_secret_names(source=source)
    form = SourceForm(request.POST or None, kpis=selectors.kpi_list_for_product(product=product), source=source,
                      stored_secrets=stored, initial=SourceForm.initial_for(source))
    if request.method == "POST" and form.is_valid():
        try:
            source = services.source_update(actor=request.user, source=source, **form.service_kwargs())
        except ValidationError as exc:
            _errors(form, exc)
        else:
            messages.success(request, "Source saved.")
            return redirect("sources:detail", slug=product.slug, pk=source.pk)
    return render(request, "kpis/sources/source_form.html",
                  {"product": product, "form": form, "source": source, "creating": False})


@login_required
def source_detail(request, slug, pk):
    product, source = _source(request, slug, pk)
    return render(request, "kpis/sources/source_detail.html", {
        **_health_context(request, product, source), "source": source,
        "can_manage": user_can(request.user, product, Action.MANAGE),
    })


@login_required
def source_health(request, slug, pk):
    """The health block alone: htmx polls it so a page shows new runs as they land."""
    product, source = _source(request, slug, pk)
    return render(request, "kpis/sources/_health.html", _health_context(request, product, source))


@login_required
@require_POST
def source_pull_now(request, slug, pk):
    product, source = _source(request, slug, pk, Action.EDIT)
    services.source_pull_now(actor=request.user, source=source)
    if request.headers.get("HX-Request"):
        source.refresh_from_db()
        context = _health_context(request, product, source)
        context["notice"] = "Pull queued; its run appears below within seconds."
        return render(request, "kpis/sources/_health.html", context)
    messages.success(request, "Pull queued; its run appears below within seconds.")
    return redirect("sources:detail", slug=product.slug, pk=source.pk)


@login_required
@require_POST
def source_test(request, slug, pk):
    """Test connection: what a pull now would store, stored nowhere."""
    product, source = _source(request, slug, pk, Action.EDIT)
    try:
        result, error = services.source_test_connection(actor=request.user, source=source), None
    except PullError as exc:
        result, error = None, str(exc)[:1].upper() + str(exc)[1:]
    return render(request, "kpis/sources/_test_result.html",
                  {"product": product, "source": source, "result": result, "error": error,
                   "shown": result.points[:20] if result else []})


@login_required
@require_POST
def source_delete(request, slug, pk):
    product, source = _source(request, slug, pk, Action.MANAGE)
    name = source.name
    services.source_delete(actor=request.user, source=source)
    messages.success(request, f"Source '{name}' deleted; the points it pulled stay.")
    return redirect("sources:list", slug=product.slug)
