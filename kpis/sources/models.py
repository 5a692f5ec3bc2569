"""Metric sources: where a KPI's points are pulled from on a schedule, and the
record every pull leaves (PullRun).

The schedule lives in the row: `next_run_at` is the start of the next slot.
The dispatcher claims due rows (SELECT ... FOR UPDATE SKIP LOCKED), moves
next_run_at one interval on and queues one pull per claimed slot, so any
number of workers and dispatchers never pull one source twice for one slot.
Secrets (HTTP headers, the SQL DSN) are stored encrypted in `secret`
(see kpis/sources/secrets.py); `config` holds only what may be shown back.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from kpis.models.kpis import KPI


class MetricSource(models.Model):
    class Kind(models.TextChoices):
        HTTP_JSON = "http_json", "HTTP JSON endpoint"
        PROMETHEUS = "prometheus", "Prometheus query"
        SQL = "sql", "SQL query (read-only)"

    class Health(models.TextChoices):
        NEW = "new", "Not pulled yet"
        OK = "ok", "Healthy"
        FAILING = "failing", "Failing"

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings of the adapter.")
    secret = models.TextField(blank=True, help_text="Fernet token of the secret settings (headers, DSN).")
    enabled = models.BooleanField(default=True)
    interval_seconds = models.PositiveIntegerField(default=300)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    next_run_at = models.DateTimeField(null=True, blank=True)
    health = models.CharField(max_length=8, choices=Health.choices, default=Health.NEW)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kpi_id", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(interval_seconds__gte=1), name="metricsource_interval_positive"),
            models.CheckConstraint(condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=120),
                                   name="metricsource_timeout_range"),
            models.CheckConstraint(condition=Q(kind__in=["http_json", "prometheus", "sql"]),
                                   name="metricsource_kind_known"),
        ]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="metricsource_due")]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    def get_product(self):
        return self.kpi.product_id

    # The one status rule every page shows (list, detail, KPI panel): paused wins over what
    # the last pulls said, because a paused source is not being pulled at all.
    STATUSES = {
        "paused": ("Paused", ""),
        "failing": ("Failing", "⚠ "),
        "healthy": ("Healthy", "✓ "),
        "never_run": ("Never run", ""),
    }

    @property
    def status(self) -> str:
        """paused / failing / healthy / never_run."""
        if not self.enabled:
            return "paused"
        if self.health == self.Health.FAILING:
            return "failing"
        if self.health == self.Health.OK:
            return "healthy"
        return "never_run"

    @property
    def status_label(self) -> str:
        label, icon = self.STATUSES[self.status]
        return icon + label

    @property
    def error_is_current(self) -> bool:
        """Whether the last error still stands (no success since): shown as a problem, else as history."""
        if not self.last_error_at:
            return False
        return self.last_success_at is None or self.last_error_at >= self.last_success_at

    @property
    def interval_text(self) -> str:
        """"every hour", "every 15 min", "every 90 s", "every 2 h 30 min"."""
        return "every " + duration_text(self.interval_seconds)


def duration_text(seconds: int) -> str:
    """A whole number of seconds as people say it: "hour", "15 min", "2 h 30 min", "day", "45 s"."""
    seconds = int(seconds)
    if seconds % 86400 == 0:
        days = seconds // 86400
        return "day" if days == 1 else f"{days} days"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    if seconds >= 3600 and seconds % 60 == 0:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "minute" if minutes == 1 else f"{minutes} min"
    if seconds > 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return "second" if seconds == 1 else f"{seconds} s"


class PullRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        RETRYING = "retrying", "Failed, retrying"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Pull now"

    source = models.ForeignKey(MetricSource, on_delete=models.CASCADE, related_name="runs")
    slot = models.DateTimeField(help_text="The scheduled time this pull is for.")
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.SCHEDULE)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    points_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["source", "-started_at"], name="pullrun_source_recent")]

    def __str__(self):
        return f"{self.source_id}@{self.slot.isoformat()} {self.status}"
