"""Stakeholders' feedback, its tags, its links to roadmap items, the public
feedback link, CSV imports and ship notifications."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from products.models import Product
from products.roadmap.models import RoadmapItem


class Channel(models.TextChoices):
    INTERVIEW = "interview", "Interview"
    SURVEY = "survey", "Survey"
    SUPPORT = "support", "Support"
    SALES = "sales", "Sales"
    EMAIL = "email", "E-mail"
    INTERNAL = "internal", "Internal"
    API = "api", "API"
    FORM = "form", "Form"


class Segment(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    PROSPECT = "prospect", "Prospect"
    INTERNAL = "internal", "Internal"
    EXECUTIVE = "executive", "Executive"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Tag(models.Model):
    """A label PMs put on feedback; names are unique per product, lower case."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="feedback_tags")
    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="feedback_tag_unique_per_product"),
            models.CheckConstraint(condition=~Q(name=""), name="feedback_tag_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class Feedback(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        REVIEWED = "reviewed", "Reviewed"
        PLANNED = "planned", "Planned"
        DECLINED = "declined", "Declined"
        DONE = "done", "Done"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="feedback")
    text = models.TextField()
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.FORM)
    stakeholder_name = models.CharField(max_length=120, blank=True)
    stakeholder_email = models.EmailField(max_length=254, blank=True)
    organisation = models.CharField(max_length=120, blank=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.CUSTOMER)
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (poor) to 5 (great).")
    tags = models.ManyToManyField(Tag, blank=True, related_name="feedback")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    received_at = models.DateTimeField(default=timezone.now)
    # VADER's compound score in [-1, 1] and its label; written by the services on every save of the text.
    sentiment = models.FloatField(default=0)
    sentiment_label = models.CharField(max_length=8, choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="feedback_text_not_empty"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            ),
            models.CheckConstraint(condition=Q(sentiment__gte=-1, sentiment__lte=1), name="feedback_sentiment_range"),
            models.CheckConstraint(condition=~Q(duplicate_of=F("id")), name="feedback_not_duplicate_of_itself"),
        ]
        indexes = [
            models.Index(fields=["product", "-received_at"]),
            models.Index(fields=["product", "status"]),
            models.Index(fields=["product", "sentiment_label"]),
            models.Index(fields=["product", "channel"]),
            models.Index(fields=["product", "segment"]),
        ]

    def __str__(self):
        return self.text[:60]

    @property
    def stakeholder(self) -> str:
        return self.stakeholder_name or self.stakeholder_email or "Anonymous"


class FeedbackLink(models.Model):
    """Feedback backs a roadmap item; importance 0–3 says how much this piece of evidence matters."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="links")
    roadmap_item = models.ForeignKey(RoadmapItem, on_delete=models.CASCADE, related_name="feedback_links")
    importance = models.PositiveSmallIntegerField(default=1)
    # Set when the link exists because the feedback's theme is linked to the item
    # (feedback/themes): it follows the theme's membership and goes with the theme's link.
    via_theme = models.ForeignKey("feedback.Theme", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="feedback_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-importance", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["feedback", "roadmap_item"], name="feedbacklink_unique_pair"),
            models.CheckConstraint(condition=Q(importance__lte=3), name="feedbacklink_importance_0_to_3"),
        ]
        indexes = [models.Index(fields=["roadmap_item", "importance"])]

    def __str__(self):
        return f"{self.feedback_id} → {self.roadmap_item_id} ({self.importance})"


class FeedbackPortal(models.Model):
    """A product's public feedback link, for people without an account."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="feedback_portal")
    token = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Feedback link of {self.product} ({'on' if self.enabled else 'off'})"


class ImportJob(models.Model):
    """One CSV upload, imported by a Celery task; the page polls its progress."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Refused"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="feedback_imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=200, blank=True)
    default_channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.SURVEY,
                                       help_text="For rows that name no channel.")
    # The upload itself lives in the database: the worker may run on another machine.
    content = models.BinaryField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    errors = models.JSONField(default=list, blank=True, help_text="[{line, field, message}], one per problem.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["product", "-created_at"])]

    def __str__(self):
        return f"Import {self.filename or self.pk} ({self.state})"

    @property
    def percent(self) -> int:
        if self.state in (self.State.DONE, self.State.FAILED):
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(100 * self.processed_rows / self.total_rows))

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class ShipNotification(models.Model):
    """One e-mail to one stakeholder about one shipped roadmap item: at most one each."""

    roadmap_item = models.ForeignKey(RoadmapItem, on_delete=models.CASCADE, related_name="feedback_notifications")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=120, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(fields=["roadmap_item", "email"], name="shipnotification_once_per_stakeholder"),
        ]

    def __str__(self):
        return f"{self.email} about {self.roadmap_item_id}"


# Feature packages of this app keep their models in their own module; Django registers them here.
from feedback.themes.models import Theme, ThemeAssignment, ThemeLink, ThemeState  # noqa: E402

__all__ = ["Channel", "Segment", "Sentiment", "Tag", "Feedback", "FeedbackLink", "FeedbackPortal", "ImportJob",
           "ShipNotification", "Theme", "ThemeAssignment", "ThemeLink", "ThemeState"]
