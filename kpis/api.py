"""REST API for KPIs: definitions (CRUD), bulk point ingest and series reads, alerts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from pmhub import jsonbody, limits
from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action
from products.roadmap.models import RoadmapItem
from products.selectors import product_list_for_user

from . import selectors
from kpis.models import KPI, Alert, Objective
from kpis.timeseries.models import Series
from .selectors.kpis import kpi_by_ref_for_user, kpi_by_ref_for_write
from .selectors.status import kpi_status
from kpis.timeseries.selectors import (
    BUCKETS,
    MAX_CHART_POINTS,
    bucket_seconds_for,
    series_buckets,
    series_points,
)
from .services import kpis as services

MAX_RAW_POINTS = 100_000
AGGREGATES = ("avg", "min", "max", "sum", "last", "count")


class KPISerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=KPI.product.field.related_model.objects.all())
    objective = serializers.PrimaryKeyRelatedField(queryset=Objective.objects.all(), required=False, allow_null=True)
    roadmap_items = serializers.PrimaryKeyRelatedField(queryset=RoadmapItem.objects.all(), many=True, required=False)
    latest_value = serializers.FloatField(read_only=True, allow_null=True)
    latest_ts = serializers.DateTimeField(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()
    key = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    target = limits.value_serializer_field(required=False, allow_null=True)
    warning_threshold = limits.value_serializer_field(required=False, allow_null=True)
    critical_threshold = limits.value_serializer_field(required=False, allow_null=True)

    class Meta:
        model = KPI
        fields = ["id", "product", "key", "name", "description", "unit", "category", "direction", "target",
                  "warning_threshold", "critical_threshold", "pending_minutes", "headline", "objective",
                  "roadmap_items", "latest_value", "latest_ts", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "latest_value", "latest_ts", "status", "created_at", "updated_at"]
        validators = []  # the key's uniqueness is the service's rule (it slugifies first)

    def get_status(self, obj) -> str:
        return kpi_status(obj, getattr(obj, "latest_value", None))


class KPIFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")

    class Meta:
        model = KPI
        fields = {"key": ["exact"], "category": ["exact"], "headline": ["exact"]}


class KPIViewSet(viewsets.ModelViewSet):
    """KPIs of the products you may see. Product managers create and edit them;
    deleting needs the manage right. `status` follows from the latest point."""

    serializer_class = KPISerializer
    permission_classes = [ProductRolePermission]
    filterset_class = KPIFilter
    search_fields = ["name", "key", "description"]
    ordering_fields = ["name", "key", "created_at"]

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KPI.objects.none()
        return selectors.kpis.kpi_list_for_user(user=self.request.user).prefetch_related("roadmap_items")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        product = data.pop("product")
        if not product_list_for_user(user=self.request.user).filter(pk=product.pk).exists():
            raise ValidationError({"product": ["No such product."]})
        serializer.instance = services.kpi_create(actor=self.request.user, product=product, **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        product = data.pop("product", None)
        if product is not None and product.pk != serializer.instance.product_id:
            raise ValidationError({"product": ["A KPI cannot move to another product."]})
        serializer.instance = services.kpi_update(actor=self.request.user, kpi=serializer.instance, **data)

    def perform_destroy(self, instance):
        services.kpi_delete(actor=self.request.user, kpi=instance)


def _parse_when(raw: str | None, name: str):
    if not raw:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), tz=dt_timezone.utc)
        value = datetime.fromisoformat(raw.replace(" ", "+") if raw.count(":") and " " in raw else raw)
    except (ValueError, OverflowError):
        raise ValidationError({name: ["Give an ISO 8601 timestamp (or a date, or Unix seconds)."]}) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    try:
        # In UTC: PostgreSQL refuses offsets past ±15:59 that Python parses (found by the API fuzz test).
        return value.astimezone(dt_timezone.utc)
    except OverflowError:
        raise ValidationError({name: ["That timestamp is out of range."]}) from None


POINTS_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Start (inclusive); default: 30 days before `to`."),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="End (exclusive); default: now."),
    OpenApiParameter("bucket", OpenApiTypes.STR, enum=["auto", "raw", *BUCKETS],
                     description="auto picks the smallest bucket giving at most 1,000 points; raw returns points."),
    OpenApiParameter("agg", OpenApiTypes.STR, enum=list(AGGREGATES), description="Value per bucket (default avg)."),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"Raw points at most (default and max {MAX_RAW_POINTS:,})."),
]


class KPIPointsView(APIView):
    """A KPI's points: POST up to 10,000 at once (idempotent upsert on ts), GET raw or bucketed.

    Address a KPI by id (`/kpis/42/points`) or by product slug and key
    (`/kpis/smart-reply/csat/points`). Writing needs the track right on its product
    (product managers and data scientists).
    """

    permission_classes = [ProductRolePermission]

    def get_kpi(self) -> KPI:
        try:
            return kpi_by_ref_for_user(user=self.request.user, ref=self.kwargs.get("pk") or self.kwargs["product"],
                                       key=self.kwargs.get("key"))
        except (KPI.DoesNotExist, ValueError):
            raise Http404("No such KPI.") from None

    @extend_schema(
        request=inline_serializer("PointsIn", {"points": serializers.ListField(child=inline_serializer(
            "PointIn", {"ts": serializers.DateTimeField(), "value": serializers.FloatField()}))}),
        responses={200: inline_serializer("PointsStored", {"kpi": serializers.IntegerField(),
                                                            "stored": serializers.IntegerField()})},
    )
    def post(self, request, *args, **kwargs):
        try:
            kpi = kpi_by_ref_for_write(user=request.user, ref=self.kwargs.get("pk") or self.kwargs["product"],
                                       key=self.kwargs.get("key"), action=Action.TRACK)
        except (KPI.DoesNotExist, ValueError):
            raise Http404("No such KPI.") from None
        try:
            body = jsonbody.loads(request.body or b"null")  # NaN and Infinity parse to floats: points_parse reports them
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError({"non_field_errors": [f"The body is not valid JSON: {exc}"]}) from None
        items = body.get("points") if isinstance(body, dict) else body
        points = services.points_parse(items)
        try:
            stored = services.kpi_points_ingest(kpi=kpi, points=points, actor=request.user)
        except Series.DoesNotExist:  # the KPI was deleted while this request waited
            raise Http404("No such KPI.") from None
        return Response({"kpi": kpi.pk, "stored": stored}, status=status.HTTP_200_OK)

    @extend_schema(parameters=POINTS_PARAMS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, *args, **kwargs):
        kpi = self.get_kpi()
        params = request.query_params
        end = _parse_when(params.get("to"), "to") or timezone.now()
        try:
            start = _parse_when(params.get("from"), "from") or end - timedelta(days=30)
        except OverflowError:
            raise ValidationError({"to": ["That timestamp is out of range."]}) from None
        if start >= end:
            raise ValidationError({"from": ["`from` must come before `to`."]})
        bucket = params.get("bucket") or "auto"
        agg = params.get("agg") or "avg"
        if bucket not in ("auto", "raw", *BUCKETS):
            raise ValidationError({"bucket": [f"Choose auto, raw or one of {', '.join(BUCKETS)}."]})
        if agg not in AGGREGATES:
            raise ValidationError({"agg": [f"Choose one of {', '.join(AGGREGATES)}."]})
        head = {"kpi": kpi.pk, "key": kpi.key, "unit": kpi.unit, "from": start.isoformat(), "to": end.isoformat()}
        if bucket == "raw":
            try:
                limit = min(int(params.get("limit") or MAX_RAW_POINTS), MAX_RAW_POINTS)
            except ValueError:
                raise ValidationError({"limit": ["Give a whole number."]}) from None
            rows = series_points(series_id=kpi.series_id, start=start, end=end, limit=limit + 1)
            truncated = len(rows) > limit
            rows = rows[:limit]
            return Response({**head, "bucket": "raw", "agg": None, "truncated": truncated,
                             "next_from": rows[-1][0].isoformat() if truncated else None,
                             "points": [{"ts": ts.isoformat(), "value": value} for ts, _step, value in rows]})
        seconds = bucket_seconds_for(start=start, end=end) if bucket == "auto" else BUCKETS[bucket]
        if (end - start).total_seconds() / seconds > 10 * MAX_CHART_POINTS:
            raise ValidationError({"bucket": [f"That range in {bucket} buckets is more than {10 * MAX_CHART_POINTS:,} "
                                              f"points; use a wider bucket or auto."]})
        rows = series_buckets(series_id=kpi.series_id, start=start, end=end, bucket_seconds=seconds)
        label = next((k for k, v in BUCKETS.items() if v == seconds), f"{seconds}s")
        return Response({**head, "bucket": label, "bucket_seconds": seconds, "agg": agg, "points": [
            {"ts": b.ts.isoformat(), "value": b.count if agg == "count" else getattr(b, agg),
             "min": b.min, "max": b.max, "count": b.count} for b in rows]})


class AlertSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kpi_key = serializers.CharField(source="kpi.key", read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "product", "kpi", "kpi_key", "kind", "severity", "state", "message", "value", "opened_at",
                  "resolved_at"]
        read_only_fields = fields


class AlertFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="product__slug")

    class Meta:
        model = Alert
        fields = {"state": ["exact"], "kind": ["exact"], "severity": ["exact"], "kpi": ["exact"]}


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts of the products you may see, newest first."""

    serializer_class = AlertSerializer
    permission_classes = [ProductRolePermission]
    filterset_class = AlertFilter
    ordering_fields = ["opened_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        return selectors.kpis.alert_list_for_user(user=self.request.user)


def register(router):
    router.register("kpis", KPIViewSet, basename="kpi")
    router.register("alerts", AlertViewSet, basename="alert")


@extend_schema_view(
    get=extend_schema(operation_id="kpis_points_by_key_retrieve"),
    post=extend_schema(operation_id="kpis_points_by_key_create"),
)
class KPIPointsByKeyView(KPIPointsView):
    """The same points, the KPI addressed by product slug and key (distinct operation ids in the schema)."""


def extra_urls():
    from django.urls import re_path

    return [
        re_path(r"^kpis/(?P<pk>\d+)/points/?$", KPIPointsView.as_view(), name="kpi-points"),
        re_path(r"^kpis/(?P<product>[-a-zA-Z0-9_]+)/(?P<key>[-a-zA-Z0-9_]+)/points/?$", KPIPointsByKeyView.as_view(),
                name="kpi-points-by-key"),
    ]
