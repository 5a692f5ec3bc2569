"""API plumbing shared by all apps: pagination, JSON errors, filters."""
from datetime import timezone as dt_timezone

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.http import Http404
from django_filters import fields as filter_fields, rest_framework as filters
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class UTCIsoDateTimeField(filter_fields.IsoDateTimeField):
    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt_timezone.utc)
        except OverflowError:
            raise forms.ValidationError("That timestamp is out of range.", code="invalid") from None


class UTCIsoDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp filter that queries in UTC.

    Python accepts UTC offsets up to ±23:59, PostgreSQL only up to ±15:59: a
    filter value such as `...-21:01` went to the database as typed and failed
    there with a 500 (found by the API fuzz test).
    """

    field_class = UTCIsoDateTimeField


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def _django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for e in errors for m in e.messages] for field, errors in exc.error_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    """Every API error is JSON: {"detail": "...", "errors": {field: [messages]}}.

    Services raise Django's ValidationError; it becomes a 400 with field errors,
    so pages and API share the same rules and messages.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        response.data = {"detail": "Invalid input.", "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"])}
    return response


def error_response(detail: str, *, errors=None, status_code=status.HTTP_400_BAD_REQUEST) -> Response:
    data = {"detail": detail}
    if errors is not None:
        data["errors"] = errors
    return Response(data, status=status_code)
