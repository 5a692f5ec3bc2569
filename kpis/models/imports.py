"""CSV imports of a KPI's history, run by a Celery task with visible progress."""
from django.conf import settings
from django.db import models

from .kpis import KPI


class ImportJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="kpi-imports/%Y/%m/")
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    bytes_done = models.BigIntegerField(default=0)
    rows_total = models.IntegerField(default=0)
    rows_imported = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{line, message}], the first few hundred.")
    error_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.bytes_done / self.size) if self.size else 0

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    def __str__(self):
        return f"import {self.filename} into {self.kpi}: {self.state}"
