"""Alerts: open once, escalate, resolve; each change notifies by e-mail and signed webhooks."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from kpis.models import KPI, Alert, AlertDelivery, AlertWebhook
from kpis.selectors.status import CRITICAL, WARNING, breach_level
from kpis.timeseries.models import Point
from kpis.timeseries.selectors import series_latest
from pmhub.audit import audit_record
from pmhub.outbox import delay_on_commit
from pmhub.permissions import require
from pmhub.roles import Action, Role

SIGNATURE_HEADER = "X-Pmhub-Signature"


def _queue_deliveries(alert: Alert, event: str) -> None:
    """Record one delivery per channel and send each from a Celery task after commit."""
    from products.models import Membership

    deliveries = []
    emails = sorted(set(
        Membership.objects.filter(product_id=alert.product_id, role=Role.PM, user__is_active=True)
        .exclude(user__email="").values_list("user__email", flat=True)
    ))
    if emails:
        deliveries.append(AlertDelivery(alert=alert, event=event, channel=AlertDelivery.Channel.EMAIL,
                                        target=",".join(emails)[:500]))
    for url in AlertWebhook.objects.filter(product_id=alert.product_id, is_active=True).values_list("url", flat=True):
        deliveries.append(AlertDelivery(alert=alert, event=event, channel=AlertDelivery.Channel.WEBHOOK, target=url))
    if not deliveries:
        return
    created = AlertDelivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in created]

    for pk in ids:
        delay_on_commit("kpis.tasks.alert_delivery_send", pk)


def alert_open(*, kpi: KPI, kind: str, severity: str, message: str, value: float | None = None) -> Alert:
    """Open an alert of this kind on the KPI, or return the one already open.

    One open alert per KPI and kind (a database constraint). An open alert
    whose severity rises is escalated and notifies again; one whose severity
    falls is updated quietly. Notifies on opening.
    """
    if kind not in Alert.Kind.values:
        raise ValidationError({"kind": [f"Choose one of {', '.join(Alert.Kind.values)}."]})
    if severity not in Alert.Severity.values:
        raise ValidationError({"severity": [f"Choose one of {', '.join(Alert.Severity.values)}."]})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(kpi=kpi, kind=kind, state=Alert.State.OPEN).first()
        if alert is not None:
            if alert.severity != severity:
                escalated = severity == Alert.Severity.CRITICAL
                alert.severity, alert.message, alert.value = severity, message, value
                alert.save(update_fields=["severity", "message", "value"])
                if escalated:
                    _queue_deliveries(alert, "escalated")
            return alert
        try:
            with transaction.atomic():
                alert = Alert.objects.create(kpi=kpi, product_id=kpi.product_id, kind=kind, severity=severity,
                                             message=message, value=value)
        except IntegrityError:  # another worker opened it a moment ago
            return Alert.objects.get(kpi=kpi, kind=kind, state=Alert.State.OPEN)
        _queue_deliveries(alert, "opened")
    return alert


def alert_resolve(*, kpi: KPI, kind: str, message: str = "") -> Alert | None:
    """Resolve the open alert of this kind on the KPI (and notify); None if none was open."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(kpi=kpi, kind=kind, state=Alert.State.OPEN).first()
        if alert is None:
            return None
        alert.state = Alert.State.RESOLVED
        alert.resolved_at = timezone.now()
        if message:
            alert.message = f"{alert.message}\nResolved: {message}"
        alert.save(update_fields=["state", "resolved_at", "message"])
        _queue_deliveries(alert, "resolved")
    return alert


def _breach_q(kpi: KPI):
    """Points past the KPI's outer (warning, else critical) threshold."""
    from django.db.models import Q

    bounds = [t for t in (kpi.warning_threshold, kpi.critical_threshold) if t is not None]
    if kpi.direction == KPI.Direction.LOWER:
        return Q(value__gt=min(bounds))
    return Q(value__lt=max(bounds))


def breach_started_at(*, kpi: KPI):
    """When the current run of breaching points began (the first point after the last good one)."""
    points = Point.objects.filter(series_id=kpi.series_id)
    last_good = points.exclude(_breach_q(kpi)).order_by("-ts", "-step").values_list("ts", flat=True).first()
    after = points if last_good is None else points.filter(ts__gt=last_good)
    return after.order_by("ts", "step").values_list("ts", flat=True).first()


def _fmt(value: float) -> str:
    return f"{value:,.4g}"


