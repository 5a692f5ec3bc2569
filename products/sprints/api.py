"""REST API for sprints and work items. Every write goes through products.sprints.services."""
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pmhub import limits
from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action
from products import selectors as product_selectors
from products.api import visible_product
from products.roadmap import selectors as roadmap_selectors
from products.sprints import selectors, services
from products.sprints.models import Sprint, WorkItem


# --- sprints -------------------------------------------------------------------------------------

class SprintSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    points = serializers.IntegerField(read_only=True, allow_null=True)
    done_points = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Sprint
        fields = ["id", "product", "name", "goal", "start_date", "end_date", "state", "started_at", "closed_at",
                  "committed_points", "completed_points", "points", "done_points", "created_at"]
        read_only_fields = fields


class SprintInputSerializer(serializers.Serializer):
    product = serializers.SlugField(required=False, help_text="Slug of the product (on create only).")
    name = serializers.CharField(max_length=120)
    goal = serializers.CharField(required=False, allow_blank=True)
    start_date = limits.date_serializer_field()
    end_date = limits.date_serializer_field()


class SprintCreateSerializer(SprintInputSerializer):
    product = serializers.SlugField(help_text="Slug of the product.")


class SprintCloseSerializer(serializers.Serializer):
    unfinished_to = serializers.CharField(
        default="backlog", help_text='"backlog" or the id of a planned sprint of the same product.')


class SprintFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")

    class Meta:
        model = Sprint
        fields = {"state": ["exact"], "start_date": ["gte", "lte"]}


class SprintViewSet(viewsets.ModelViewSet):
    """Sprints of the products you can see. Start and close them with the actions."""

    serializer_class = SprintSerializer
    permission_classes = [ProductRolePermission]
    filterset_class = SprintFilter
    search_fields = ["name", "goal"]
    ordering_fields = ["start_date", "end_date", "name", "state", "created_at"]

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sprint.objects.none()
        return selectors.sprint_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return SprintCreateSerializer
        if self.action in ("update", "partial_update"):
            return SprintInputSerializer
        return SprintSerializer

    def _out(self, sprint, code=status.HTTP_200_OK):
        sprint = selectors.sprint_list_for_user(user=self.request.user).get(pk=sprint.pk)
        return Response(SprintSerializer(sprint).data, status=code)

    @extend_schema(request=SprintCreateSerializer, responses={201: SprintSerializer})
    def create(self, request, *args, **kwargs):
        s = SprintCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        product = visible_product(request, data.pop("product"))
        sprint = services.sprint_create(actor=request.user, product=product, **data)
        return self._out(sprint, status.HTTP_201_CREATED)

    @extend_schema(request=SprintInputSerializer, responses=SprintSerializer)
    def update(self, request, *args, partial=False, **kwargs):
        sprint = self.get_object()
        s = SprintInputSerializer(data=request.data, partial=partial)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        if "product" in data and data.pop("product") != sprint.product.slug:
            raise ValidationError({"product": ["A sprint cannot move to another product."]})
        sprint = services.sprint_update(actor=request.user, sprint=sprint, **data)
        return self._out(sprint)

    def perform_destroy(self, instance):
        services.sprint_delete(actor=self.request.user, sprint=instance)

    @extend_schema(request=None, responses=SprintSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Make this planned sprint the active one (at most one per product)."""
        sprint = services.sprint_start(actor=request.user, sprint=self.get_object())
        return self._out(sprint)

    @extend_schema(request=SprintCloseSerializer, responses=SprintSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the active sprint; unfinished items go to the backlog or a planned sprint."""
        sprint = self.get_object()
        s = SprintCloseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        target = s.validated_data["unfinished_to"]
        if target != services.BACKLOG:
            try:
                target = Sprint.objects.get(pk=int(target), product__in=product_selectors.product_list_for_user(
                    user=request.user).values("pk"))
            except (ValueError, Sprint.DoesNotExist):
                raise ValidationError({"unfinished_to": ['Give "backlog" or the id of a planned sprint.']}) from None
        sprint = services.sprint_close(actor=request.user, sprint=sprint, unfinished_to=target)
        return self._out(sprint)

    @extend_schema(responses=inline_serializer("SprintBurndown", {
        "name": serializers.CharField(),
        "days": serializers.ListField(child=serializers.DateField()),
        "ideal": serializers.ListField(child=serializers.FloatField()),
        "remaining": serializers.ListField(child=serializers.IntegerField(allow_null=True)),
        "scope": serializers.ListField(child=serializers.IntegerField(allow_null=True)),
        "committed": serializers.IntegerField(),
        "today": serializers.DateField(allow_null=True),
    }))
    @action(detail=True, methods=["get"])
    def burndown(self, request, pk=None):
        """Day-by-day ideal, remaining and scope points (from the daily snapshots)."""
        data = selectors.sprint_burndown(sprint=self.get_object())
        data["days"] = [d.isoformat() for d in data["days"]]
        data["today"] = data["today"].isoformat() if data["today"] else None
        return Response(data)


# --- work items ----------------------------------------------------------------------------------

class WorkItemSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = WorkItem
        fields = ["id", "product", "sprint", "roadmap_item", "title", "description", "type", "points", "status",
                  "assignee", "order", "completed_at", "created_at", "updated_at"]
        read_only_fields = fields


class WorkItemInputSerializer(serializers.Serializer):
    product = serializers.SlugField(required=False, help_text="Slug of the product (on create only).")
    title = limits.char_serializer_field(limits.TITLE_MAX)
    description = serializers.CharField(required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=WorkItem.Type.choices, required=False)
    points = limits.int_serializer_field(0, limits.POINTS_MAX, required=False)
    assignee = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Username.")
    roadmap_item = serializers.IntegerField(required=False, allow_null=True)
    sprint = serializers.IntegerField(required=False, allow_null=True, help_text="Sprint id; null = backlog.")
    status = serializers.ChoiceField(choices=WorkItem.Status.choices, required=False)


class WorkItemCreateSerializer(WorkItemInputSerializer):
    product = serializers.SlugField(help_text="Slug of the product.")


class WorkItemMoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WorkItem.Status.choices, required=False)
    sprint = serializers.IntegerField(required=False, allow_null=True, help_text="Sprint id; null = backlog.")
    position = limits.int_serializer_field(0, limits.INT_MAX, required=False, allow_null=True,
                                           help_text="0-based; omitted: at the end.")


class WorkItemFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")
    backlog = filters.BooleanFilter(field_name="sprint", lookup_expr="isnull")
    assignee = filters.CharFilter(field_name="assignee__username")

    class Meta:
        model = WorkItem
        fields = {"sprint": ["exact"], "status": ["exact", "in"], "type": ["exact"], "roadmap_item": ["exact"]}


class WorkItemViewSet(viewsets.ModelViewSet):
    """Work items (cards). Sprint null = backlog. Move them with the move action (or PATCH status/sprint)."""

    serializer_class = WorkItemSerializer
    permission_classes = [ProductRolePermission]
    filterset_class = WorkItemFilter
    search_fields = ["title", "description"]
    ordering_fields = ["order", "points", "status", "created_at", "completed_at", "title"]

    @property
    def write_action(self):
        if self.action == "move":
            return Action.TRACK
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WorkItem.objects.none()
        return selectors.work_item_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return WorkItemCreateSerializer
        if self.action in ("update", "partial_update"):
            return WorkItemInputSerializer
        return WorkItemSerializer

    def _out(self, item, code=status.HTTP_200_OK):
        return Response(WorkItemSerializer(item).data, status=code)

    def _sprint(self, value):
        """Resolve a sprint id among the sprints the user can see (the service checks its product)."""
        if value is None:
            return None
        sprint = selectors.sprint_list_for_user(user=self.request.user).filter(pk=value).first()
        if sprint is None:
            raise ValidationError({"sprint": [f"No sprint {value} that you can see."]})
        return Sprint.objects.get(pk=sprint.pk)

    def _roadmap_item(self, value):
        if value is None:
            return None
        item = roadmap_selectors.roadmap_item_list_for_user(user=self.request.user).filter(pk=value).first()
        if item is None:
            raise ValidationError({"roadmap_item": [f"No roadmap item {value} that you can see."]})
        return item

    @extend_schema(request=WorkItemCreateSerializer, responses={201: WorkItemSerializer})
    def create(self, request, *args, **kwargs):
        s = WorkItemCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        product = visible_product(request, data.pop("product"))
        if "sprint" in data:
            data["sprint"] = self._sprint(data["sprint"])
        if "roadmap_item" in data:
            data["roadmap_item"] = self._roadmap_item(data["roadmap_item"])
        item = services.work_item_create(actor=request.user, product=product, **data)
        return self._out(item, status.HTTP_201_CREATED)

    @extend_schema(request=WorkItemInputSerializer, responses=WorkItemSerializer)
    def update(self, request, *args, partial=False, **kwargs):
        item = self.get_object()
        s = WorkItemInputSerializer(data=request.data, partial=partial)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        if "product" in data and data.pop("product") != item.product.slug:
            raise ValidationError({"product": ["A work item cannot move to another product."]})
        move = {}
        if "status" in data:
            move["status"] = data.pop("status")
        if "sprint" in data:
            move["sprint"] = self._sprint(data.pop("sprint"))
        if "roadmap_item" in data:
            data["roadmap_item"] = self._roadmap_item(data["roadmap_item"])
        from django.db import transaction

        with transaction.atomic():
            if data:
                item = services.work_item_update(actor=request.user, item=item, **data)
            if move:
                item = services.work_item_move(actor=request.user, item=item, **move)
        return self._out(item)

    def perform_destroy(self, instance):
        services.work_item_delete(actor=self.request.user, item=instance)

    @extend_schema(request=WorkItemMoveSerializer, responses=WorkItemSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the card to a status column and/or sprint (null = backlog) at a position."""
        item = self.get_object()
        s = WorkItemMoveSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        if "sprint" in data:
            data["sprint"] = self._sprint(data["sprint"])
        item = services.work_item_move(actor=request.user, item=item, **data)
        return self._out(item)


def register(router):
    router.register("sprints", SprintViewSet, basename="sprint")
    router.register("work-items", WorkItemViewSet, basename="work-item")
