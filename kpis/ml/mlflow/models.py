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


class ArtifactFile(models.Model):
    """One file under an experiment's MLflow artifact root (`mlflow-artifacts:/<model id>/...`).

    `path` is relative to that root: `<run id>/artifacts/<file>` for a run's
    artifacts, `models/<logged model id>/artifacts/<file>` for a logged model's.
    The bytes live in the "mlflow_artifacts" storage under a name made of their
    SHA-256 (`blobs/ab/abcdef...`), never of the user's path: two rows with the
    same content share one blob, a product copied by import shares its blobs,
    and a blob is deleted when the last row that names it goes.
    """

    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE,
                              related_name="mlflow_artifacts")
    path = models.CharField(max_length=1024)
    blob = models.CharField(max_length=80, help_text="Storage name of the bytes (content-addressed).")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MLflow artifact"
        constraints = [
            models.UniqueConstraint(fields=["model", "path"], name="artifactfile_unique_path"),
            models.CheckConstraint(condition=Q(size__gte=0), name="artifactfile_size_not_negative"),
            models.CheckConstraint(condition=~Q(path=""), name="artifactfile_path_not_empty"),
        ]
        indexes = [models.Index(fields=["blob"], name="artifactfile_blob_idx")]

    def __str__(self):
        return f"{self.model_id}:{self.path}"


class ArtifactUpload(models.Model):
    """A multipart upload in progress (MLflow's mpu/create ... mpu/complete)."""

    upload_id = models.CharField(max_length=32, unique=True)
    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=1024)
    num_parts = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MLflow multipart upload"


class LoggedModel(models.Model):
    """An MLflow 3 logged model (mlflow.<flavour>.log_model), kept on the experiment's AI model.

    Its files are ArtifactFiles under `models/<model_id>/artifacts/`; the run that
    produced it (the version) is `source_run`.
    """

    class Status(models.TextChoices):
        PENDING = "LOGGED_MODEL_PENDING", "Pending"
        READY = "LOGGED_MODEL_READY", "Ready"
        FAILED = "LOGGED_MODEL_UPLOAD_FAILED", "Upload failed"

    mlflow_id = models.CharField(max_length=40, unique=True, help_text="MLflow's model_id: m-<32 hex digits>.")
    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE, related_name="logged_models")
    source_run = models.ForeignKey(MlflowRun, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="logged_models")
    name = models.CharField(max_length=250)
    model_type = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    status_message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    deleted = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MLflow logged model"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY",
                                                           "LOGGED_MODEL_UPLOAD_FAILED"]),
                                   name="loggedmodel_status_valid"),
        ]

    def __str__(self):
        return self.mlflow_id


class RegisteredVersion(models.Model):
    """A pmhub version as a version of an MLflow registered model (`<product-slug>.<model-name>`).

    MLflow numbers versions 1, 2, 3 within a registered model; pmhub labels them.
    This row gives a pmhub version its MLflow number, the source it was
    registered from and its registry tags. Its stage is the pmhub version's stage.
    """

    version = models.OneToOneField(ModelVersion, on_delete=models.CASCADE, related_name="registered")
    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE, related_name="registered_versions")
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=1024, blank=True)
    logged_model = models.ForeignKey(LoggedModel, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MLflow registered version"
        constraints = [models.UniqueConstraint(fields=["model", "number"], name="registeredversion_unique_number")]


class RegistryAlias(models.Model):
    """An alias (champion, challenger...) of a registered model pointing at one of its versions."""

    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE, related_name="registry_aliases")
    alias = models.CharField(max_length=255)
    version = models.ForeignKey(RegisteredVersion, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "MLflow registry alias"
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="registryalias_unique_alias")]


class RegisteredModelTag(models.Model):
    model = models.ForeignKey("kpis.AIModel", on_delete=models.CASCADE, related_name="registry_tags")
    key = models.CharField(max_length=250)
    value = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="registeredmodeltag_unique_key")]
