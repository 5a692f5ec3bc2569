"""Roadmap pages: board (Now / Next / Later), list, timeline, matrix, item pages, share link."""
import importlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pmhub.permissions import user_can
from pmhub.roles import Action

from products import selectors as product_selectors
from products.roadmap import selectors, services
from products.roadmap.forms import RoadmapItemForm
from products.roadmap.models import RoadmapItem
from products.views import form_errors_from, get_product_for


def _charts():
    """products.roadmap.charts, imported on first use: plotly is heavy, and the URL conf imports this module,
    so a fresh web worker would otherwise pay for it on its first request (even /healthz)."""
    return importlib.import_module("products.roadmap.charts")


def _item_for(request, slug, pk, action=Action.VIEW):
    product = get_product_for(request, slug, action)
    try:
        item = selectors.roadmap_item_list_for_user(user=request.user, product=product).get(pk=pk)
    except RoadmapItem.DoesNotExist:
        raise Http404("No such roadmap item.") from None
    return product, item


def _perms(request, product):
    return {"can_edit": user_can(request.user, product, Action.EDIT),
            "can_manage": user_can(request.user, product, Action.MANAGE)}


@login_required
def roadmap_index(request):
    products = list(product_selectors.product_list_for_user(user=request.user))
    today = timezone.localdate()
    progress = selectors.roadmap_summary_for_products(
        product_ids=[p.pk for p in products], start=today.replace(day=1), end=today + timezone.timedelta(days=1))
    rows = [{"product": p, **progress.get(p.pk, {})} for p in products]
    return render(request, "products/roadmap/index.html", {"rows": rows, "month_start": today.replace(day=1)})


@login_required
def roadmap_board(request, slug):
    product = get_product_for(request, slug)
    if request.GET.get("status") or request.GET.get("theme"):  # filtered links (portfolio) open the list
        return redirect(f"{reverse('roadmap:list', args=[product.slug])}?{request.GET.urlencode()}")
    return render(request, "products/roadmap/board.html", {
        "product": product, "columns": selectors.roadmap_board(product=product), "tab": "board",
        "horizons": RoadmapItem.Horizon.choices, "progress_figure": _progress_figure(product),
        "share": selectors.roadmap_share_for(product=product), **_perms(request, product),
    })


def _progress_figure(product):
    counts = selectors.roadmap_status_counts(product=product)
    return _charts().progress_figure(counts).to_plotly_json() if any(c["count"] for c in counts) else None


@login_required
@require_POST
def roadmap_item_move(request, slug, pk):
    product, item = _item_for(request, slug, pk, Action.EDIT)
    error = None
    try:
        services.roadmap_item_move(actor=request.user, item=item, horizon=request.POST.get("horizon", ""),
                                   position=request.POST.get("position") or None)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.headers.get("HX-Request"):
        # The board, and the progress chart under it out of band (it counts per horizon).
        return render(request, "products/roadmap/_board_after_move.html", {
            "product": product, "columns": selectors.roadmap_board(product=product),
            "horizons": RoadmapItem.Horizon.choices, "error": error,
            "moved": None if error else item, "progress_figure": _progress_figure(product), "oob": True,
            **_perms(request, product),
        })
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Moved '{item.title}' to {item.get_horizon_display()}.")
    return redirect("roadmap:product", slug=product.slug)


LIST_SORTS = [("-rice_score", "RICE score"), ("status", "Status"), ("horizon", "Horizon"),
              ("target_date", "Target date"), ("title", "Title")]


@login_required
def roadmap_list(request, slug):
    product = get_product_for(request, slug)
    sort = request.GET.get("sort") or "-rice_score"
    if sort not in selectors.ROADMAP_ORDERINGS:
        sort = "-rice_score"
    theme = request.GET.get("theme") or None
    status = request.GET.get("status") or None
    if status not in RoadmapItem.Status.values:
        status = None
    items = selectors.roadmap_item_list_for_user(user=request.user, product=product, status=status, theme=theme,
                                                 ordering=sort)
    columns = [("title", "Title"), ("-rice_score", "RICE"), ("status", "Status"), ("horizon", "Horizon"),
               ("target_date", "Target")]
    headers = []
    for key, label in columns:
        base = key.lstrip("-")
        current = sort.lstrip("-") == base
        next_sort = key if not current else ("-" + base if not sort.startswith("-") else base)
        direction = None
        if current:
            direction = "descending" if sort.startswith("-") else "ascending"
        headers.append({"label": label, "sort": next_sort, "direction": direction})
    return render(request, "products/roadmap/list.html", {
        "product": product, "items": items, "tab": "list", "sort": sort, "sorts": LIST_SORTS, "headers": headers,
        "themes": selectors.roadmap_themes(product=product), "theme": theme or "", "status": status or "",
        "statuses": RoadmapItem.Status.choices, **_perms(request, product),
    })


