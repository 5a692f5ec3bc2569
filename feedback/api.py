"""REST API for feedback: `POST /api/v1/feedback` (one object, or a list for bulk), list,
read, triage (PATCH), links to roadmap items, delete."""
from django.conf import settings
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from pmhub.api import UTCIsoDateTimeFilter
from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action
from products.models import Product
from products.roadmap.models import RoadmapItem
from products.selectors import product_list_for_user

from . import selectors, services
from .models import Channel, Feedback, FeedbackLink, Segment, Sentiment


class FeedbackWriteThrottle(UserRateThrottle):
    """Writes per user (token or session): FEEDBACK_API_RATE, default 120/min."""

    scope = "feedback_write"

    def get_rate(self):
        return getattr(settings, "FEEDBACK_API_RATE", "120/min")

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class LinkSerializer(serializers.ModelSerializer):
    roadmap_item_title = serializers.CharField(source="roadmap_item.title", read_only=True)

    class Meta:
        model = FeedbackLink
        fields = ["id", "roadmap_item", "roadmap_item_title", "importance", "created_at"]


class FeedbackSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = serializers.SerializerMethodField()
    links = LinkSerializer(many=True, read_only=True)
    # Not an EmailField: it is empty when the stakeholder gave none, which `format: email` would refuse.
    stakeholder_email = serializers.CharField(read_only=True, help_text="E-mail address; empty when none was given.")

    class Meta:
        model = Feedback
        fields = ["id", "product", "text", "channel", "stakeholder_name", "stakeholder_email", "organisation",
                  "segment", "rating", "tags", "status", "received_at", "sentiment", "sentiment_label",
                  "duplicate_of", "links", "created_at", "updated_at"]
        read_only_fields = fields

    def get_tags(self, obj) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class FeedbackInputSerializer(serializers.Serializer):
    """Shape of one piece of feedback; the service checks the content and owns the messages."""

    product = serializers.SlugField(help_text="Slug of the product (you must be a member).")
    text = serializers.CharField(help_text="The feedback itself, up to 10,000 characters.", trim_whitespace=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Default: api.")
    stakeholder_name = serializers.CharField(required=False, allow_blank=True)
    stakeholder_email = serializers.CharField(required=False, allow_blank=True)
    organisation = serializers.CharField(required=False, allow_blank=True)
    segment = serializers.ChoiceField(choices=Segment.choices, required=False)
    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    status = serializers.ChoiceField(choices=Feedback.Status.choices, required=False, help_text="PMs only.")
    received_at = serializers.DateTimeField(required=False)


class FeedbackUpdateSerializer(serializers.Serializer):
    text = serializers.CharField(required=False)
    channel = serializers.CharField(required=False)
    stakeholder_name = serializers.CharField(required=False, allow_blank=True)
    stakeholder_email = serializers.CharField(required=False, allow_blank=True)
    organisation = serializers.CharField(required=False, allow_blank=True)
    segment = serializers.CharField(required=False)
    rating = serializers.IntegerField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    status = serializers.CharField(required=False)
    received_at = serializers.CharField(required=False)


class LinkInputSerializer(serializers.Serializer):
    roadmap_item = serializers.IntegerField()
    importance = serializers.IntegerField(required=False, default=1)


class FeedbackFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")
    tag = filters.CharFilter(field_name="tags__name", distinct=True)
    q = filters.CharFilter(method="search", label="Text search")
    received_after = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    sentiment = filters.ChoiceFilter(field_name="sentiment_label", choices=Sentiment.choices)

    class Meta:
        model = Feedback
        fields = ["product", "status", "channel", "segment", "sentiment", "tag"]

    def search(self, queryset, name, value):
        return selectors.text_search(queryset, value)


def _products_by_slug(user, slugs) -> dict[str, Product]:
    return {p.slug: p for p in product_list_for_user(user=user).filter(slug__in=set(slugs))}


def _raw_item(data) -> dict:
    """The fields a caller sent (no defaults added), for the service to check."""
    return {k: v for k, v in data.items()}


class FeedbackViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                      viewsets.GenericViewSet):
    """Stakeholders' feedback of the products you are a member of.

    `POST` one object to create one piece, or a list (up to 1,000) to create many at
    once: a bulk request is validated whole, and one bad item stores nothing (errors
    are keyed `items[i].field`). Any member may give feedback; triage (PATCH status,
    tags, links) is the product manager's.
    """

    serializer_class = FeedbackSerializer
    permission_classes = [ProductRolePermission]
    throttle_classes = [FeedbackWriteThrottle]
    filterset_class = FeedbackFilter
    ordering_fields = ["received_at", "sentiment", "rating", "created_at"]
    ordering = ["-received_at", "-id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Feedback.objects.none()
        return (selectors.feedback_list_for_user(user=self.request.user)
                .select_related("product").prefetch_related("tags", "links__roadmap_item"))

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    @extend_schema(
        request=FeedbackInputSerializer,
        responses={201: FeedbackSerializer},
        examples=[
            OpenApiExample("One piece", value={"product": "smart-reply", "text": "Suggestions are too formal for chat.",
                                               "channel": "support", "stakeholder_email": "kim@acme.example",
                                               "organisation": "Acme", "tags": ["tone"]}),
            OpenApiExample("Bulk", value=[{"product": "smart-reply", "text": "Love it"},
                                          {"product": "smart-reply", "text": "Too slow", "rating": 2}]),
        ],
    )
    def create(self, request, *args, **kwargs):
        payload = request.data
        if isinstance(payload, list):
            return self._create_bulk(payload)
        if not isinstance(payload, dict):
            raise DRFValidationError({"non_field_errors": ["Send one feedback object or a list of them."]})
        data = _raw_item(payload)
        slug = data.pop("product", None)
        product = _products_by_slug(request.user, [slug]).get(slug) if isinstance(slug, str) else None
        if product is None:
            raise DRFValidationError({"product": ["No product with this slug that you can see."]})
        data.setdefault("channel", Channel.API)
        feedback = services.feedback_create(actor=request.user, product=product, **data)
        return Response(FeedbackSerializer(self._reload(feedback.pk)).data, status=status.HTTP_201_CREATED)

    def _create_bulk(self, payload: list):
        slugs = [i.get("product") for i in payload if isinstance(i, dict) and isinstance(i.get("product"), str)]
        products = _products_by_slug(self.request.user, slugs)
        items = []
        for item in payload:
            if isinstance(item, dict):
                item = _raw_item(item)
                slug = item.get("product")
                item["product"] = products.get(slug) if isinstance(slug, str) else None
                item.setdefault("channel", Channel.API)
            items.append(item)
        created = services.feedback_bulk_create(actor=self.request.user, items=items)
        return Response({"created": len(created), "ids": [f.pk for f in created]}, status=status.HTTP_201_CREATED)

    def _reload(self, pk):
        return self.get_queryset().get(pk=pk)

    @extend_schema(request=FeedbackUpdateSerializer, responses=FeedbackSerializer)
    def partial_update(self, request, *args, **kwargs):
        feedback = self.get_object()
        if not isinstance(request.data, dict):
            raise DRFValidationError({"non_field_errors": ["Send an object of fields to change."]})
        services.feedback_update(actor=request.user, feedback=feedback, **_raw_item(request.data))
        return Response(FeedbackSerializer(self._reload(feedback.pk)).data)

    def perform_destroy(self, instance):
        services.feedback_delete(actor=self.request.user, feedback=instance)

    @extend_schema(request=LinkInputSerializer, responses={201: LinkSerializer})
    @action(detail=True, methods=["post"], url_path="links")
    def link(self, request, pk=None):
        """Link this feedback to a roadmap item of its product with an importance 0–3 (PM)."""
        feedback = self.get_object()
        serializer = LinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = RoadmapItem.objects.filter(pk=serializer.validated_data["roadmap_item"], product=feedback.product).first()
        link = services.feedback_link(actor=request.user, feedback=feedback, roadmap_item=item,
                                      importance=serializer.validated_data["importance"])
        return Response(LinkSerializer(link).data, status=status.HTTP_201_CREATED)


def register(router):
    router.register("feedback", FeedbackViewSet, basename="feedback")


class _FeedbackNoSlash(FeedbackViewSet):
    schema = None  # the same endpoint as /api/v1/feedback/, documented once


def extra_urls():
    """`/api/v1/feedback` without the trailing slash as well, as support tools call it."""
    from django.urls import path

    return [path("feedback", _FeedbackNoSlash.as_view({"get": "list", "post": "create"}), name="feedback-list-noslash")]

