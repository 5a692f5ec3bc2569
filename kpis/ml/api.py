"""REST API for AI models, versions, their metrics and promotions.

/api/v1/models/                         list, create (product slug, name, task, primary metric...)
/api/v1/models/{id}/                    read, update, delete
/api/v1/models/{id}/versions/           list, create versions of one model
/api/v1/model-versions/                 list (filter product, model, model_name, version, stage), create
/api/v1/model-versions/{id}/            read, update notes and params
/api/v1/model-versions/{id}/metrics/    POST a batch (<= 10,000 entries); GET keys with final values,
                                        or one key's history (?key=, raw or bucketed)
/api/v1/model-versions/{id}/promote/    POST: make it the production version
/api/v1/model-versions/{id}/stage/      POST: move to development, staging or archived
"""
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Max, Min
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response

from kpis.ml import selectors, services
from kpis.ml.models import AIModel, ModelVersion
from kpis.timeseries.models import Point
from kpis.timeseries.selectors import BUCKETS, bucket_seconds_for, series_buckets
from pmhub.api import error_response
from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action
from products.selectors import product_list_for_user


# --- serializers --------------------------------------------------------------------------


class AIModelSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    production_version = serializers.CharField(read_only=True, allow_null=True,
                                               help_text="Label of the version in production, if any.")

    class Meta:
        model = AIModel
        fields = ["id", "product", "name", "task", "description", "primary_metric", "higher_is_better",
                  "production_version", "created_at", "updated_at"]
        read_only_fields = fields


class AIModelInSerializer(serializers.Serializer):
    product = serializers.CharField(help_text="Slug of the product.")
    name = serializers.CharField(max_length=120)
    task = serializers.ChoiceField(choices=AIModel.Task.choices, default=AIModel.Task.OTHER)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    primary_metric = serializers.CharField(required=False, allow_blank=True, default="", max_length=250)
    higher_is_better = serializers.BooleanField(required=False, default=True)


class AIModelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    task = serializers.ChoiceField(choices=AIModel.Task.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    primary_metric = serializers.CharField(required=False, allow_blank=True, max_length=250)
    higher_is_better = serializers.BooleanField(required=False)


class ModelVersionSerializer(serializers.ModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)
    product = serializers.CharField(source="model.product.slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = ModelVersion
        fields = ["id", "model", "model_name", "product", "version", "stage", "params", "notes", "created_by",
                  "created_at", "stage_changed_at"]
        read_only_fields = fields


class ModelVersionInSerializer(serializers.Serializer):
    model = serializers.IntegerField(required=False, help_text="Id of the model (not needed under /models/{id}/versions/).")
    version = serializers.CharField(max_length=64)
    params = serializers.JSONField(required=False, default=dict)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    stage = serializers.ChoiceField(choices=[ModelVersion.Stage.DEVELOPMENT, ModelVersion.Stage.STAGING],
                                    default=ModelVersion.Stage.DEVELOPMENT)


class ModelVersionUpdateSerializer(serializers.Serializer):
    params = serializers.JSONField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class KpiFeedSerializer(serializers.Serializer):
    kpi = serializers.IntegerField(help_text="Id of a KPI of category model in the model's product.")
    metric_key = serializers.CharField(allow_blank=True, max_length=250, help_text="Empty: stop following.")


class PromoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    expected_production = serializers.CharField(
        required=False, allow_null=True, allow_blank=True,
        help_text="Label of the version you expect in production now (null: none). If another promotion "
                  "changed it meanwhile, the request is refused with 409 and nothing changes.",
    )


class StageSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=ModelVersion.Stage.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class MetricEntrySerializer(serializers.Serializer):
    """Documentation only: ingest validates entries itself (kpis.ml.services.metric_entries_validate)."""

    key = serializers.CharField(max_length=250)
    value = serializers.FloatField()
    step = serializers.IntegerField(required=False, help_text="0 when absent.")
    ts = serializers.DateTimeField(required=False, help_text="ISO 8601 or epoch seconds; the request's time when "
                                                             "absent (send it, so a retried request duplicates nothing).")


class MetricsInSerializer(serializers.Serializer):
    metrics = MetricEntrySerializer(many=True)


# --- filters ----------------------------------------------------------------------------------


class AIModelFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")

    class Meta:
        model = AIModel
        fields = {"name": ["exact", "icontains"], "task": ["exact"]}


class ModelVersionFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="model__product__slug")
    model_name = filters.CharFilter(field_name="model__name")

    class Meta:
        model = ModelVersion
        fields = {"model": ["exact"], "version": ["exact"], "stage": ["exact"]}


# --- views ---------------------------------------------------------------------------------


class AIModelViewSet(viewsets.ModelViewSet):
    """AI models of the products you may see. Data scientists and PMs create and change them."""

    permission_classes = [ProductRolePermission]
    filterset_class = AIModelFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.TRACK

    def get_queryset(self):
        return selectors.aimodel_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return AIModelInSerializer
        if self.action == "partial_update":
            return AIModelUpdateSerializer
        return AIModelSerializer

    @extend_schema(request=AIModelInSerializer, responses={201: AIModelSerializer})
    def create(self, request, *args, **kwargs):
        data = AIModelInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        product = product_list_for_user(user=request.user).filter(slug=fields.pop("product")).first()
        if product is None:
            raise DjangoValidationError({"product": ["No product with this slug that you may see."]})
        model = services.aimodel_create(actor=request.user, product=product, **fields)
        model = self.get_queryset().get(pk=model.pk)
        return Response(AIModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AIModelUpdateSerializer, responses=AIModelSerializer)
    def partial_update(self, request, *args, **kwargs):
        model = self.get_object()
        data = AIModelUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.aimodel_update(actor=request.user, model=model, **data.validated_data)
        return Response(AIModelSerializer(self.get_queryset().get(pk=model.pk)).data)

    def perform_destroy(self, instance):
        services.aimodel_delete(actor=self.request.user, model=instance)

    @extend_schema(methods=["GET"], responses=ModelVersionSerializer(many=True))
    @extend_schema(methods=["POST"], request=ModelVersionInSerializer, responses={201: ModelVersionSerializer})
    @action(detail=True, methods=["get", "post"], url_path="versions")
    def versions(self, request, pk=None):
        """The versions of this model (GET), or a new version (POST)."""
        model = self.get_object() if request.method == "GET" else self._model_for_write()
        if request.method == "GET":
            qs = selectors.model_version_list_for_user(user=request.user, model=model)
            page = self.paginate_queryset(qs)
            return self.get_paginated_response(ModelVersionSerializer(page, many=True).data)
        return _version_create(request, model)

    @extend_schema(request=KpiFeedSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="kpi-feed")
    def kpi_feed(self, request, pk=None):
        """Make a KPI (category model) of this product follow this model's production value of
        metric_key; an empty metric_key stops it. Product managers only."""
        from kpis.models import KPI

        model = self._model_for_write()
        data = KpiFeedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kpi = KPI.objects.filter(product_id=model.product_id, pk=data.validated_data["kpi"]).first()
        if kpi is None:
            raise DjangoValidationError({"kpi": ["No KPI with this id in the model's product."]})
        key = data.validated_data["metric_key"]
        feed = services.kpi_model_feed_set(actor=request.user, kpi=kpi, model=model if key else None, metric_key=key)
        return Response({"kpi": kpi.pk, "model": model.pk if feed else None, "metric_key": feed.metric_key if feed else None})

    def _model_for_write(self):
        # The service checks the role (403 for viewers); visibility is the queryset's (404).
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


def _version_create(request, model):
    data = ModelVersionInSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    fields = dict(data.validated_data)
    named = fields.pop("model", None)
    if named is not None and named != model.pk:
        # /models/{id}/versions/ with another model in the body: refuse rather than guess which was meant.
        raise DjangoValidationError({"model": ["Leave model out, or give the id of the model in the URL."]})
    mv = services.model_version_create(actor=request.user, model=model, **fields)
    mv = ModelVersion.objects.select_related("model__product", "created_by").get(pk=mv.pk)
    return Response(ModelVersionSerializer(mv).data, status=status.HTTP_201_CREATED)


class ModelVersionViewSet(viewsets.ModelViewSet):
    """Versions of AI models, their metrics, promotion to production and other stage changes."""

    permission_classes = [ProductRolePermission]
    write_action = Action.TRACK
    filterset_class = ModelVersionFilter
    ordering_fields = ["created_at", "version"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.model_version_list_for_user(user=self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return ModelVersionInSerializer
        if self.action == "partial_update":
            return ModelVersionUpdateSerializer
        return ModelVersionSerializer

    def _version_for_write(self) -> ModelVersion:
        # Visibility here (404); the service checks the role (403 for viewers).
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(request=ModelVersionInSerializer, responses={201: ModelVersionSerializer})
    def create(self, request, *args, **kwargs):
        model_id = request.data.get("model") if hasattr(request.data, "get") else None
        try:
            model = selectors.aimodel_get_for_user(user=request.user, pk=int(model_id))
        except (TypeError, ValueError, AIModel.DoesNotExist):
            raise DjangoValidationError({"model": ["No model with this id that you may see."]}) from None
        return _version_create(request, model)

    @extend_schema(request=ModelVersionUpdateSerializer, responses=ModelVersionSerializer)
    def partial_update(self, request, *args, **kwargs):
        mv = self._version_for_write()
        data = ModelVersionUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.model_version_update(actor=request.user, version=mv, **data.validated_data)
        return Response(ModelVersionSerializer(self.get_queryset().get(pk=mv.pk)).data)

    @extend_schema(request=PromoteSerializer, responses={200: ModelVersionSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def promote(self, request, pk=None):
        """Make this version the production version; the previous one is archived (one transaction)."""
        mv = self._version_for_write()
        data = PromoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expected = "any"
        if "expected_production" in data.validated_data:
            label = data.validated_data["expected_production"]
            if label:
                expected = ModelVersion.objects.filter(model_id=mv.model_id, version=label).first()
                if expected is None:
                    raise DjangoValidationError({"expected_production": [f"No version '{label}' of this model."]})
            else:
                expected = None
        try:
            mv = services.model_version_promote(actor=request.user, version=mv, note=data.validated_data["note"],
                                                expected_production=expected)
        except services.PromotionConflict as exc:
            return error_response(str(exc), status_code=status.HTTP_409_CONFLICT)
        return Response(ModelVersionSerializer(self.get_queryset().get(pk=mv.pk)).data)

    @extend_schema(request=StageSerializer, responses=ModelVersionSerializer)
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        """Move this version to another stage (production: same as promote)."""
        mv = self._version_for_write()
        data = StageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            mv = services.model_version_stage_set(actor=request.user, version=mv, **data.validated_data)
        except services.PromotionConflict as exc:
            return error_response(str(exc), status_code=status.HTTP_409_CONFLICT)
        return Response(ModelVersionSerializer(self.get_queryset().get(pk=mv.pk)).data)

    @extend_schema(
        methods=["POST"], request=MetricsInSerializer,
        responses={201: inline_serializer("MetricsStored", fields={"stored": serializers.IntegerField()})},
        description="Log up to 10,000 metric entries in one request, validated whole: one bad entry and "
                    "nothing is stored; errors name the entry, e.g. `metrics[12].value`. Idempotent on "
                    "(key, step, ts): a retried request duplicates nothing when it carries its timestamps.",
    )
    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("key", str, description="A metric key: return its history instead of the key list."),
            OpenApiParameter("bucket", str, description="raw (default), steps (avg/min/max over step ranges), "
                                                        f"auto or a time bucket: {', '.join(BUCKETS)}."),
            OpenApiParameter("max_points", int, description="Step buckets: at most this many (default 1000)."),
            OpenApiParameter("limit", int, description="Raw: at most this many points (default and max 10000)."),
            OpenApiParameter("start_step", int, description="Raw: from this step on (to page through long runs)."),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get", "post"])
    def metrics(self, request, pk=None):
        """POST: log metrics in bulk. GET: the version's metric keys with final values, or one key's history."""
        mv = self._version_for_write()
        if request.method == "POST":
            entries = request.data.get("metrics") if isinstance(request.data, dict) else request.data
            stored = services.model_metrics_log(actor=request.user, version=mv, entries=entries)
            return Response({"stored": stored}, status=status.HTTP_201_CREATED)
        key = request.query_params.get("key")
        if not key:
            values = selectors.final_values(version_ids=[mv.pk])
            return Response({"version": mv.pk, "metrics": [
                {"key": k, "value": fv.value, "step": fv.step, "ts": fv.ts}
                for (_, k), fv in sorted(values.items(), key=lambda item: item[0][1])
            ]})
        return Response(_history(mv, key, request.query_params))


def _int_param(params, name, default, lo, hi):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DjangoValidationError({name: ["Must be an integer."]}) from None
    if not lo <= value <= hi:
        raise DjangoValidationError({name: [f"Must lie between {lo} and {hi}."]})
    return value


def _history(mv: ModelVersion, key: str, params) -> dict:
    series_id = selectors.metric_series_id(version=mv, key=key)
    if series_id is None:
        raise Http404(f"Version {mv.version} has no metric '{key}'.")
    bucket = params.get("bucket", "raw")
    out = {"version": mv.pk, "key": key, "bucket": bucket}
    if bucket == "raw":
        limit = _int_param(params, "limit", 10_000, 1, 10_000)
        start_step = params.get("start_step")
        start_step = _int_param(params, "start_step", None, -(2**63), 2**63 - 1) if start_step else None
        rows = selectors.metric_history_raw(series_id=series_id, limit=limit + 1, start_step=start_step)
        out["truncated"] = len(rows) > limit
        out["points"] = [{"step": s, "ts": ts, "value": v} for s, ts, v in rows[:limit]]
    elif bucket == "steps":
        max_points = _int_param(params, "max_points", selectors.CURVE_MAX_POINTS, 1, 10_000)
        out["points"] = [{"step": b.step, "avg": b.avg, "min": b.min, "max": b.max, "count": b.count}
                         for b in selectors.metric_step_buckets(series_id=series_id, max_points=max_points)]
    elif bucket == "auto" or bucket in BUCKETS:
        bounds = Point.objects.filter(series_id=series_id).aggregate(start=Min("ts"), end=Max("ts"))
        if bounds["start"] is None:
            out["points"] = []
            return out
        start, end = bounds["start"], bounds["end"] + timedelta(seconds=1)
        seconds = bucket_seconds_for(start=start, end=end) if bucket == "auto" else BUCKETS[bucket]
        out["bucket_seconds"] = seconds
        out["points"] = [{"ts": b.ts, "avg": b.avg, "min": b.min, "max": b.max, "count": b.count, "last": b.last}
                         for b in series_buckets(series_id=series_id, start=start, end=end, bucket_seconds=seconds)]
    else:
        raise DjangoValidationError({"bucket": [f"Choose raw, steps, auto or one of {', '.join(BUCKETS)}."]})
    return out


def register(router):
    router.register("models", AIModelViewSet, basename="aimodel")
    router.register("model-versions", ModelVersionViewSet, basename="modelversion")
