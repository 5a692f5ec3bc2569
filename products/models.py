"""Products, who may see them (memberships), the roadmap and sprints."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from pmhub.roles import Role


class Product(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True, help_text="Used in URLs and by the API.")
    description = models.TextField(blank=True)
    business_objective = models.TextField(
        blank=True, help_text="The business result this product exists to move."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="product_name_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="product_slug_not_empty"),
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="membership_unique_user_product"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self):
        return f"{self.user} is {self.get_role_display()} of {self.product}"


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

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="roadmap_items")
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

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="roadmap_share")
    token = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"share link of {self.product}"


class Sprint(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="sprints")
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

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="work_items")
    sprint = models.ForeignKey(
        Sprint, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items",
        help_text="Empty means the item is in the backlog.",
    )
    roadmap_item = models.ForeignKey(
        RoadmapItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items"
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
