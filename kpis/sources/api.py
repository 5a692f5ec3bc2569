"""REST API for metric sources: CRUD, their runs, pull now, test connection.

The same services as the pages (kpis/sources/services.py), so the same rules:
the adapters' validation and the SSRF guard, the minimum interval, roles
(pm edits and pulls; deleting needs the manage right; others read; whoever may
not see the product gets 404). Secrets are write-only: `secrets` goes in as
`{"headers": {name: value}}` (HTTP JSON, Prometheus) or `{"dsn": "postgres://…"}`
(SQL) and comes back masked, never in full.
"""
from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pmhub.permissions import ProductRolePermission
from pmhub.roles import Action

from kpis.models import KPI
from kpis.selectors.kpis import kpi_list_for_user
from kpis.sources import selectors, services
from kpis.sources.adapters import PullError
from kpis.sources.models import MetricSource, PullRun

# What `config` holds per kind, and the type of each setting.
CONFIG_KEYS = {
    MetricSource.Kind.HTTP_JSON: {"url": str, "method": str, "json_path": str, "body": str},
    MetricSource.Kind.PROMETHEUS: {"url": str, "query": str, "mode": str, "range_minutes": int, "step_seconds": int},
    MetricSource.Kind.SQL: {"query": str},
}
SECRET_KEYS = {
    MetricSource.Kind.HTTP_JSON: ("headers",),
    MetricSource.Kind.PROMETHEUS: ("headers",),
    MetricSource.Kind.SQL: ("dsn",),
}
SECRET_FIELDS = {"headers", "dsn"}
TOP_FIELDS = {"name", "kind", "kpi", "interval_seconds", "timeout_seconds", "enabled"}
TEST_POINTS_SHOWN = 20


class SourceSerializer(serializers.ModelSerializer):
    """A source as it is read: secrets masked, health and schedule included."""

    product = serializers.CharField(source="kpi.product.slug", read_only=True)
    kpi_key = serializers.CharField(source="kpi.key", read_only=True)
    secrets = serializers.SerializerMethodField(
        help_text="Stored secrets, masked: header names with masked values, the DSN with its password masked.")
    status = serializers.ChoiceField(
        choices=list(MetricSource.STATUSES), read_only=True,
        help_text="What pages show: paused when switched off, else failing, healthy or never_run (from health).")

    class Meta:
        model = MetricSource
        fields = ["id", "product", "kpi", "kpi_key", "name", "kind", "config", "secrets", "interval_seconds",
                  "timeout_seconds", "enabled", "status", "health", "consecutive_failures", "next_run_at", "last_run_at",
                  "last_success_at", "last_error_at", "last_error", "created_at", "updated_at"]
        read_only_fields = fields

    def get_secrets(self, obj) -> dict:
        return selectors.source_secrets_masked(source=obj)


