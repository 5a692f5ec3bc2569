"""Feedback themes: groups of feedback found in the text, and what the PM decided about them.

- ThemeState: one per product; the fitted text representation (vocabulary, weights) and the
  centroids new feedback is compared with on arrival, plus the last grouping run.
- Theme: a group, its label (its own words unless the PM renamed it), keywords, quote.
- ThemeAssignment: one per piece of feedback that has been represented: its vector, its
  theme (none = nothing close enough), and whether the PM put it there (pinned).
- ThemeLink: a theme linked to a roadmap item; every member then has a FeedbackLink
  (via_theme) to the item, so it counts in the item's demand.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

from feedback.models import Feedback
from products.models import Product
from products.roadmap.models import RoadmapItem


class ThemeState(models.Model):
    class RunState(models.TextChoices):
        IDLE = "idle", "Not grouped yet"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Grouping"
        DONE = "done", "Grouped"
        FAILED = "failed", "Failed"

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="theme_state")
    backend = models.CharField(max_length=200, blank=True, help_text="Text representation the vectors come from.")
    # numpy arrays saved with np.savez (loaded with allow_pickle=False): the representation's
    # fitted state and the centroids, in the order of centroid_theme_ids.
    representation = models.BinaryField(default=b"", blank=True)
    centroids = models.BinaryField(default=b"", blank=True)
    centroid_theme_ids = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="Bumped by every grouping: caches key on it.")
    run_state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.IDLE)
    run_message = models.TextField(blank=True)
    run_requested_at = models.DateTimeField(null=True, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_finished_at = models.DateTimeField(null=True, blank=True)
    run_seconds = models.FloatField(null=True, blank=True)
    grouped_count = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"themes of {self.product_id} (v{self.version}, {self.run_state})"


class Theme(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISMISSED = "dismissed", "Dismissed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="feedback_themes")
    label = models.CharField(max_length=120, help_text="Its own words unless the PM renamed it.")
    label_pinned = models.BooleanField(default=False, help_text="Renamed by the PM: grouping keeps the name.")
    keywords = models.JSONField(default=list, blank=True)
    quote = models.ForeignKey(Feedback, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The piece closest to the theme's centre.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    locked = models.BooleanField(default=False, help_text="Merged or split by the PM: grouping keeps its members.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "id"]
        constraints = [models.CheckConstraint(condition=~Q(label=""), name="feedback_theme_label_not_empty")]
        indexes = [models.Index(fields=["product", "status"])]

    def __str__(self):
        return self.label


class ThemeAssignment(models.Model):
    # Its own id (not the feedback's): product export and import give every row a new key.
    feedback = models.OneToOneField(Feedback, on_delete=models.CASCADE, related_name="theme_assignment")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="assignments")
    similarity = models.FloatField(default=0, help_text="Cosine similarity to the theme's centre when assigned.")
    pinned = models.BooleanField(default=False, help_text="Moved here by the PM: grouping keeps it here.")
    vector = models.BinaryField(help_text="float32, unit length, in the representation of state_version.")
    state_version = models.PositiveIntegerField(default=0)
    likely_duplicate_of = models.ForeignKey(Feedback, null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    duplicate_similarity = models.FloatField(null=True, blank=True)
    assigned_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["product", "theme"]), models.Index(fields=["theme", "-similarity"])]
        constraints = [
            models.CheckConstraint(condition=Q(similarity__gte=-1.001, similarity__lte=1.001),
                                   name="theme_assignment_similarity_range"),
        ]

    def __str__(self):
        return f"{self.feedback_id} in {self.theme_id}"


class ThemeLink(models.Model):
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="roadmap_links")
    roadmap_item = models.ForeignKey(RoadmapItem, on_delete=models.CASCADE, related_name="theme_links")
    importance = models.PositiveSmallIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-importance", "roadmap_item__title"]
        constraints = [
            models.UniqueConstraint(fields=["theme", "roadmap_item"], name="themelink_unique_pair"),
            models.CheckConstraint(condition=Q(importance__lte=3), name="themelink_importance_0_to_3"),
        ]

    def __str__(self):
        return f"theme {self.theme_id} → {self.roadmap_item_id}"
