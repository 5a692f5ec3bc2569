"""REST API of feedback themes: `/api/v1/feedback-themes/` (list, read, rename by PATCH) and
the PM's actions: merge, split, dismiss, restore, link and unlink a roadmap item, move a
piece of feedback, regroup a product, and search a product's feedback by meaning.

Viewers read; product managers act; another product's themes answer 404."""
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from pmhub.permissions import ProductRolePermission, require
from pmhub.roles import Action
from products.roadmap.models import RoadmapItem
from products.selectors import product_list_for_user

from ..models import Feedback
from . import selectors, services
from .models import Theme, ThemeLink


class ThemeLinkSerializer(serializers.ModelSerializer):
    roadmap_item_title = serializers.CharField(source="roadmap_item.title", read_only=True)

    class Meta:
        model = ThemeLink
        fields = ["roadmap_item", "roadmap_item_title", "importance", "created_at"]
        read_only_fields = fields


class ThemeSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    size = serializers.IntegerField(read_only=True, help_text="Pieces of feedback in the theme.")
    sentiment = serializers.SerializerMethodField(help_text="Pieces per sentiment label.")
    quote = serializers.SerializerMethodField(help_text="The piece closest to the theme's centre.")
    roadmap_links = ThemeLinkSerializer(many=True, read_only=True)

    class Meta:
        model = Theme
        fields = ["id", "product", "label", "label_pinned", "keywords", "quote", "size", "sentiment", "status",
                  "locked", "roadmap_links", "created_at", "updated_at"]
        read_only_fields = fields

    def get_sentiment(self, obj) -> dict[str, int]:
        return {"positive": getattr(obj, "positive", 0), "neutral": getattr(obj, "neutral", 0),
                "negative": getattr(obj, "negative", 0)}

    def get_quote(self, obj) -> dict | None:
        if obj.quote is None:
            return None
        return {"feedback": obj.quote_id, "text": obj.quote.text}


class ThemeFeedbackSerializer(serializers.ModelSerializer):
    similarity = serializers.FloatField(source="theme_assignment.similarity", read_only=True)
    pinned = serializers.BooleanField(source="theme_assignment.pinned", read_only=True,
                                      help_text="Placed in this theme by the PM.")
    likely_duplicate_of = serializers.IntegerField(source="theme_assignment.likely_duplicate_of_id", read_only=True,
                                                   allow_null=True)

    class Meta:
        model = Feedback
        fields = ["id", "text", "channel", "stakeholder_name", "organisation", "segment", "sentiment",
                  "sentiment_label", "received_at", "similarity", "pinned", "likely_duplicate_of"]
        read_only_fields = fields


class RenameSerializer(serializers.Serializer):
    label = serializers.CharField(allow_blank=True, trim_whitespace=False)


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(help_text="The theme (same product) this one is merged into.")


class ThemeLinkInputSerializer(serializers.Serializer):
    roadmap_item = serializers.IntegerField()
    importance = serializers.IntegerField(required=False, default=1, help_text="0 to 3.")


class MoveSerializer(serializers.Serializer):
    feedback = serializers.IntegerField()
    theme = serializers.IntegerField(allow_null=True, help_text="Target theme of the same product; null: no theme.")


class RegroupInputSerializer(serializers.Serializer):
    product = serializers.SlugField()


def _visible_product(request, slug, action=Action.VIEW):
    product = product_list_for_user(user=request.user).filter(slug=slug).first() if isinstance(slug, str) else None
    if product is None:
        raise DRFValidationError({"product": ["No product with this slug that you can see."]})
    require(request.user, product, action)
    return product


class ThemeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Feedback themes of the products you are a member of (filter with `?product=<slug>`,
    `?status=active|dismissed`). PATCH `label` renames (kept by later groupings)."""

    serializer_class = ThemeSerializer
    permission_classes = [ProductRolePermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = []
    ordering_fields = ["label", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Theme.objects.none()
        qs = selectors._with_figures(selectors.theme_list_for_user(user=self.request.user)).select_related("product")
        if self.action == "list":
            slug = self.request.query_params.get("product")
            if slug:
                qs = qs.filter(product__slug=slug)
            status_ = self.request.query_params.get("status")
            if status_ in Theme.Status.values:
                qs = qs.filter(status=status_)
        return qs.order_by("-size", "label", "id")

    @extend_schema(parameters=[
        OpenApiParameter("product", str, description="Product slug."),
        OpenApiParameter("status", str, enum=Theme.Status.values),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _reload(self, theme):
        return self.get_queryset().get(pk=theme.pk)

    @extend_schema(request=RenameSerializer, responses=ThemeSerializer)
    def partial_update(self, request, *args, **kwargs):
        theme = self.get_object()
        data = RenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.theme_rename(actor=request.user, theme=theme, label=data.validated_data["label"])
        return Response(ThemeSerializer(self._reload(theme)).data)

    @extend_schema(request=MergeSerializer, responses=ThemeSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this theme into `into`; answers the merged theme (this one is gone)."""
        source = self.get_object()
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = Theme.objects.filter(pk=data.validated_data["into"], product=source.product).first()
        if target is None:
            raise DRFValidationError({"into": ["Choose a theme of the same product."]})
        services.theme_merge(actor=request.user, source=source, target=target)
        return Response(ThemeSerializer(self._reload(target)).data)

    @extend_schema(request=None, responses={201: ThemeSerializer})
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        """Split this theme in two by its text; answers the new theme."""
        theme = self.get_object()
        new = services.theme_split(actor=request.user, theme=theme)
        return Response(ThemeSerializer(self._reload(new)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ThemeSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        theme = self.get_object()
        services.theme_set_dismissed(actor=request.user, theme=theme, dismissed=True)
        return Response(ThemeSerializer(self._reload(theme)).data)

    @extend_schema(request=None, responses=ThemeSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        theme = self.get_object()
        services.theme_set_dismissed(actor=request.user, theme=theme, dismissed=False)
        return Response(ThemeSerializer(self._reload(theme)).data)

    @extend_schema(request=ThemeLinkInputSerializer, responses={201: ThemeLinkSerializer})
    @action(detail=True, methods=["post"], url_path="links")
    def link(self, request, pk=None):
        """Link the whole theme to a roadmap item: its feedback counts toward the item's demand."""
        theme = self.get_object()
        data = ThemeLinkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = RoadmapItem.objects.filter(pk=data.validated_data["roadmap_item"], product=theme.product).first()
        link = services.theme_link(actor=request.user, theme=theme, roadmap_item=item,
                                   importance=data.validated_data["importance"])
        return Response(ThemeLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"links/(?P<item_id>\d+)")
    def unlink(self, request, pk=None, item_id=None):
        theme = self.get_object()
        item = RoadmapItem.objects.filter(pk=item_id, product=theme.product).first()
        if item is None:
            raise Http404("No such roadmap item.")
        services.theme_unlink(actor=request.user, theme=theme, roadmap_item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=ThemeFeedbackSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="feedback")
    def feedback(self, request, pk=None):
        """The theme's feedback, the most typical first (paginated)."""
        theme = self.get_object()
        page = self.paginate_queryset(selectors.theme_feedback(theme=theme))
        return self.get_paginated_response(ThemeFeedbackSerializer(page, many=True).data)

    @extend_schema(request=MoveSerializer, responses=ThemeFeedbackSerializer)
    @action(detail=False, methods=["post"])
    def move(self, request):
        """Move a piece of feedback to another theme (or none); later groupings keep it there."""
        data = MoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visible = product_list_for_user(user=request.user)
        feedback = Feedback.objects.filter(pk=data.validated_data["feedback"], product__in=visible).select_related(
            "product").first()
        if feedback is None:  # named in the body, like a product slug: a field error, not a 404
            raise DRFValidationError({"feedback": ["No feedback with this id that you can see."]})
        require(request.user, feedback.product, Action.EDIT)
        theme = None
        if data.validated_data["theme"] is not None:
            theme = Theme.objects.filter(pk=data.validated_data["theme"], product=feedback.product).first()
            if theme is None:
                raise DRFValidationError({"theme": ["Choose a theme of the same product."]})
        services.feedback_move(actor=request.user, feedback=feedback, theme=theme)
        return Response(ThemeFeedbackSerializer(Feedback.objects.select_related("theme_assignment").get(
            pk=feedback.pk)).data)

    @extend_schema(request=RegroupInputSerializer, responses={202: inline_serializer(
        "RegroupQueued", {"product": serializers.SlugField(), "run_state": serializers.CharField()})})
    @action(detail=False, methods=["post"])
    def regroup(self, request):
        """Queue a grouping run of a product's feedback (PM)."""
        data = RegroupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = _visible_product(request, data.validated_data["product"], Action.EDIT)
        state = services.themes_regroup_request(actor=request.user, product=product)
        return Response({"product": product.slug, "run_state": state.run_state}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("product", str, required=True), OpenApiParameter("q", str, required=True)],
        responses=inline_serializer("MeaningSearch", {"results": inline_serializer("MeaningHit", {
            "feedback": serializers.IntegerField(), "similarity": serializers.FloatField(),
            "text": serializers.CharField()}, many=True)}))
    @action(detail=False, methods=["get"])
    def search(self, request):
        """Search a product's feedback by meaning (closest first, at most 100)."""
        product = _visible_product(request, request.query_params.get("product"))
        q = (request.query_params.get("q") or "").strip()
        if not q:
            raise DRFValidationError({"q": ["Say what to look for."]})
        hits = selectors.semantic_search(product=product, query=q)
        texts = dict(Feedback.objects.filter(pk__in=[h[0] for h in hits]).values_list("pk", "text"))
        return Response({"results": [{"feedback": pk, "similarity": round(sim, 4), "text": texts.get(pk, "")}
                                     for pk, sim in hits]})


def register(router):
    router.register("feedback-themes", ThemeViewSet, basename="feedback-theme")
