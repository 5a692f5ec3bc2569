"""Sprint pages: the board per sprint (htmx moves), backlog, planning, starting and closing sprints."""
import importlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pmhub.permissions import user_can
from pmhub.roles import Action

from products import selectors as product_selectors
from products.sprints import selectors, services
from products.sprints.forms import SprintCloseForm, SprintForm, WorkItemForm
from products.sprints.models import Sprint, WorkItem
from products.views import form_errors_from, get_product_for


def _charts():
    """products.sprints.charts, imported on first use: plotly is heavy, and the URL conf imports this module,
    so a fresh web worker would otherwise pay for it on its first request (even /healthz)."""
    return importlib.import_module("products.sprints.charts")


def _perms(request, product):
    return {"can_edit": user_can(request.user, product, Action.EDIT),
            "can_track": user_can(request.user, product, Action.TRACK),
            "can_manage": user_can(request.user, product, Action.MANAGE)}


def _sprint_for(request, slug, pk, action=Action.VIEW):
    product = get_product_for(request, slug, action)
    sprint = Sprint.objects.filter(product=product, pk=pk).first()
    if sprint is None:
        raise Http404("No such sprint.")
    return product, sprint


def _work_item_for(request, slug, pk, action=Action.VIEW):
    product = get_product_for(request, slug, action)
    item = WorkItem.objects.select_related("sprint").filter(product=product, pk=pk).first()
    if item is None:
        raise Http404("No such work item.")
    return product, item


def _board_context(request, product, sprint, **extra):
    burndown = selectors.sprint_burndown(sprint=sprint)
    return {
        "product": product, "sprint": sprint, "columns": selectors.sprint_board(sprint=sprint),
        "statuses": WorkItem.Status.choices, "totals": selectors.sprint_totals(sprint=sprint),
        "burndown": burndown, "burndown_figure": _charts().burndown_figure(burndown).to_plotly_json()
        if sprint.state != Sprint.State.PLANNED else None,
        **_perms(request, product), **extra,
    }


@login_required
def sprint_index(request):
    products = list(product_selectors.product_list_for_user(user=request.user))
    active = {s.product_id: s for s in selectors.sprint_list_for_user(user=request.user, state=Sprint.State.ACTIVE)}
    rows = [{"product": p, "active": active.get(p.pk)} for p in products]
    return render(request, "products/sprints/index.html", {"rows": rows})


@login_required
def sprint_product(request, slug):
    product = get_product_for(request, slug)
    active = selectors.sprint_active(product=product)
    velocity = selectors.sprint_velocity(product=product)
    context = {
        "product": product, "sprints": selectors.sprint_list(product=product), "active": active,
        "velocity_figure": _charts().velocity_figure(velocity).to_plotly_json() if velocity else None,
        "backlog_count": selectors.backlog_items(product=product).count(), **_perms(request, product),
    }
    if active is not None:
        context.update(_board_context(request, product, active))
    return render(request, "products/sprints/product.html", context)


@login_required
def sprint_detail(request, slug, pk):
    product, sprint = _sprint_for(request, slug, pk)
    return render(request, "products/sprints/detail.html", _board_context(request, product, sprint))


@login_required
@require_POST
def work_item_move(request, slug, pk):
    """Move a card (drag and drop or the select + Move button); htmx gets the board back."""
    product, item = _work_item_for(request, slug, pk, Action.TRACK)
    error = None
    kwargs = {"status": request.POST.get("status") or None, "position": request.POST.get("position") or None}
    try:
        services.work_item_move(actor=request.user, item=item, **kwargs)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.headers.get("HX-Request") and item.sprint_id:
        sprint = Sprint.objects.get(pk=item.sprint_id)
        return render(request, "products/sprints/_board.html",
                      _board_context(request, product, sprint, error=error, moved=None if error else item))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Moved '{item.title}' to {item.get_status_display().lower()}.")
    if item.sprint_id:
        return redirect("sprints:detail", slug=product.slug, pk=item.sprint_id)
    return redirect("sprints:backlog", slug=product.slug)