class SourceInSerializer(serializers.Serializer):
    """A source as it is written. On update, fields left out keep their values; `secrets`
    left out keeps the stored ones, `{}` removes them. `kind` and `kpi` are fixed once created."""

    kpi = serializers.PrimaryKeyRelatedField(queryset=KPI.objects.none(), required=False)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=MetricSource.Kind.choices, required=False)
    config = serializers.DictField(required=False, help_text=(
        "http_json: url, method (GET/POST), json_path, body (JSON). prometheus: url, query, mode "
        "(instant/range), range_minutes, step_seconds. sql: query."))
    secrets = serializers.DictField(required=False, write_only=True, help_text=(
        'Write-only. http_json and prometheus: {"headers": {"Authorization": "Bearer …"}}; '
        'sql: {"dsn": "postgres://user:password@host:5432/db"}.'))
    interval_seconds = serializers.IntegerField(required=False)
    timeout_seconds = serializers.IntegerField(required=False)
    enabled = serializers.BooleanField(required=False)

    def __init__(self, *args, user=None, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        self.shape_errors = {}  # bad keys of config/secrets, reported with the services' errors
        if user is not None:
            self.fields["kpi"].queryset = kpi_list_for_user(user=user)

    def validate(self, attrs):
        errors = {}
        if self.source is None:
            for name in ("kpi", "name", "kind"):
                if name not in attrs:
                    errors[name] = ["This field is required."]
            kind = attrs.get("kind")
        else:
            kind = self.source.kind
            if "kind" in attrs and attrs["kind"] != kind:
                errors["kind"] = ["The kind of a source cannot change; add a new source instead."]
            if "kpi" in attrs and attrs["kpi"].pk != self.source.kpi_id:
                errors["kpi"] = ["A source cannot move to another KPI; add a new source instead."]
        shape = {}
        if kind:
            shape.update(_config_shape_errors(kind, attrs.get("config")))
            shape.update(_secrets_shape_errors(kind, attrs.get("secrets")))
        if errors:
            raise serializers.ValidationError({**errors, **shape})
        if shape:
            # Keep what is well-formed, so the view can run the services' checks on it and
            # report every mistake at once (nothing is stored while shape errors remain).
            self.shape_errors = shape
            for part in ("config", "secrets"):
                if attrs.get(part) is not None:
                    attrs[part] = {k: v for k, v in attrs[part].items() if f"{part}.{k}" not in shape}
        if kind == MetricSource.Kind.HTTP_JSON and isinstance((attrs.get("config") or {}).get("body"), (dict, list)):
            attrs["config"] = {**attrs["config"], "body": json.dumps(attrs["config"]["body"])}
        return attrs


def _config_shape_errors(kind, config) -> dict:
    if config is None:
        return {}
    allowed = CONFIG_KEYS[kind]
    errors = {}
    for key, value in config.items():
        if key not in allowed:
            errors[f"config.{key}"] = [f"Not a setting of {kind} sources; use {', '.join(allowed)}."]
        elif value is None:
            continue
        elif allowed[key] is int and (isinstance(value, bool) or not isinstance(value, int)):
            errors[f"config.{key}"] = ["Give a whole number."]
        elif allowed[key] is str and not isinstance(value, str):
            if not (key == "body" and isinstance(value, (dict, list))):
                errors[f"config.{key}"] = ["Give a string."]
    return errors


def _secrets_shape_errors(kind, secrets) -> dict:
    if secrets is None:
        return {}
    allowed = SECRET_KEYS[kind]
    errors = {}
    for key, value in secrets.items():
        if key not in allowed:
            errors[f"secrets.{key}"] = [f"Not a secret of {kind} sources; use {', '.join(allowed)}."]
        elif key == "headers" and not (isinstance(value, dict)
                                       and all(isinstance(v, str) for v in value.values())):
            errors["secrets.headers"] = ['Give an object of header names to string values: {"Authorization": "…"}.']
        elif key == "dsn" and not isinstance(value, str):
            errors["secrets.dsn"] = ["Give the database URL as a string."]
    return errors


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """The services' and adapters' field errors, named as the API's fields are."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({"non_field_errors": exc.messages})
    errors = {}
    for key, messages in exc.message_dict.items():
        if key == "__all__":
            name = "non_field_errors"
        elif key in TOP_FIELDS:
            name = key
        elif key in SECRET_FIELDS:
            name = f"secrets.{key}"
        else:
            name = f"config.{key}"
        errors.setdefault(name, []).extend(messages)
    return serializers.ValidationError(errors)


class PullRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PullRun
        fields = ["id", "source", "slot", "trigger", "attempt", "status", "started_at", "finished_at", "duration_ms",
                  "points_written", "error"]
        read_only_fields = fields


class SourceFilter(filters.FilterSet):
    product = filters.CharFilter(field_name="kpi__product__slug")

    class Meta:
        model = MetricSource
        fields = {"kpi": ["exact"], "kind": ["exact"], "health": ["exact"], "enabled": ["exact"]}


PullQueued = inline_serializer("PullQueued", {"queued": serializers.BooleanField(),
                                              "slot": serializers.DateTimeField()})
ConnectionTest = inline_serializer("ConnectionTest", {
    "ok": serializers.BooleanField(),
    "error": serializers.CharField(required=False, help_text="Why it failed (ok false)."),
    "detail": serializers.CharField(required=False, help_text="What was asked (ok true)."),
    "count": serializers.IntegerField(required=False, help_text="Points the pull would store."),
    "points": serializers.ListField(required=False, child=inline_serializer(
        "ConnectionTestPoint", {"ts": serializers.DateTimeField(), "value": serializers.FloatField()}),
        help_text=f"The first {TEST_POINTS_SHOWN} of them; nothing is stored."),
})


@extend_schema_view(
    create=extend_schema(request=SourceInSerializer, responses={201: SourceSerializer}),
    update=extend_schema(request=SourceInSerializer, responses={200: SourceSerializer}),
    partial_update=extend_schema(request=SourceInSerializer, responses={200: SourceSerializer}),
)
class SourceViewSet(viewsets.ModelViewSet):
    """Metric sources of the KPIs you may see: where a KPI's points are pulled from on a
    schedule. Product managers add, change, pull and test them; deleting needs the
    manage right; other members read them (secrets masked)."""

    serializer_class = SourceSerializer
    permission_classes = [ProductRolePermission]
    filterset_class = SourceFilter
    search_fields = ["name"]
    ordering_fields = ["name", "next_run_at", "last_run_at", "created_at"]

    @property
    def write_action(self):
        return Action.MANAGE if self.action == "destroy" else Action.EDIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MetricSource.objects.none()
        return selectors.source_list_for_user(user=self.request.user)

    def create(self, request, *args, **kwargs):
        data, shape_errors = self._input(request, source=None)
        self._refuse_with_all_errors(shape_errors, kind=data["kind"], name=data["name"],
                                     config=data.get("config") or {}, secrets=data.get("secrets") or {},
                                     interval_seconds=data.get("interval_seconds", 300),
                                     timeout_seconds=data.get("timeout_seconds", 10))
        try:
            source = services.source_create(
                actor=request.user, kpi=data["kpi"], name=data["name"], kind=data["kind"],
                config=data.get("config") or {}, secrets=data.get("secrets") or {},
                interval_seconds=data.get("interval_seconds", 300), timeout_seconds=data.get("timeout_seconds", 10),
                enabled=data.get("enabled", True))
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(self._out(source), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        source = self.get_object()
        data, shape_errors = self._input(request, source=source)
        config = data.get("config")
        if config is None:
            config = source.config
        elif kwargs.get("partial"):
            config = {**source.config, **config}  # PATCH changes the settings it names
        self._refuse_with_all_errors(shape_errors, kind=source.kind, name=data.get("name", source.name),
                                     config=config, secrets=data.get("secrets") or {},
                                     interval_seconds=data.get("interval_seconds", source.interval_seconds),
                                     timeout_seconds=data.get("timeout_seconds", source.timeout_seconds))
        try:
            source = services.source_update(
                actor=request.user, source=source, name=data.get("name", source.name), config=config,
                secrets=data.get("secrets"), interval_seconds=data.get("interval_seconds", source.interval_seconds),
                timeout_seconds=data.get("timeout_seconds", source.timeout_seconds),
                enabled=data.get("enabled", source.enabled))
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(self._out(source))

    def perform_destroy(self, instance):
        services.source_delete(actor=self.request.user, source=instance)

    def _input(self, request, *, source):
        serializer = SourceInSerializer(data=request.data, user=request.user, source=source)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data, serializer.shape_errors

    @staticmethod
    def _refuse_with_all_errors(shape_errors, **settings):
        """With malformed config or secrets keys, answer 400 naming them and whatever else the
        services find wrong in the rest, instead of one mistake per round trip."""
        if not shape_errors:
            return
        errors = dict(shape_errors)
        try:
            services.source_check(**settings)
        except DjangoValidationError as exc:
            for name, messages in _service_errors(exc).detail.items():
                if name not in errors:
                    errors[name] = [str(m) for m in messages]
        raise serializers.ValidationError(errors)

    def _out(self, source):
        source = selectors.source_list_for_user(user=self.request.user).get(pk=source.pk)
        return SourceSerializer(source, context=self.get_serializer_context()).data

    @extend_schema(responses={200: PullRunSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], serializer_class=PullRunSerializer, filterset_class=None)
    def runs(self, request, pk=None):
        """Every pull of this source, newest first (`?status=failed` filters)."""
        source = self.get_object()
        wanted = request.query_params.get("status")
        if wanted and wanted not in PullRun.Status.values:
            raise serializers.ValidationError({"status": [f"Choose one of {', '.join(PullRun.Status.values)}."]})
        page = self.paginate_queryset(selectors.source_runs(source=source, status=wanted))
        return self.get_paginated_response(PullRunSerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: PullQueued})
    @action(detail=True, methods=["post"], url_path="pull-now")
    def pull_now(self, request, pk=None):
        """Queue an extra pull at once, for the current second; the schedule is unchanged."""
        slot = services.source_pull_now(actor=request.user, source=self.get_object())
        return Response({"queued": True, "slot": slot.isoformat()}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: ConnectionTest})
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        """Run the pull now and show what it would store, storing nothing. A failed test is a
        200 with `ok: false` and the reason (the request itself succeeded)."""
        try:
            result = services.source_test_connection(actor=request.user, source=self.get_object())
        except PullError as exc:
            message = str(exc)
            return Response({"ok": False, "error": message[:1].upper() + message[1:]})
        return Response({"ok": True, "detail": result.detail, "count": len(result.points),
                         "points": [{"ts": p.ts.isoformat(), "value": p.value}
                                    for p in result.points[:TEST_POINTS_SHOWN]]})


def register(router):
    router.register("sources", SourceViewSet, basename="source")
