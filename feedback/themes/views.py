"""Pages of feedback themes: the list (regroup, merge), a theme (rename, split, dismiss, link to
a roadmap item, move a piece elsewhere). Every write goes through feedback.themes.services."""
import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pmhub.page_actions import back, errors_as_messages
from pmhub.permissions import user_can
from pmhub.roles import Action
from products.roadmap.models import RoadmapItem
from products.views import get_product_for

from ..models import Feedback
from ..selectors import roadmap_item_posted, roadmap_items_for_linking
from . import selectors, services
from .models import Theme

PAGE_SIZE = 50


def _theme_for_edit(request, slug, pk) -> tuple:
    """The product (the user may edit it) and its theme pk: 404 for another product's theme."""
    product = get_product_for(request, slug, Action.EDIT)
    return product, get_object_or_404(Theme.objects.select_related("product"), product=product, pk=pk)


@login_required
def theme_list(request, slug):
    from . import charts

    product = get_product_for(request, slug)
    themes = selectors.themes_for_product(product=product)
    dismissed = selectors.themes_for_product(product=product, status=Theme.Status.DISMISSED)
    state = selectors.state_for(product=product)
    overview = charts.themes_overview([{"label": t.label, "positive": t.positive, "neutral": t.neutral,
                                        "negative": t.negative} for t in themes])
    return render(request, "feedback/themes/list.html", {
        "product": product, "themes": themes, "dismissed": dismissed, "state": state,
        "total": Feedback.objects.filter(product=product).count(),
        "can_edit": user_can(request.user, product, Action.EDIT),
        "overview": overview.to_plotly_json(),
        # A run that has not finished within 15 minutes (a worker lost) may be requested again.
        "running": bool(state and state.run_state in ("queued", "running") and max(
            filter(None, [state.run_requested_at, state.run_started_at]), default=timezone.now())
            > timezone.now() - dt.timedelta(minutes=15)),
    })


@login_required
def theme_detail(request, slug, pk):
    from . import charts

    product = get_product_for(request, slug)
    try:
        theme = selectors.theme_get(product=product, pk=pk)
    except Theme.DoesNotExist:
        raise Http404("No such theme.") from None
    figures = selectors.theme_figures(theme=theme)
    page = Paginator(selectors.theme_feedback(theme=theme), PAGE_SIZE).get_page(request.GET.get("page"))
    can_edit = user_can(request.user, product, Action.EDIT)
    total = sum(figures["sentiment"].values()) or 1
    return render(request, "feedback/themes/detail.html", {
        "product": product, "theme": theme, "figures": figures, "page": page, "can_edit": can_edit,
        "trend": charts.theme_trend(figures["weekly"]).to_plotly_json(),
        "sentiment_rows": [(key, figures["sentiment"].get(key, 0), round(100 * figures["sentiment"].get(key, 0) / total))
                           for key in ("positive", "neutral", "negative")],
        "items": list(roadmap_items_for_linking(product=product)) if can_edit else [],
        "move_targets": [t for t in selectors.themes_for_moving(product=product) if t.pk != theme.pk] if can_edit else [],
    })


@login_required
@require_POST
def regroup(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    services.themes_regroup_request(actor=request.user, product=product)
    messages.success(request, "Grouping queued: the themes refresh when a worker has run it (your choices are kept).")
    return redirect("feedback:themes", slug=product.slug)


@login_required
@require_POST
def merge(request, slug):
    """Merge the selected themes into the one chosen as target (by default the largest selected)."""
    product = get_product_for(request, slug, Action.EDIT)
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    themes = {t.pk: t for t in Theme.objects.filter(product=product, pk__in=ids)}
    if len(themes) < 2:
        messages.error(request, "Select at least two themes to merge.")
        return redirect("feedback:themes", slug=product.slug)
    into = request.POST.get("into", "")
    target = themes.get(int(into)) if into.isdigit() else None
    if target is None:
        sizes = {t.pk: t.assignments.count() for t in themes.values()}
        target = themes[max(sizes, key=lambda k: (sizes[k], -k))]
    with errors_as_messages(request):
        for t in themes.values():
            if t.pk != target.pk:
                services.theme_merge(actor=request.user, source=t, target=target)
        messages.success(request, f"Merged {len(themes)} themes into “{target.label}”.")
    return redirect("feedback:theme", slug=product.slug, pk=target.pk)


@login_required
@require_POST
def rename(request, slug, pk):
    product, theme = _theme_for_edit(request, slug, pk)
    with errors_as_messages(request):
        services.theme_rename(actor=request.user, theme=theme, label=request.POST.get("label", ""))
        messages.success(request, "Renamed; the next grouping keeps this name.")
    return redirect("feedback:theme", slug=product.slug, pk=theme.pk)


@login_required
@require_POST
def split(request, slug, pk):
    product, theme = _theme_for_edit(request, slug, pk)
    with errors_as_messages(request):
        new = services.theme_split(actor=request.user, theme=theme)
        messages.success(request, f"Split: {new.assignments.count()} pieces moved to the new theme “{new.label}”.")
    return redirect("feedback:theme", slug=product.slug, pk=theme.pk)


@login_required
@require_POST
def dismiss(request, slug, pk):
    product, theme = _theme_for_edit(request, slug, pk)
    restore = "restore" in request.POST
    services.theme_set_dismissed(actor=request.user, theme=theme, dismissed=not restore)
    messages.success(request, "Theme restored." if restore else
                     "Theme dismissed: it leaves the list and the inbox hints, and stays dismissed when regrouped.")
    return redirect("feedback:themes", slug=product.slug) if not restore else redirect(
        "feedback:theme", slug=product.slug, pk=theme.pk)


@login_required
@require_POST
def link(request, slug, pk):
    product, theme = _theme_for_edit(request, slug, pk)
    item = roadmap_item_posted(product=product, value=request.POST.get("roadmap_item", ""))
    with errors_as_messages(request):
        services.theme_link(actor=request.user, theme=theme, roadmap_item=item,
                            importance=request.POST.get("importance", 1))
        messages.success(request, f"Linked to “{item.title}”: all {theme.assignments.count()} pieces of this theme "
                                  "now count toward its demand.")
    return redirect("feedback:theme", slug=product.slug, pk=theme.pk)


@login_required
@require_POST
def unlink(request, slug, pk, item_pk):
    product, theme = _theme_for_edit(request, slug, pk)
    item = get_object_or_404(RoadmapItem, product=product, pk=item_pk)
    with errors_as_messages(request):
        services.theme_unlink(actor=request.user, theme=theme, roadmap_item=item)
        messages.success(request, f"Unlinked from “{item.title}”.")
    return redirect("feedback:theme", slug=product.slug, pk=theme.pk)


@login_required
@require_POST
def move(request, slug, feedback_pk):
    product = get_product_for(request, slug, Action.EDIT)
    feedback = get_object_or_404(Feedback.objects.select_related("product"), product=product, pk=feedback_pk)
    value = request.POST.get("theme", "")
    target = Theme.objects.filter(product=product, pk=int(value)).first() if value.isdigit() else None
    if value and value != "none" and target is None:
        messages.error(request, "Choose a theme of this product.")
        return redirect(back(request, reverse("feedback:themes", args=[product.slug])))
    with errors_as_messages(request):
        services.feedback_move(actor=request.user, feedback=feedback, theme=target)
        messages.success(request, f"Feedback #{feedback.pk} moved to “{target.label}”." if target
                         else f"Feedback #{feedback.pk} taken out of its theme.")
    return redirect(back(request, reverse("feedback:themes", args=[product.slug])))