def kpi_evaluate(*, kpi: KPI, now=None) -> Alert | None:
    """Open, escalate or resolve the KPI's threshold alert from its latest points.

    The KPI must have stayed past a threshold for its pending period (counted
    from the first breaching point of the current run) before an alert opens.
    """
    now = now or timezone.now()
    if kpi.warning_threshold is None and kpi.critical_threshold is None:
        return alert_resolve(kpi=kpi, kind=Alert.Kind.THRESHOLD, message="the KPI has no thresholds any more")
    latest = series_latest(series_id=kpi.series_id)
    value = latest[2] if latest else None
    level = breach_level(direction=kpi.direction, warning=kpi.warning_threshold, critical=kpi.critical_threshold,
                         value=value)
    if level is None:
        if latest is None:
            return None
        return alert_resolve(kpi=kpi, kind=Alert.Kind.THRESHOLD, message=f"back at {_fmt(value)}{kpi.unit}")
    if kpi.pending_minutes:
        since = breach_started_at(kpi=kpi) or latest[0]
        if now - since < timedelta(minutes=kpi.pending_minutes):
            return None
    threshold = kpi.critical_threshold if level == CRITICAL else kpi.warning_threshold
    side = "above" if kpi.direction == KPI.Direction.LOWER else "below"
    message = (f"{kpi.name} is {_fmt(value)}{kpi.unit}, {side} its {level} threshold of "
               f"{_fmt(threshold)}{kpi.unit}.")
    severity = Alert.Severity.CRITICAL if level == CRITICAL else Alert.Severity.WARNING
    assert level in (CRITICAL, WARNING)
    return alert_open(kpi=kpi, kind=Alert.Kind.THRESHOLD, severity=severity, message=message, value=value)


# --- notifications ----------------------------------------------------------------------

def alert_payload(alert: Alert, event: str) -> dict:
    kpi = alert.kpi
    return {
        "event": f"alert.{event}",
        "alert": {
            "id": alert.pk, "kind": alert.kind, "severity": alert.severity, "state": alert.state,
            "message": alert.message, "value": alert.value,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        },
        "kpi": {"id": kpi.pk, "key": kpi.key, "name": kpi.name, "unit": kpi.unit},
        "product": {"slug": kpi.product.slug, "name": kpi.product.name},
        "sent_at": timezone.now().isoformat(),
    }


def webhook_signature(secret: str, body: bytes) -> str:
    """The value of the X-Pmhub-Signature header: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class RetryableDeliveryError(Exception):
    """A network error or a 5xx: worth trying again later."""


def alert_delivery_send(*, delivery: AlertDelivery, timeout: float = 10.0) -> AlertDelivery:
    """Send one delivery. Raises RetryableDeliveryError for what may pass on a retry."""
    import requests

    if delivery.status == AlertDelivery.Status.SENT:
        return delivery
    alert = Alert.objects.select_related("kpi", "kpi__product").get(pk=delivery.alert_id)
    payload = alert_payload(alert, delivery.event)
    AlertDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    delivery.attempts += 1
    try:
        if delivery.channel == AlertDelivery.Channel.EMAIL:
            verb = {"opened": "Alert", "escalated": "Alert escalated", "resolved": "Resolved"}.get(delivery.event, "Alert")
            send_mail(
                subject=f"[pmhub] {verb}: {alert.kpi.name} ({alert.kpi.product.name})",
                message=f"{alert.message}\n\nSeverity: {alert.get_severity_display()}\nState: {alert.get_state_display()}\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=delivery.target.split(","),
            )
        else:
            hook = AlertWebhook.objects.filter(product_id=alert.product_id, url=delivery.target).first()
            if hook is None:
                raise ValueError("the webhook was removed")
            body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            try:
                response = requests.post(delivery.target, data=body, timeout=timeout, allow_redirects=False, headers={
                    "Content-Type": "application/json", "User-Agent": "pmhub-alerts/1",
                    SIGNATURE_HEADER: webhook_signature(hook.secret, body),
                    "X-Pmhub-Event": payload["event"], "X-Pmhub-Delivery": str(delivery.pk),
                })
            except requests.RequestException as exc:
                raise RetryableDeliveryError(f"{type(exc).__name__}: {exc}") from exc
            if response.status_code >= 500 or response.status_code == 429:
                raise RetryableDeliveryError(f"HTTP {response.status_code}")
            if response.status_code >= 300:
                raise ValueError(f"HTTP {response.status_code}")
    except RetryableDeliveryError as exc:
        AlertDelivery.objects.filter(pk=delivery.pk).update(last_error=str(exc)[:2000])
        raise
    except Exception as exc:  # noqa: BLE001 - a delivery that cannot pass is recorded, not retried
        delivery.status, delivery.last_error = AlertDelivery.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
        delivery.save(update_fields=["status", "last_error"])
        return delivery
    delivery.status, delivery.sent_at, delivery.last_error = AlertDelivery.Status.SENT, timezone.now(), ""
    delivery.save(update_fields=["status", "sent_at", "last_error"])
    return delivery


def alert_delivery_give_up(*, delivery_id: int, error: str) -> None:
    AlertDelivery.objects.filter(pk=delivery_id).update(status=AlertDelivery.Status.FAILED, last_error=error[:2000])


# --- webhooks -------------------------------------------------------------------------------

def alert_webhook_create(*, actor, product, url: str) -> AlertWebhook:
    require(actor, product, Action.MANAGE)
    from django.core.validators import URLValidator

    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": ["Give an http or https URL."]}) from None
    if AlertWebhook.objects.filter(product=product, url=url).exists():
        raise ValidationError({"url": ["This product already sends alerts to that URL."]})
    with transaction.atomic():
        hook = AlertWebhook.objects.create(product=product, url=url)
        audit_record(actor=actor, action="alert_webhook.created", product=product, target=hook, data={"url": url})
    return hook


def alert_webhook_delete(*, actor, hook: AlertWebhook) -> None:
    require(actor, hook.product, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="alert_webhook.deleted", product=hook.product_id, target=hook,
                     data={"url": hook.url})
        hook.delete()
