"""The roadmap: items with RICE inputs, their status history, and the read-only share link."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q


class RoadmapItem(models.Model):
    class Kind(models.TextChoices):
        INITIATIVE = "initiative", "Initiative"
        FEATURE = "feature", "Feature"
        EXPERIMENT = "experiment", "Experiment"

    class Status(models.TextChoices):
        IDEA = "idea", "Idea"
        DISCOVERY = "discovery", "Discovery"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DROPPED = "dropped", "Dropped"

    class Horizon(models.TextChoices):
        NOW = "now", "Now"
        NEXT = "next", "Next"
        LATER = "later", "Later"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="roadmap_items")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    internal_notes = models.TextField(blank=True, help_text="Never shown on the public share link.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FEATURE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDEA)
    horizon = models.CharField(max_length=8, choices=Horizon.choices, default=Horizon.LATER)
    theme = models.CharField(max_length=80, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # RICE inputs; the score is derived (never typed) and stored for sorting.
    reach = models.PositiveIntegerField(default=0, help_text="People or events per quarter.")
    impact = models.DecimalField(max_digits=4, decimal_places=2, default=1, help_text="0.25, 0.5, 1, 2 or 3.")
    confidence = models.PositiveSmallIntegerField(default=50, help_text="Percent, 0 to 100.")
    effort = models.DecimalField(max_digits=7, decimal_places=2, default=1, help_text="Person-weeks.")
    rice_score = models.FloatField(default=0, editable=False)
    position = models.PositiveIntegerField(default=0, help_text="Order within its horizon column.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    IMPACT_SCALE = ("0.25", "0.5", "1", "2", "3")

    class Meta:
        ordering = ["horizon", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(confidence__lte=100), name="roadmapitem_confidence_pct"),
            models.CheckConstraint(
                condition=Q(status="shipped", shipped_at__isnull=False) | ~Q(status="shipped"),
                name="roadmapitem_shipped_has_date",
            ),
            models.CheckConstraint(condition=Q(effort__gt=0), name="roadmapitem_effort_positive"),
            models.CheckConstraint(condition=Q(impact__gte=0.25, impact__lte=3), name="roadmapitem_impact_range"),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(target_date__isnull=True) | Q(target_date__gte=F("start_date")),
                name="roadmapitem_dates_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["product", "status"]),
            models.Index(fields=["product", "horizon", "position"]),
            models.Index(fields=["product", "-rice_score"]),
            models.Index(fields=["product", "shipped_at"]),
            models.Index(fields=["product", "target_date"]),
        ]

    def __str__(self):
        return self.title

    @property
    def is_slipping(self) -> bool:
        from django.utils import timezone

        return bool(
            self.target_date and self.target_date < timezone.localdate()
            and self.status not in (self.Status.SHIPPED, self.Status.DROPPED)
        )


class RoadmapStatusChange(models.Model):
    """One change of a roadmap item's status: the history shown on its page."""

    item = models.ForeignKey(RoadmapItem, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=RoadmapItem.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=RoadmapItem.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["item", "-changed_at"])]

    def __str__(self):
        return f"{self.item}: {self.from_status or '-'} -> {self.to_status}"


class RoadmapShareLink(models.Model):
    """A read-only public link to a product's roadmap. Revoking deletes it; switching on makes a new token."""

    product = models.OneToOneField("products.Product", on_delete=models.CASCADE, related_name="roadmap_share")
    token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"share link of {self.product}"
