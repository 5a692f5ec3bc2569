"""REST API for the roadmap. Every write goes through products.roadmap.services."""
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pmhub import limits
from pmhub.api import UTCIsoDateTimeFilter
from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action
from products.api import visible_product
from products.roadmap import selectors, services
from products.roadmap.models import RoadmapItem


# --- roadmap items -------------------------------------------------------------------------------

class RoadmapItemSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RoadmapItem
        fields = ["id", "product", "title", "description", "internal_notes", "kind", "status", "horizon", "theme",
                  "owner", "start_date", "target_date", "shipped_at", "reach", "impact", "confidence", "effort",
                  "rice_score", "position", "created_at", "updated_at"]
        read_only_fields = fields


class RoadmapItemInputSerializer(serializers.Serializer):
    product = serializers.SlugField(help_text="Slug of the product (on create only).", required=False)
    title = limits.char_serializer_field(limits.TITLE_MAX)
    description = serializers.CharField(required=False, allow_blank=True)
    internal_notes = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=RoadmapItem.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=RoadmapItem.Status.choices, required=False)
    horizon = serializers.ChoiceField(choices=RoadmapItem.Horizon.choices, required=False)
    theme = serializers.CharField(max_length=80, required=False, allow_blank=True)
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="Username.")
    start_date = limits.date_serializer_field(required=False, allow_null=True)
    target_date = limits.date_serializer_field(required=False, allow_null=True)
    reach = limits.int_serializer_field(0, limits.REACH_MAX, required=False)
    impact = serializers.DecimalField(max_digits=4, decimal_places=2, required=False,
                                      help_text="0.25, 0.5, 1, 2 or 3.")
    confidence = limits.int_serializer_field(0, limits.CONFIDENCE_MAX, required=False, help_text="Percent, 0 to 100.")
    effort = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, help_text="Person-weeks.")


class RoadmapItemCreateSerializer(RoadmapItemInputSerializer):
    product = serializers.SlugField(help_text="Slug of the product.")


class RoadmapMoveSerializer(serializers.Serializer):
    horizon = serializers.ChoiceField(choices=RoadmapItem.Horizon.choices)
    position = limits.int_serializer_field(0, limits.INT_MAX, required=False, allow_null=True,
                                           help_text="0-based; omitted: at the end.")


class RoadmapStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RoadmapItem.Status.choices)


class RoadmapItemFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")
    theme = filters.CharFilter(field_name="theme")
    shipped_at__gte = UTCIsoDateTimeFilter(field_name="shipped_at", lookup_expr="gte")
    shipped_at__lt = UTCIsoDateTimeFilter(field_name="shipped_at", lookup_expr="lt")

    class Meta:
        model = RoadmapItem
        fields = {"status": ["exact", "in"], "horizon": ["exact", "in"], "kind": ["exact"],
                  "target_date": ["gte", "lte"]}


class RoadmapItemViewSet(viewsets.ModelViewSet):
    """Roadmap items of the products you can see. RICE score and shipped_at are computed, never written."""

    serializer_class = RoadmapItemSerializer
    permission_classes = [ProductRolePermission]
    filterset_class = RoadmapItemFilter
    search_fields = ["title", "description", "theme"]
    ordering_fields = ["rice_score", "status", "horizon", "target_date", "start_date", "title", "position",
                       "created_at", "shipped_at"]
    ordering = ["horizon", "position", "id"]

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RoadmapItem.objects.none()
        return selectors.roadmap_item_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return RoadmapItemCreateSerializer
        if self.action in ("update", "partial_update"):
            return RoadmapItemInputSerializer
        return RoadmapItemSerializer

    def _out(self, item, code=status.HTTP_200_OK):
        return Response(RoadmapItemSerializer(item, context=self.get_serializer_context()).data, status=code)

    @extend_schema(request=RoadmapItemCreateSerializer, responses={201: RoadmapItemSerializer})
    def create(self, request, *args, **kwargs):
        s = RoadmapItemCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        product = visible_product(request, data.pop("product"))
        item = services.roadmap_item_create(actor=request.user, product=product, **data)
        return self._out(item, status.HTTP_201_CREATED)

    @extend_schema(request=RoadmapItemInputSerializer, responses=RoadmapItemSerializer)
    def update(self, request, *args, partial=False, **kwargs):
        item = self.get_object()
        s = RoadmapItemInputSerializer(data=request.data, partial=partial)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        if "product" in data and data.pop("product") != item.product.slug:
            raise ValidationError({"product": ["An item cannot move to another product."]})
        item = services.roadmap_item_update(actor=request.user, item=item, **data)
        return self._out(item)

    def perform_destroy(self, instance):
        services.roadmap_item_delete(actor=self.request.user, item=instance)

    @extend_schema(request=RoadmapMoveSerializer, responses=RoadmapItemSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the item to a horizon column (now / next / later) at a position."""
        item = self.get_object()
        s = RoadmapMoveSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        item = services.roadmap_item_move(actor=request.user, item=item, **s.validated_data)
        return self._out(item)

    @extend_schema(request=RoadmapStatusSerializer, responses=RoadmapItemSerializer)
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """Change the status; recorded in the item's history; shipped sets shipped_at."""
        item = self.get_object()
        s = RoadmapStatusSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        item = services.roadmap_item_set_status(actor=request.user, item=item, status=s.validated_data["status"])
        return self._out(item)


def register(router):
    router.register("roadmap-items", RoadmapItemViewSet, basename="roadmap-item")
