"""What pmhub keeps of an MLflow run beyond the ModelVersion it maps to.

An MLflow run *is* a ModelVersion (run name = version label, params = the
version's params, metrics = the version's metric series). MlflowRun holds only
what a ModelVersion has no place for: the run's stable id (the client keeps it
for every later call), its status and times, its lifecycle stage (deleting a
run hides it, nothing is destroyed), the tags and the dataset inputs.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from kpis.ml.models import ModelVersion


class MlflowRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SCHEDULED = "SCHEDULED", "Scheduled"
        FINISHED = "FINISHED", "Finished"
        FAILED = "FAILED", "Failed"
        KILLED = "KILLED", "Killed"

    class Lifecycle(models.TextChoices):
        ACTIVE = "active", "Active"
        DELETED = "deleted", "Deleted"

    run_uuid = models.CharField(max_length=32, unique=True, help_text="The MLflow run id (32 hex digits).")
    version = models.OneToOneField(ModelVersion, on_delete=models.CASCADE, related_name="mlflow_run")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField(null=True, blank=True)
    lifecycle_stage = models.CharField(max_length=8, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    user_id = models.CharField(max_length=256, blank=True, help_text="The user the MLflow client reported.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    tags = models.JSONField(default=dict, blank=True, help_text="Run tags, key -> value (strings).")
    dataset_inputs = models.JSONField(default=list, blank=True, help_text="Datasets logged with log_inputs.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MLflow run"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]),
                                   name="mlflowrun_status_valid"),
            models.CheckConstraint(condition=Q(lifecycle_stage__in=["active", "deleted"]),
                                   name="mlflowrun_lifecycle_valid"),
        ]

    def __str__(self):
        return f"MLflow run {self.run_uuid}"

    @property
    def product_id(self):
        return self.version.model.product_id
