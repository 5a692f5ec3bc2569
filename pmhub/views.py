from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from products import selectors as product_selectors

from . import selectors, services
from .forms import TokenCreateForm
from .models import ApiToken
from .roles import Role


@login_required
def home(request):
    products = product_selectors.product_list_for_user(user=request.user)
    roles = product_selectors.memberships_for_user(user=request.user)
    if not request.user.is_staff and roles and set(roles.values()) == {Role.VIEWER}:
        return redirect("portfolio")  # a viewer's home is the portfolio
    rows = [{"product": p, "role": roles.get(p.pk)} for p in products]
    return render(request, "pmhub/home.html", {"rows": rows})


@login_required
def profile(request):
    new_token = None
    form = TokenCreateForm()
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                token, new_token = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Token '{token.name}' created. Copy it now: it is not shown again.")
                form = TokenCreateForm()
    tokens = selectors.api_token_list(user=request.user)
    return render(request, "pmhub/profile.html", {"form": form, "tokens": tokens, "new_token": new_token})


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.api_token_revoke(token=token)
    messages.success(request, f"Token '{token.name}' revoked.")
    return redirect("profile")


@never_cache
@require_GET
def healthz(request):
    data = selectors.health()
    return JsonResponse(data, status=200 if data["status"] == "ok" else 503)


def error_403(request, exception=None):
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_404(request, exception=None):
    """404 page; under /api/ the JSON error every API answer uses (a URL that matches no route)."""
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes: the login page again, with the lockout explained (429)."""
    from django.conf import settings

    from .forms import LoginForm

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    form = LoginForm(request, initial={"username": (credentials or {}).get("username", "")})
    message = (
        f"Too many failed logins for this account from your address. "
        f"Login is locked for {minutes} minutes; try again later or ask an administrator to unlock it."
    )
    response = render(request, "registration/login.html", {"form": form, "locked_out": message}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@login_required
@require_GET
def audit_log(request):
    """The audit trail for staff: who changed memberships, tokens, deletions, promotions."""
    from django.core.exceptions import PermissionDenied
    from django.core.paginator import Paginator

    from .forms import AuditFilterForm

    if not request.user.is_staff:
        raise PermissionDenied("Only staff can read the audit log.")
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_action_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.audit_event_list(**{k: v for k, v in filters.items() if v not in (None, "")})
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "pmhub/audit_log.html", {"form": form, "page": page, "query": query.urlencode()})


def server_error(request):
    """500 page; a database outage in code outside a view still answers 503 + JSON."""
    import sys

    from django.db import InterfaceError, OperationalError

    from .middleware import database_unavailable_response

    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        return database_unavailable_response(request)
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    from django.views.defaults import server_error as default_server_error

    return default_server_error(request)
