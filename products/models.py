"""Products and who may see them (memberships).

The roadmap's and the sprints' models live in their feature packages
(products/roadmap/models.py, products/sprints/models.py) and stay in this app;
they are imported at the end so that Django registers them with it.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q

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

    def get_product(self):
        """The product an object belongs to (pmhub.permissions.product_of): itself."""
        return self


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


from products.roadmap.models import RoadmapItem, RoadmapShareLink, RoadmapStatusChange  # noqa: E402,F401
from products.sprints.models import Sprint, SprintSnapshot, WorkItem  # noqa: E402,F401
