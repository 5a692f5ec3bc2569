"""Sprints, their daily snapshots (burndown) and work items (the board and the backlog)."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Sprint(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="sprints")
    name = models.CharField(max_length=120)
    goal = models.TextField(blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PLANNED)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Frozen when the sprint closes: points in scope when it started, points done when it closed.
    committed_points = models.PositiveIntegerField(null=True, blank=True)
    completed_points = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="sprint_dates_ordered"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(state="active"), name="sprint_one_active_per_product"
            ),
        ]
        indexes = [models.Index(fields=["product", "state"])]

    def __str__(self):
        return self.name


class SprintSnapshot(models.Model):
    """A sprint's scope and remaining points at the end of one day.

    Written whenever a sprint's work changes (and once a day by beat) while the
    sprint is active; frozen when it closes, so a closed sprint's burndown never
    changes when its unfinished items move on.
    """

    sprint = models.ForeignKey(Sprint, on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    scope_points = models.PositiveIntegerField()
    remaining_points = models.PositiveIntegerField()
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sprint", "date"]
        constraints = [
            models.UniqueConstraint(fields=["sprint", "date"], name="sprintsnapshot_one_per_day"),
            models.CheckConstraint(condition=Q(remaining_points__lte=F("scope_points")),
                                   name="sprintsnapshot_remaining_within_scope"),
        ]

    def __str__(self):
        return f"{self.sprint} {self.date}: {self.remaining_points}/{self.scope_points}"


class WorkItem(models.Model):
    class Type(models.TextChoices):
        STORY = "story", "Story"
        BUG = "bug", "Bug"
        EXPERIMENT = "experiment", "Experiment"
        MODEL_TASK = "model_task", "Model task"

    class Status(models.TextChoices):
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        REVIEW = "review", "Review"
        DONE = "done", "Done"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="work_items")
    sprint = models.ForeignKey(
        Sprint, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items",
        help_text="Empty means the item is in the backlog.",
    )
    roadmap_item = models.ForeignKey(
        "products.RoadmapItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.STORY)
    points = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TODO)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        indexes = [
            models.Index(fields=["product", "sprint", "status", "order"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="done", completed_at__isnull=False) | (~Q(status="done") & Q(completed_at__isnull=True)),
                name="workitem_completed_iff_done",
            ),
        ]

    def __str__(self):
        return self.title
