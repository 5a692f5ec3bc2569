"""Writes of the portfolio: digest subscriptions and sending the weekly digest."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from pmhub.models import DigestSubscription

from portfolio.selectors import Portfolio, portfolio_for_user

DIGEST_PERIOD = "week"


@dataclass
class Digest:
    subject: str
    text: str
    html: str
    portfolio: Portfolio


def digest_subscription_get(*, user) -> DigestSubscription | None:
    return DigestSubscription.objects.filter(user=user).first()


def digest_subscription_set(*, user, enabled: bool) -> DigestSubscription:
    """Opt in to (or out of) the weekly digest."""
    if enabled and not user.email:
        raise ValidationError({"enabled": ["Add an e-mail address to your account first: the digest is sent there."]})
    with transaction.atomic():
        sub, _ = DigestSubscription.objects.select_for_update().get_or_create(user=user)
        if sub.enabled != enabled:
            sub.enabled = enabled
            sub.save(update_fields=["enabled", "updated_at"])
    return sub


def digest_build(*, user, now=None, base_url: str | None = None) -> Digest:
    """The digest of everything the user may see over the last week (HTML and plain text)."""
    portfolio = portfolio_for_user(user=user, period=DIGEST_PERIOD, now=now)
    base = (base_url if base_url is not None else settings.PMHUB_BASE_URL).rstrip("/")
    counts = portfolio.status_counts
    attention = counts["off_track"]
    subject = f"pmhub weekly: {len(portfolio.rows)} product{'s' if len(portfolio.rows) != 1 else ''}"
    if attention:
        subject += f", {attention} need{'s' if attention == 1 else ''} attention"
    context = {
        "portfolio": portfolio, "user": user, "base_url": base, "subject": subject,
        "portfolio_url": base + reverse("portfolio") + "?period=week",
        "digest_url": base + reverse("portfolio-digest"),
    }
    text = render_to_string("portfolio/digest_email.txt", context)
    html = render_to_string("portfolio/digest_email.html", context)
    return Digest(subject=subject, text=text, html=html, portfolio=portfolio)


def digest_send(*, user, run_key: str = "", now=None) -> bool:
    """Send the digest to user; with a run_key, at most once per key (scheduled runs).

    Returns whether an e-mail went out. A user without an e-mail address, or
    one already served for this run, gets nothing.
    """
    if not user.is_active or not user.email:
        return False
    with transaction.atomic():
        sub, _ = DigestSubscription.objects.select_for_update().get_or_create(user=user)
        if run_key and sub.last_sent_key == run_key:
            return False
        digest = digest_build(user=user, now=now)
        message = EmailMultiAlternatives(subject=digest.subject, body=digest.text,
                                         from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email])
        message.attach_alternative(digest.html, "text/html")
        message.send()
        sub.last_sent_at = timezone.now()
        if run_key:
            sub.last_sent_key = run_key
        sub.save(update_fields=["last_sent_at", "last_sent_key", "updated_at"])
    return True


def digest_recipient_ids() -> list[int]:
    return list(
        DigestSubscription.objects.filter(enabled=True, user__is_active=True)
        .exclude(user__email="").values_list("user_id", flat=True).order_by("user_id")
    )
