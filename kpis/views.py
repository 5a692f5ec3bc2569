"""KPI pages: dashboards, KPI detail and forms, objectives, alerts, CSV import and export."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from pmhub.page_actions import errors_as_messages
from pmhub.permissions import user_can
from pmhub.roles import Action
from products.selectors import product_list_for_user
from products.views import form_errors_from, get_product_for

from . import charts
from .forms import ImportForm, KPIForm, ObjectiveForm, WebhookForm
from kpis.models import KPI, AlertWebhook, ImportJob, Objective
from kpis.sources.models import MetricSource
from kpis.sources.selectors import source_list_for_user
from .selectors import kpis as sel
from .services import alerts as alert_services, imports as import_services, kpis as services

RANGE_CHOICES = [(key, label) for key, (label, _seconds) in sel.RANGES.items()]


def _kpi_for(request, product, key) -> KPI:
    try:
        return sel.kpi_get_for_user(user=request.user, product=product, key=key)
    except KPI.DoesNotExist:
        raise Http404("No such KPI.") from None


def _figure(data: sel.KPIChartData, *, height=300, markers=True) -> dict:
    kpi = data.kpi
    return charts.kpi_figure_spec(
        name=kpi.name, unit=kpi.unit, direction=kpi.direction, start=data.range.start, end=data.range.end,
        buckets=data.buckets, previous=data.previous, target=kpi.target, warning=kpi.warning_threshold,
        critical=kpi.critical_threshold, markers=data.markers if markers else (), height=height,
    )


def _with_sparklines(cards):
    for card in cards:
        card.spark_points = charts.sparkline_path([v for _ts, v in card.spark])
    return cards


def _range_context(request, time_range):
    return {"range": time_range, "range_choices": RANGE_CHOICES,
            "custom_from": request.GET.get("from", ""), "custom_to": request.GET.get("to", "")}


@login_required
def index(request):
    products = list(product_list_for_user(user=request.user))
    kpis = sel.kpi_list_for_user(user=request.user)
    by_product = {}
    for card in _with_sparklines(sel.kpi_cards(kpis)):
        by_product.setdefault(card.kpi.product_id, []).append(card)
    rows = [{"product": p, "cards": by_product.get(p.pk, [])} for p in products]
    open_alerts = sel.alert_list_for_user(user=request.user, state="open").count()
    return render(request, "kpis/index.html", {"rows": rows, "open_alerts": open_alerts})


@login_required
def product_dashboard(request, slug):
    product = get_product_for(request, slug)
    time_range = sel.time_range_from(request.GET)
    kpis = list(sel.kpi_list_for_user(user=request.user, product=product).prefetch_related("roadmap_items"))
    cards = _with_sparklines(sel.kpi_cards(kpis))
    charts_ = []
    for data in sel.kpi_charts_data(cards, time_range):
        card = data.card
        current, previous, change = sel.period_change(data)
        charts_.append({"card": card, "kpi": card.kpi, "figure": _figure(data), "id": f"fig-kpi-{card.kpi.pk}",
                        "current": current, "previous": previous, "change": change, "markers": data.markers,
                        "bucket_seconds": data.bucket_seconds})
    return render(request, "kpis/product_dashboard.html", {
        "product": product, "cards": cards, "charts": charts_,
        "objectives": sel.objectives_with_progress(product=product, cards=cards),
        "can_edit": user_can(request.user, product, Action.EDIT),
        "open_alerts": sel.alert_list_for_user(user=request.user, product=product, state="open").count(),
        "failing_sources": source_list_for_user(user=request.user, product=product)
        .filter(enabled=True, health=MetricSource.Health.FAILING).count(),
        **_range_context(request, time_range),
    })


@login_required
def kpi_detail(request, slug, key):
    product = get_product_for(request, slug)
    kpi = _kpi_for(request, product, key)
    time_range = sel.time_range_from(request.GET)
    card = _with_sparklines(sel.kpi_cards([kpi]))[0]
    data = sel.kpi_chart_data(kpi, card, time_range)
    current, previous, change = sel.period_change(data)
    can_track = user_can(request.user, product, Action.TRACK)
    return render(request, "kpis/kpi_detail.html", {
        "product": product, "kpi": kpi, "card": card, "figure": _figure(data, height=420),
        "current": current, "previous": previous, "change": change, "bucket_seconds": data.bucket_seconds,
        "markers": sel.kpi_markers(kpi), "alerts": sel.alert_list_for_user(user=request.user, product=product)
        .filter(kpi=kpi)[:20],
        "jobs": ImportJob.objects.filter(kpi=kpi)[:5], "import_form": ImportForm() if can_track else None,
        "can_edit": user_can(request.user, product, Action.EDIT),
        "can_manage": user_can(request.user, product, Action.MANAGE),
        **_range_context(request, time_range),
    })


def _kpi_form_fields(form) -> dict:
    data = dict(form.cleaned_data)
    data.pop("roadmap_items", None)
    return data


@login_required
def kpi_create(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    form = KPIForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            kpi = services.kpi_create(actor=request.user, product=product, roadmap_items=form.cleaned_data["roadmap_items"],
                                      **_kpi_form_fields(form))
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"KPI '{kpi.name}' created. Send its points to /api/v1/kpis/{kpi.pk}/points.")
            return redirect("kpis:detail", slug=product.slug, key=kpi.key)
    return render(request, "kpis/kpi_form.html", {"form": form, "product": product, "creating": True})


@login_required
def kpi_edit(request, slug, key):
    product = get_product_for(request, slug, Action.EDIT)
    kpi = _kpi_for(request, product, key)
    form = KPIForm(request.POST or None, instance=kpi, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            kpi = services.kpi_update(actor=request.user, kpi=KPI.objects.get(pk=kpi.pk),
                                      roadmap_items=form.cleaned_data["roadmap_items"], **_kpi_form_fields(form))
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "KPI saved.")
            return redirect("kpis:detail", slug=product.slug, key=kpi.key)
    return render(request, "kpis/kpi_form.html", {"form": form, "product": product, "kpi": kpi, "creating": False})


@login_required
@require_POST
def kpi_delete(request, slug, key):
    product = get_product_for(request, slug, Action.MANAGE)
    kpi = _kpi_for(request, product, key)
    services.kpi_delete(actor=request.user, kpi=kpi)
    messages.success(request, f"KPI '{kpi.name}' and its history deleted.")
    return redirect("kpis:product", slug=product.slug)


@login_required
def objective_form(request, slug, pk=None):
    product = get_product_for(request, slug, Action.EDIT)
    objective = get_object_or_404(Objective, pk=pk, product=product) if pk else None
    form = ObjectiveForm(request.POST or None, instance=objective)
    if request.method == "POST" and form.is_valid():
        try:
            if objective is None:
                services.objective_create(actor=request.user, product=product, **form.cleaned_data)
            else:
                services.objective_update(actor=request.user, objective=Objective.objects.get(pk=objective.pk),
                                          **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Objective saved.")
            return redirect("kpis:product", slug=product.slug)
    return render(request, "kpis/objective_form.html", {"form": form, "product": product, "objective": objective})


@login_required
def alerts_product(request, slug):
    product = get_product_for(request, slug)
    state = request.GET.get("state") or ""
    can_manage = user_can(request.user, product, Action.MANAGE)
    return render(request, "kpis/alerts.html", {
        "product": product, "alerts": sel.alert_list_for_user(user=request.user, product=product, state=state)[:200],
        "state": state, "can_manage": can_manage, "webhook_form": WebhookForm() if can_manage else None,
        "webhooks": AlertWebhook.objects.filter(product=product) if can_manage else [],
    })


@login_required
def alerts_index(request):
    state = request.GET.get("state", "open")
    return render(request, "kpis/alerts.html", {
        "alerts": sel.alert_list_for_user(user=request.user, state=state or None)[:200], "state": state,
        "across": True,
    })


@login_required
@require_POST
def webhook_add(request, slug):
    product = get_product_for(request, slug, Action.MANAGE)
    form = WebhookForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give an http or https URL.")
    else:
        with errors_as_messages(request):
            hook = alert_services.alert_webhook_create(actor=request.user, product=product, url=form.cleaned_data["url"])
            messages.success(request, f"Alerts now go to {hook.url}. Its signing secret is shown below.")
    return redirect("kpis:alerts", slug=product.slug)


@login_required
@require_POST
def webhook_delete(request, slug, pk):
    product = get_product_for(request, slug, Action.MANAGE)
    hook = get_object_or_404(AlertWebhook, pk=pk, product=product)
    alert_services.alert_webhook_delete(actor=request.user, hook=hook)
    messages.success(request, f"Webhook {hook.url} removed.")
    return redirect("kpis:alerts", slug=product.slug)


@login_required
@require_POST
def kpi_import(request, slug, key):
    product = get_product_for(request, slug, Action.TRACK)
    kpi = _kpi_for(request, product, key)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("kpis:detail", slug=product.slug, key=kpi.key)
    with errors_as_messages(request):
        job = import_services.import_job_create(actor=request.user, kpi=kpi, upload=form.cleaned_data["file"])
        messages.success(request, f"Importing {job.filename}; progress is shown below.")
        return redirect(reverse("kpis:detail", kwargs={"slug": product.slug, "key": kpi.key}) + "#imports")
    return redirect("kpis:detail", slug=product.slug, key=kpi.key)


@login_required
def import_status(request, slug, key, pk):
    product = get_product_for(request, slug)
    kpi = _kpi_for(request, product, key)
    job = get_object_or_404(ImportJob, pk=pk, kpi=kpi)
    return render(request, "kpis/_import_job.html", {"job": job, "product": product, "kpi": kpi,
                                                     "percent": import_services.import_job_percent(job)})


@login_required
def kpi_export(request, slug, key):
    product = get_product_for(request, slug)
    kpi = _kpi_for(request, product, key)
    response = StreamingHttpResponse(import_services.kpi_csv_rows(kpi=kpi), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(product.slug)}-{kpi.key}.csv"'
    return response
