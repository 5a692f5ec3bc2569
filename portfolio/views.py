"""Portfolio pages: thin views over selectors and services."""
import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portfolio import services, tasks
from portfolio.periods import PERIODS
from portfolio.selectors import portfolio_csv_rows, portfolio_for_user


@login_required
@require_GET
def portfolio(request):
    data = portfolio_for_user(user=request.user, period=request.GET.get("period"))
    periods = [{"key": key, "label": label} for key, (_days, label, _phrase) in PERIODS.items()]
    return render(request, "portfolio/index.html", {"portfolio": data, "periods": periods})


@login_required
@require_GET
def portfolio_export(request):
    data = portfolio_for_user(user=request.user, period=request.GET.get("period"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate(data.period.end).isoformat()
    response["Content-Disposition"] = f'attachment; filename="pmhub-portfolio-{data.period.key}-{stamp}.csv"'
    writer = csv.writer(response)
    for row in portfolio_csv_rows(data):
        writer.writerow([_safe_cell(v) for v in row])
    return response


def _safe_cell(value):
    """Keep a spreadsheet from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@login_required
@require_GET
def digest_preview(request):
    digest = services.digest_build(user=request.user, base_url=request.build_absolute_uri("/"))
    sub = services.digest_subscription_get(user=request.user)
    return render(request, "portfolio/digest_preview.html", {
        "digest": digest, "portfolio": digest.portfolio, "subscribed": bool(sub and sub.enabled),
        "last_sent_at": sub.last_sent_at if sub else None,
    })


@login_required
@require_POST
def digest_subscription(request):
    enabled = request.POST.get("enabled") == "1"
    try:
        services.digest_subscription_set(user=request.user, enabled=enabled)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, "You will get the weekly digest by e-mail." if enabled
                         else "You will no longer get the weekly digest.")
    return redirect("portfolio-digest")


@login_required
@require_POST
def digest_send_now(request):
    if not request.user.email:
        messages.error(request, "Your account has no e-mail address to send the digest to.")
        return redirect("portfolio-digest")
    tasks.digest_send_to_user.delay_on_commit(request.user.pk)
    messages.success(request, f"The digest is on its way to {request.user.email}.")
    return redirect("portfolio-digest")
