import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pmhub.permissions import require, user_can
from pmhub.roles import Action

from . import selectors, services
from products.forms import MembershipForm, ProductForm
from products.models import Membership, Product


def get_product_for(request, slug: str, action: str = Action.VIEW) -> Product:
    """The product a page is about: 404 if not visible, 403 if the action is not allowed."""
    try:
        product = selectors.product_get_for_user(user=request.user, slug=slug)
    except Product.DoesNotExist:
        raise Http404("No such product.") from None
    require(request.user, product, action)
    return product


def form_errors_from(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def product_list(request):
    products = selectors.product_list_for_user(user=request.user)
    roles = selectors.memberships_for_user(user=request.user)
    rows = [{"product": p, "role": roles.get(p.pk)} for p in products]
    return render(request, "products/product_list.html", {
        "rows": rows, "can_create": services.user_can_create_product(request.user),
    })


@login_required
def product_create(request):
    if not services.user_can_create_product(request.user):
        raise PermissionDenied("You may not create products; ask an administrator.")
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            messages.success(request, f"Product '{product.name}' created. You are its product manager.")
            return redirect("products:detail", slug=product.slug)
    return render(request, "products/product_form.html", {"form": form, "creating": True})


@login_required
def product_detail(request, slug):
    product = get_product_for(request, slug)
    return render(request, "products/product_detail.html", {
        "product": product,
        "members": selectors.membership_list(product=product),
        "can_edit": user_can(request.user, product, Action.EDIT),
        "can_manage": user_can(request.user, product, Action.MANAGE),
        "member_form": MembershipForm(),
    })


@login_required
def product_edit(request, slug):
    product = get_product_for(request, slug, Action.EDIT)
    original_slug = product.slug
    # The form writes what was posted onto its instance, valid or not: give it a copy, so the page
    # (tabs, links by slug) keeps showing the saved product when the form is refused.
    form = ProductForm(request.POST or None, instance=copy.copy(product))
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_update(actor=request.user, product=product, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(form, exc)
            product.slug = original_slug
        else:
            messages.success(request, "Product saved.")
            return redirect("products:detail", slug=product.slug)
    return render(request, "products/product_form.html", {"form": form, "product": product, "creating": False})


@login_required
@require_POST
def membership_add(request, slug):
    product = get_product_for(request, slug, Action.MANAGE)
    form = MembershipForm(request.POST)
    if form.is_valid():
        try:
            m = services.membership_set_by_username(actor=request.user, product=product, **form.cleaned_data)
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
        else:
            messages.success(request, f"{m.user.username} is now {m.get_role_display().lower()}.")
    else:
        messages.error(request, "Give a username and a role.")
    return redirect("products:detail", slug=product.slug)


@login_required
@require_POST
def membership_delete(request, slug, pk):
    product = get_product_for(request, slug, Action.MANAGE)
    membership = get_object_or_404(Membership, pk=pk, product=product)
    try:
        services.membership_remove(actor=request.user, membership=membership)
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        messages.success(request, f"{membership.user.username} removed.")
    return redirect("products:detail", slug=product.slug)
