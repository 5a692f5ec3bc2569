"""Objectives and the KPIs that are their key results."""
from django.db import models
from django.db.models import F, Q

from products.models import Product

from kpis.timeseries.models import Series


class Objective(models.Model):
    """A business objective of a product for a period, like a goal in an OKR."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="objective_dates_ordered"),
        ]

    def __str__(self):
        return self.title


class KPI(models.Model):
    class Category(models.TextChoices):
        ENGAGEMENT = "engagement", "Engagement"
        CONVERSION = "conversion", "Conversion"
        REVENUE = "revenue", "Revenue"
        MODEL = "model", "Model quality"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="kpis")
    objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.SET_NULL, related_name="kpis"
    )
    series = models.OneToOneField(Series, on_delete=models.PROTECT, related_name="kpi")
    name = models.CharField(max_length=120)
    key = models.SlugField(max_length=80, help_text="Unique within the product; used by the API.")
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=24, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    target = models.FloatField(null=True, blank=True)
    warning_threshold = models.FloatField(null=True, blank=True)
    critical_threshold = models.FloatField(null=True, blank=True)
    headline = models.BooleanField(default=True, help_text="Shown on the portfolio.")
    pending_minutes = models.PositiveIntegerField(
        default=0, help_text="How long the KPI must stay past a threshold before an alert opens (0: at once)."
    )
    roadmap_items = models.ManyToManyField(
        "products.RoadmapItem", blank=True, related_name="kpis",
        help_text="Roadmap items expected to move this KPI; their ship dates mark its chart.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product__name", "name"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="kpi_unique_key_per_product"),
            models.CheckConstraint(condition=~Q(key=""), name="kpi_key_not_empty"),
        ]

    def __str__(self):
        return f"{self.product}: {self.name}"


class KPIStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    NO_DATA = "no_data", "No data"
