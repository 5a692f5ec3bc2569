"""Feedback pages: the inbox and its triage, the member form, CSV import, the dashboard,
"most requested", ship notifications, and the public feedback link."""
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pmhub.page_actions import back, errors_as_messages, same_site_path
from pmhub.permissions import user_can
from pmhub.roles import Action
from products.roadmap.models import RoadmapItem
from products.views import form_errors_from, get_product_for

from . import ratelimit, selectors, services
from .forms import FeedbackForm, ImportForm, LinkForm, PublicFeedbackForm, TriageForm
from .models import Channel, Feedback, FeedbackLink, ImportJob, Segment, Sentiment

PAGE_SIZE = 50
DASHBOARD_PERIODS = {"30": 30, "90": 90, "180": 180, "365": 365}


def _posted_item(request, product):
    return selectors.roadmap_item_posted(product=product, value=request.POST.get("roadmap_item", ""))


@login_required
def index(request):
    return render(request, "feedback/index.html", {"rows": selectors.feedback_index(user=request.user)})


@login_required
def inbox(request, slug):
    product = get_product_for(request, slug)
    filters = selectors.InboxFilters.from_params(request.GET)
    qs = selectors.feedback_inbox(product=product, filters=filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    can_edit = user_can(request.user, product, Action.EDIT)
    params = request.GET.copy()
    params.pop("page", None)
    status_params = params.copy()
    status_params.pop("status", None)
    counts = selectors.status_counts(product=product)
    items = list(selectors.roadmap_items_for_linking(product=product)) if can_edit else []
    linked_item = next((i for i in items if str(i.pk) == filters.item), None) if filters.item else None
    if filters.item and linked_item is None:
        linked_item = RoadmapItem.objects.filter(product=product, pk=filters.item).first()
    from .themes.selectors import inbox_hints, state_for

    hints = inbox_hints(product=product, feedback_ids=[fb.pk for fb in page])
    for fb in page:
        fb.hint = hints.get(fb.pk)
    theme_state = state_for(product=product)
    return render(request, "feedback/inbox.html", {
        "product": product, "page": page, "filters": filters,
        "meaning_ready": bool(theme_state and theme_state.version),
        "query": params.urlencode(), "status_query": status_params.urlencode(),
        "status_tabs": [("", "All", sum(counts.values()))] + [
            (value, label, counts.get(value, 0)) for value, label in Feedback.Status.choices],
        "channels": Channel.choices, "segments": Segment.choices, "sentiments": Sentiment.choices,
        "statuses": Feedback.Status.choices, "tags": selectors.tag_counts(product=product),
        "can_edit": can_edit, "can_manage": user_can(request.user, product, Action.MANAGE),
        "link_form": LinkForm(items=items), "linked_item": linked_item,
        "portal": selectors.portal_for(product=product),
    })


@login_required
def create(request, slug):
    product = get_product_for(request, slug, Action.TRACK)
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("received_at"):
            data.pop("received_at")
        try:
            feedback = services.feedback_create(actor=request.user, product=product, **data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Feedback #{feedback.pk} recorded ({feedback.get_sentiment_label_display().lower()}).")
            if "another" in request.POST:
                return redirect("feedback:new", slug=product.slug)
            return redirect("feedback:detail", slug=product.slug, pk=feedback.pk)
    return render(request, "feedback/form.html", {"product": product, "form": form})


@login_required
def detail(request, slug, pk):
    product = get_product_for(request, slug)
    try:
        feedback = selectors.feedback_get(product=product, pk=pk)
    except Feedback.DoesNotExist:
        raise Http404("No such feedback.") from None
    can_edit = user_can(request.user, product, Action.EDIT)
    items = list(selectors.roadmap_items_for_linking(product=product)) if can_edit else []
    return render(request, "feedback/detail.html", {
        "product": product, "feedback": feedback, "can_edit": can_edit,
        "can_manage": user_can(request.user, product, Action.MANAGE),
        "triage_form": TriageForm(initial={"status": feedback.status,
                                           "tags": ", ".join(t.name for t in feedback.tags.all())}),
        "link_form": LinkForm(items=items),
    })


def _feedback_for_edit(request, slug, pk):
    product = get_product_for(request, slug, Action.EDIT)
    return product, get_object_or_404(Feedback, product=product, pk=pk)


@login_required
@require_POST
def triage(request, slug, pk):
    product, feedback = _feedback_for_edit(request, slug, pk)
    form = TriageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
    else:
        with errors_as_messages(request):
            services.feedback_update(actor=request.user, feedback=feedback, status=form.cleaned_data["status"],
                                     tags=form.cleaned_data["tags"])
            messages.success(request, "Saved.")
    return redirect(back(request, reverse("feedback:detail", args=[product.slug, feedback.pk])))


@login_required
@require_POST
def link(request, slug, pk):
    product, feedback = _feedback_for_edit(request, slug, pk)
    item = _posted_item(request, product)
    with errors_as_messages(request):
        services.feedback_link(actor=request.user, feedback=feedback, roadmap_item=item,
                               importance=request.POST.get("importance"))
        messages.success(request, f"Linked to “{item.title}”.")
    return redirect(back(request, reverse("feedback:detail", args=[product.slug, feedback.pk])))


@login_required
@require_POST
def unlink(request, slug, pk, link_pk):
    product, feedback = _feedback_for_edit(request, slug, pk)
    link_obj = get_object_or_404(FeedbackLink.objects.select_related("feedback__product", "roadmap_item"),
                                 pk=link_pk, feedback=feedback)
    services.feedback_unlink(actor=request.user, link=link_obj)
    messages.success(request, f"Unlinked from “{link_obj.roadmap_item.title}”.")
    return redirect(back(request, reverse("feedback:detail", args=[product.slug, feedback.pk])))


@login_required
@require_POST
def duplicate(request, slug, pk):
    product, feedback = _feedback_for_edit(request, slug, pk)
    if "unmark" in request.POST:
        services.feedback_unmark_duplicate(actor=request.user, feedback=feedback)
        messages.success(request, "No longer marked as a duplicate.")
    else:
        raw = (request.POST.get("original") or "").strip().lstrip("#")
        original = Feedback.objects.filter(product=product, pk=raw).first() if raw.isdigit() else None
        with errors_as_messages(request):
            services.feedback_mark_duplicate(actor=request.user, feedback=feedback, original=original)
            messages.success(request, f"Marked as a duplicate of #{feedback.duplicate_of_id}; its links moved there.")
    return redirect("feedback:detail", slug=product.slug, pk=feedback.pk)


@login_required
@require_POST
def delete(request, slug, pk):
    product = get_product_for(request, slug, Action.MANAGE)
    feedback = get_object_or_404(Feedback.objects.select_related("product"), product=product, pk=pk)
    services.feedback_delete(actor=request.user, feedback=feedback)
    messages.success(request, f"Feedback #{pk} deleted.")
    return redirect("feedback:product", slug=product.slug)


@login_required
@require_POST
def bulk(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    ids = request.POST.getlist("ids")
    op = request.POST.get("op")
    with errors_as_messages(request):
        if op == "link":
            item = _posted_item(request, product)
            n = services.feedback_bulk_link(actor=request.user, product=product, ids=ids, roadmap_item=item,
                                            importance=request.POST.get("importance"))
            messages.success(request, f"Linked {n} piece{'s' if n != 1 else ''} of feedback to “{item.title}”.")
        else:
            n = services.feedback_bulk_update(actor=request.user, product=product, ids=ids,
                                              status=request.POST.get("status", ""),
                                              add_tags=request.POST.get("add_tags", ""),
                                              remove_tags=request.POST.get("remove_tags", ""))
            messages.success(request, f"Updated {n} piece{'s' if n != 1 else ''} of feedback.")
    return redirect(back(request, reverse("feedback:product", args=[product.slug])))


# --- public link ----------------------------------------------------------------------------------

@login_required
@require_POST
def portal(request, slug):
    product = get_product_for(request, slug, Action.MANAGE)
    op = request.POST.get("op")
    if op == "rotate":
        services.portal_rotate_token(actor=request.user, product=product)
        messages.success(request, "The public link has a new address; the old one no longer works.")
    else:
        enabled = op == "enable"
        services.portal_set_enabled(actor=request.user, product=product, enabled=enabled)
        messages.success(request, "The public feedback link is on." if enabled else "The public feedback link is off.")
    return redirect("feedback:product", slug=product.slug)


def public_form(request, token):
    """The page behind a product's public link: no login, nothing of the product but its name."""
    portal_obj = selectors.portal_by_token(token=token)
    if portal_obj is None:
        raise Http404("This feedback link is not active.")
    product = portal_obj.product
    form = PublicFeedbackForm(request.POST or None)
    status = 200
    if request.method == "POST":
        limit, window = ratelimit.public_rate()
        allowed, retry_after = ratelimit.hit(f"public:{portal_obj.pk}:{ratelimit.client_address(request)}",
                                             limit=limit, window=window)
        if not allowed:
            minutes = max(1, round(retry_after / 60))
            form.add_error(None, f"Too many messages from your network just now. Your text is still here: "
                                 f"send it again in about {minutes} minute{'s' if minutes != 1 else ''}.")
            response = render(request, "feedback/public_form.html", {"product": product, "form": form}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if form.is_valid():
            if form.cleaned_data.get("website"):
                # A bot filled in the hidden field: thank it like anyone, store nothing.
                return render(request, "feedback/public_thanks.html", {"product": product})
            try:
                services.feedback_submit_public(token=token, data=form.cleaned_data)
            except ValidationError as exc:
                form_errors_from(form, exc)
                status = 400
            else:
                return render(request, "feedback/public_thanks.html", {"product": product})
        else:
            status = 400
    return render(request, "feedback/public_form.html", {"product": product, "form": form}, status=status)


# --- CSV import -----------------------------------------------------------------------------------

@login_required
def import_start(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > services.IMPORT_MAX_BYTES:
            form.add_error("file", f"The file is larger than {services.IMPORT_MAX_BYTES // (1024 * 1024)} MB; split it.")
        else:
            try:
                job = services.import_job_create(actor=request.user, product=product, filename=upload.name,
                                                 content=upload.read(),
                                                 default_channel=form.cleaned_data["default_channel"])
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                return redirect("feedback:import-job", slug=product.slug, pk=job.pk)
    return render(request, "feedback/import.html", {
        "product": product, "form": form, "jobs": selectors.import_jobs(product=product),
    })


@login_required
def import_job(request, slug, pk):
    product = get_product_for(request, slug)
    job = get_object_or_404(ImportJob.objects.defer("content"), product=product, pk=pk)
    template = "feedback/_import_progress.html" if request.headers.get("HX-Request") else "feedback/import_job.html"
    return render(request, template, {"product": product, "job": job})


# --- dashboard and most requested ----------------------------------------------------------------------

@login_required
def dashboard(request, slug):
    from . import charts  # plotly is heavy to import: only the dashboard pays for it

    product = get_product_for(request, slug)
    period = request.GET.get("days", "180")
    days = DASHBOARD_PERIODS.get(period, 180)
    start = timezone.now() - dt.timedelta(days=days)
    data = selectors.dashboard_data(product=product, start=start)
    figures = {
        "volume": charts.volume_by_channel(data["weekly"], Channel.choices),
        "sentiment": charts.sentiment_trend(data["trend"]),
        "tags": charts.top_tags(data["tags"]),
        "segments": charts.segment_share(data["segments"], Segment.choices),
        "themes": charts.sentiment_by_theme(data["themes"]),
    }
    return render(request, "feedback/dashboard.html", {
        "product": product, "totals": data["totals"], "days": days, "periods": DASHBOARD_PERIODS,
        "figures": {name: fig.to_plotly_json() for name, fig in figures.items()},
    })


@login_required
def most_requested(request, slug):
    product = get_product_for(request, slug)
    include_shipped = request.GET.get("open") != "1"
    return render(request, "feedback/most_requested.html", {
        "product": product, "items": selectors.demand_ranking(product=product, include_shipped=include_shipped),
        "include_shipped": include_shipped, "can_edit": user_can(request.user, product, Action.EDIT),
    })


# --- roadmap item actions: reach suggestion, ship notifications ----------------------------------------

def _item_for(request, slug, item_pk, action=Action.VIEW):
    product = get_product_for(request, slug, action)
    return product, get_object_or_404(RoadmapItem.objects.select_related("product"), product=product, pk=item_pk)


@login_required
def reach(request, slug, item_pk):
    """Suggest the RICE reach from the organisations behind the item; the PM confirms."""
    product, item = _item_for(request, slug, item_pk, Action.EDIT)
    suggestion = selectors.reach_suggestion(item=item)
    if request.method == "POST":
        with errors_as_messages(request):
            services.roadmap_reach_apply(actor=request.user, item=item, reach=request.POST.get("reach"))
            messages.success(request, f"Reach of “{item.title}” set to {request.POST.get('reach')}.")
            return redirect(back(request, reverse("feedback:most-requested", args=[product.slug])))
    nxt = request.GET.get("next", "")
    if not same_site_path(request, nxt):
        nxt = reverse("feedback:most-requested", args=[product.slug])
    return render(request, "feedback/reach.html", {"product": product, "item": item, "suggestion": suggestion,
                                                   "next": nxt})


@login_required
def notify(request, slug, item_pk):
    """Preview the e-mail to the stakeholders behind a shipped item, then send it in one click."""
    product, item = _item_for(request, slug, item_pk, Action.EDIT)
    if request.method == "POST":
        with errors_as_messages(request):
            if "retry" in request.POST:
                n = services.ship_notifications_retry(actor=request.user, item=item)
            else:
                n = services.ship_notifications_queue(actor=request.user, item=item)
            messages.success(request, f"Sending {n} e-mail{'s' if n != 1 else ''}; each stakeholder hears once."
                             if n else "Everyone behind this item has already been told.")
        return redirect("feedback:notify", slug=product.slug, item_pk=item.pk)
    recipients = selectors.ship_notification_recipients(item=item)
    subject, body = services.ship_notification_message(item=item, name=recipients[0]["name"] if recipients else "")
    return render(request, "feedback/notify.html", {
        "product": product, "item": item, "recipients": recipients, "subject": subject, "body": body,
        "sent": selectors.ship_notifications(item=item), "shipped": item.status == "shipped",
    })
