"""AI models, their versions and the metrics logged for each version.

A ModelVersion owns one Series (kind "metric") per metric key, linked by
ModelMetric; the points themselves live in the shared time-series store.
At most one version of a model is in production: a partial unique constraint
in the database, not just a check in Python.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from products.models import Product

from kpis.timeseries.models import Series


class AIModel(models.Model):
    class Task(models.TextChoices):
        CLASSIFICATION = "classification", "Classification"
        REGRESSION = "regression", "Regression"
        RANKING = "ranking", "Ranking"
        GENERATION = "generation", "Generation"
        FORECASTING = "forecasting", "Forecasting"
        OTHER = "other", "Other"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="ai_models")
    name = models.CharField(max_length=120, help_text="Unique within the product; the client and API use it.")
    task = models.CharField(max_length=16, choices=Task.choices, default=Task.OTHER)
    description = models.TextField(blank=True)
    primary_metric = models.CharField(
        max_length=250, blank=True, help_text="The metric key that says how good a version is, e.g. accuracy."
    )
    higher_is_better = models.BooleanField(default=True, help_text="For the primary metric.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Text that names an AI model by its id: MLflow artifact URIs, whose experiment id is the
    # model's id (`mlflow-artifacts:/<id>/...`, also with a host). Importing a product gives the
    # model a new id and rewrites these to match (products.transfer).
    transfer_pk_in_text = (r"mlflow-artifacts:/(?P<pk>[0-9]+)(?![0-9])",
                           r"mlflow-artifacts://[^/\s]+/(?P<pk>[0-9]+)(?![0-9])")

    class Meta:
        ordering = ["product__name", "name"]
        verbose_name = "AI model"
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="aimodel_unique_name_per_product"),
            models.CheckConstraint(condition=~Q(name=""), name="aimodel_name_not_empty"),
            models.CheckConstraint(condition=Q(task__in=["classification", "regression", "ranking", "generation",
                                                         "forecasting", "other"]), name="aimodel_task_valid"),
        ]

    def __str__(self):
        return self.name


class ModelVersion(models.Model):
    class Stage(models.TextChoices):
        DEVELOPMENT = "development", "Development"
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"
        ARCHIVED = "archived", "Archived"

    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=64, help_text="A label such as 3 or 2026-11-rc1; unique within the model.")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DEVELOPMENT)
    params = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    stage_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="modelversion_unique_label"),
            models.UniqueConstraint(fields=["model"], condition=Q(stage="production"),
                                    name="modelversion_one_production_per_model"),
            models.CheckConstraint(condition=~Q(version=""), name="modelversion_label_not_empty"),
            models.CheckConstraint(condition=Q(stage__in=["development", "staging", "production", "archived"]),
                                   name="modelversion_stage_valid"),
        ]
        indexes = [models.Index(fields=["model", "stage"])]

    def __str__(self):
        return f"{self.model.name} {self.version}"

    @property
    def product_id(self):
        return self.model.product_id


class StageTransition(models.Model):
    """One stage change of a version: who, when, from and to (the stage history)."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.CharField(max_length=16, choices=ModelVersion.Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=ModelVersion.Stage.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.version_id}: {self.from_stage or '-'} -> {self.to_stage}"


class ModelMetric(models.Model):
    """The Series that holds one metric key of one version."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="metrics")
    key = models.CharField(max_length=250)
    series = models.OneToOneField(Series, on_delete=models.PROTECT, related_name="model_metric")

    class Meta:
        ordering = ["version", "key"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="modelmetric_unique_key_per_version"),
            models.CheckConstraint(condition=~Q(key=""), name="modelmetric_key_not_empty"),
        ]

    def __str__(self):
        return f"{self.version_id}:{self.key}"


class KpiModelFeed(models.Model):
    """A KPI (category model) that follows the production version's latest value of a metric key."""

    kpi = models.OneToOneField("kpis.KPI", on_delete=models.CASCADE, related_name="model_feed")
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="kpi_feeds")
    metric_key = models.CharField(max_length=250)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(metric_key=""), name="kpimodelfeed_key_not_empty")]

    def __str__(self):
        return f"KPI {self.kpi_id} <- model {self.model_id}:{self.metric_key}"