@login_required
def roadmap_timeline(request, slug):
    product = get_product_for(request, slug)
    rows = selectors.roadmap_timeline_rows(product=product)
    figure = _charts().timeline_figure(rows["dated"], today=timezone.localdate()).to_plotly_json() if rows["dated"] else None
    return render(request, "products/roadmap/timeline.html", {
        "product": product, "tab": "timeline", "figure": figure, "undated": rows["undated"], **_perms(request, product),
    })


@login_required
def roadmap_matrix(request, slug):
    product = get_product_for(request, slug)
    rows = selectors.roadmap_matrix_rows(product=product)
    return render(request, "products/roadmap/matrix.html", {
        "product": product, "tab": "matrix", "rows": rows,
        "figure": _charts().matrix_figure(rows).to_plotly_json() if rows else None, **_perms(request, product),
    })


@login_required
def roadmap_item_create(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    initial = {}
    if request.GET.get("horizon") in RoadmapItem.Horizon.values:
        initial["horizon"] = request.GET["horizon"]
    form = RoadmapItemForm(request.POST or None, product=product, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.roadmap_item_create(actor=request.user, product=product, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Roadmap item '{item.title}' created (RICE {item.rice_score:g}).")
            return redirect("roadmap:item", slug=product.slug, pk=item.pk)
    return render(request, "products/roadmap/item_form.html", {"product": product, "form": form, "creating": True})


@login_required
def roadmap_item_edit(request, slug, pk):
    product, item = _item_for(request, slug, pk, Action.EDIT)
    form = RoadmapItemForm(request.POST or None, product=product, initial=RoadmapItemForm.initial_for(item))
    if request.method == "POST" and form.is_valid():
        try:
            services.roadmap_item_update(actor=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Roadmap item saved.")
            return redirect("roadmap:item", slug=product.slug, pk=item.pk)
    return render(request, "products/roadmap/item_form.html",
                  {"product": product, "form": form, "item": item, "creating": False})


@login_required
def roadmap_item_detail(request, slug, pk):
    product, item = _item_for(request, slug, pk)
    return render(request, "products/roadmap/item_detail.html", {
        "product": product, "item": item,
        "history": selectors.roadmap_item_status_history(item=item),
        "work_items": item.work_items.select_related("sprint", "assignee").order_by("status", "order"),
        "statuses": RoadmapItem.Status.choices, **_perms(request, product),
    })


@login_required
@require_POST
def roadmap_item_status(request, slug, pk):
    product, item = _item_for(request, slug, pk, Action.EDIT)
    try:
        services.roadmap_item_set_status(actor=request.user, item=item, status=request.POST.get("status", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Status is now {item.get_status_display().lower()}.")
    return redirect("roadmap:item", slug=product.slug, pk=item.pk)


@login_required
@require_POST
def roadmap_item_delete(request, slug, pk):
    product, item = _item_for(request, slug, pk, Action.MANAGE)
    services.roadmap_item_delete(actor=request.user, item=item)
    messages.success(request, f"Roadmap item '{item.title}' deleted.")
    return redirect("roadmap:product", slug=product.slug)


@login_required
@require_POST
def roadmap_share(request, slug):
    product = get_product_for(request, slug, Action.MANAGE)
    if request.POST.get("enable") == "1":
        services.roadmap_share_enable(actor=request.user, product=product)
        messages.success(request, "Share link switched on: anyone with the link can read this roadmap.")
    else:
        if services.roadmap_share_revoke(actor=request.user, product=product):
            messages.success(request, "Share link revoked: the old link no longer works.")
    return redirect("roadmap:product", slug=product.slug)


def roadmap_shared(request, token):
    """The read-only public roadmap behind a share link: no login, no internal notes."""
    product = selectors.roadmap_share_product(token=token)
    if product is None:
        raise Http404("This share link was revoked or never existed.")
    columns = [
        {**col, "items": [i for i in col["items"] if i.status != RoadmapItem.Status.DROPPED]}
        for col in selectors.roadmap_board(product=product)
    ]
    shipped = [i for col in columns for i in col["items"] if i.status == RoadmapItem.Status.SHIPPED]
    response = render(request, "products/roadmap/shared.html", {
        "product": product, "columns": columns, "shipped_count": len(shipped),
        "self_url": request.build_absolute_uri(reverse("roadmap:shared", args=[token])),
    })
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
