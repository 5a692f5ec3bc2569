"""Alerts on KPIs, where they are sent, and what happened to each sending."""
import secrets

from django.db import models
from django.db.models import Q

from products.models import Product

from .kpis import KPI


class Alert(models.Model):
    class Kind(models.TextChoices):
        THRESHOLD = "threshold", "Threshold breached"
        SOURCE_FAILING = "source_failing", "Source failing"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="alerts")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="kpi_alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    message = models.TextField()
    value = models.FloatField(null=True, blank=True, help_text="The KPI's value when the alert opened.")
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One open alert per KPI and kind: re-evaluating never opens a second.
            models.UniqueConstraint(fields=["kpi", "kind"], condition=Q(state="open"), name="alert_one_open_per_kind"),
            models.CheckConstraint(condition=Q(state__in=["open", "resolved"]), name="alert_state_valid"),
        ]
        indexes = [models.Index(fields=["product", "state", "-opened_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.kpi}: {self.get_state_display()}"


def _webhook_secret():
    return secrets.token_urlsafe(32)


class AlertWebhook(models.Model):
    """A URL that receives a product's alerts as JSON signed with HMAC-SHA256."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="alert_webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=_webhook_secret)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "id"]
        constraints = [models.UniqueConstraint(fields=["product", "url"], name="alertwebhook_unique_url")]

    def __str__(self):
        return self.url


class AlertDelivery(models.Model):
    """One notification of one alert event to one channel (e-mail or a webhook)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=16, help_text="opened, escalated or resolved")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.channel} {self.event} → {self.target}: {self.status}"