@login_required
def sprint_create(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    form = SprintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sprint = services.sprint_create(actor=request.user, product=product, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Sprint '{sprint.name}' planned. Pull work items into it from the backlog.")
            return redirect("sprints:backlog", slug=product.slug)
    return render(request, "products/sprints/sprint_form.html", {"product": product, "form": form, "creating": True})


@login_required
def sprint_edit(request, slug, pk):
    product, sprint = _sprint_for(request, slug, pk, Action.EDIT)
    form = SprintForm(request.POST or None, initial={"name": sprint.name, "goal": sprint.goal,
                                                     "start_date": sprint.start_date, "end_date": sprint.end_date})
    if request.method == "POST" and form.is_valid():
        try:
            services.sprint_update(actor=request.user, sprint=sprint, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Sprint saved.")
            return redirect("sprints:detail", slug=product.slug, pk=sprint.pk)
    return render(request, "products/sprints/sprint_form.html",
                  {"product": product, "form": form, "sprint": sprint, "creating": False})


@login_required
@require_POST
def sprint_start(request, slug, pk):
    product, sprint = _sprint_for(request, slug, pk, Action.EDIT)
    try:
        services.sprint_start(actor=request.user, sprint=sprint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Sprint '{sprint.name}' started.")
    return redirect("sprints:detail", slug=product.slug, pk=sprint.pk)


@login_required
def sprint_close(request, slug, pk):
    product, sprint = _sprint_for(request, slug, pk, Action.EDIT)
    form = SprintCloseForm(request.POST or None, sprint=sprint)
    if request.method == "POST" and form.is_valid():
        target = form.cleaned_data["unfinished_to"]
        if target != services.BACKLOG:
            target = Sprint.objects.filter(product=product, pk=target).first()
        try:
            services.sprint_close(actor=request.user, sprint=sprint, unfinished_to=target)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Sprint '{sprint.name}' closed: {sprint.completed_points} of "
                                      f"{sprint.committed_points} committed points done.")
            return redirect("sprints:detail", slug=product.slug, pk=sprint.pk)
    unfinished = WorkItem.objects.filter(sprint=sprint).exclude(status=WorkItem.Status.DONE).order_by("status", "order")
    return render(request, "products/sprints/close.html", {
        "product": product, "sprint": sprint, "form": form, "unfinished": unfinished,
        "totals": selectors.sprint_totals(sprint=sprint),
    })


@login_required
def backlog(request, slug):
    product = get_product_for(request, slug)
    perms = _perms(request, product)
    form = WorkItemForm(product=product)
    open_sprints = Sprint.objects.filter(product=product).exclude(state=Sprint.State.CLOSED).order_by("-state", "start_date")
    if request.method == "POST":
        if request.POST.get("action") == "pull":
            get_product_for(request, slug, Action.TRACK)
            sprint_pk = request.POST.get("sprint", "")
            sprint = open_sprints.filter(pk=int(sprint_pk)).first() if sprint_pk.isdigit() else None
            ids = [int(i) for i in request.POST.getlist("items") if i.isdigit()]
            items = list(WorkItem.objects.filter(product=product, sprint__isnull=True, pk__in=ids))
            if sprint is None:
                messages.error(request, "Choose a planned or active sprint to pull the items into.")
            elif not items:
                messages.error(request, "Tick the work items to pull into the sprint.")
            else:
                try:
                    n = services.work_items_pull(actor=request.user, sprint=sprint, items=items)
                except ValidationError as exc:
                    messages.error(request, " ".join(exc.messages))
                else:
                    messages.success(request, f"Pulled {n} item{'s' if n != 1 else ''} into {sprint.name}.")
            return redirect("sprints:backlog", slug=product.slug)
        get_product_for(request, slug, Action.EDIT)
        form = WorkItemForm(request.POST, product=product)
        if form.is_valid():
            try:
                wi = services.work_item_create(actor=request.user, product=product, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_from(form, exc)
            else:
                messages.success(request, f"Work item '{wi.title}' added to the backlog.")
                return redirect("sprints:backlog", slug=product.slug)
    items = selectors.backlog_items(product=product)
    return render(request, "products/sprints/backlog.html", {
        "product": product, "items": items, "form": form, "open_sprints": open_sprints,
        "backlog_points": sum(i.points for i in items), **perms,
    })


@login_required
def work_item_edit(request, slug, pk):
    product, item = _work_item_for(request, slug, pk, Action.EDIT)
    form = WorkItemForm(request.POST or None, product=product, initial={
        "title": item.title, "type": item.type, "points": item.points, "assignee": item.assignee_id,
        "roadmap_item": item.roadmap_item_id, "description": item.description})
    if request.method == "POST" and form.is_valid():
        try:
            services.work_item_update(actor=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, "Work item saved.")
            if item.sprint_id:
                return redirect("sprints:detail", slug=product.slug, pk=item.sprint_id)
            return redirect("sprints:backlog", slug=product.slug)
    return render(request, "products/sprints/work_item_form.html", {"product": product, "form": form, "item": item})
