"""The one policy for dates and numbers that feed a chart: what forms, the API, CSV
imports and bulk ingest accept, and the error that states the accepted range.

Whatever is accepted here must draw: every chart and page copes with the extremes
(the browser sweep feeds them as hostile data). The bounds:

- Calendar dates (roadmap start/target, sprint and objective dates, feedback
  received dates, dashboard ranges): DATE_MIN .. DATE_MAX, 1900-01-01 to
  2199-12-31 inclusive; charts may add months past the last one and stay far from
  year 9999.
- Measured values and what they are compared with (KPI points, targets and
  thresholds): finite, |x| <= VALUE_MAX (10^15: a quadrillion, cents of a very large
  revenue still fit, and float64 keeps integers exact up to 9·10^15).
- Whole numbers: within their column (INT_MAX for integer columns, SMALLINT_MAX
  for small ones) and within what the business allows (REACH_MAX, CONFIDENCE_MAX…).

Two layers: `*_error(value) -> str | None` are pure and cheap (bulk ingest calls
them in its loop, services call them as the last word), and the form and DRF
field helpers put the same bounds and messages in front of users.
"""
from __future__ import annotations

import math
from datetime import date, datetime, time, timezone as dt_timezone

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2199, 12, 31)
DATETIME_MIN = datetime.combine(DATE_MIN, time.min, tzinfo=dt_timezone.utc)
DATETIME_MAX = datetime.combine(DATE_MAX, time.max, tzinfo=dt_timezone.utc)

VALUE_MAX = 1e15
INT_MAX = 2_147_483_647      # PostgreSQL integer (PositiveIntegerField)
SMALLINT_MAX = 32_767        # PostgreSQL smallint (PositiveSmallIntegerField)

REACH_MAX = 1_000_000_000    # people or events per quarter: more than everyone on earth per quarter is a typo
CONFIDENCE_MAX = 100         # percent
EFFORT_MAX = 99_999          # person-weeks (the column holds 99,999.99)
POINTS_MAX = 1_000           # story points of one work item
TITLE_MAX = 200

DATE_RANGE_TEXT = f"from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}"
VALUE_RANGE_TEXT = "from -1,000,000,000,000,000 to 1,000,000,000,000,000 (±10^15)"


def date_message() -> str:
    return f"Enter a date {DATE_RANGE_TEXT}."


def value_message() -> str:
    return f"Enter a finite number {VALUE_RANGE_TEXT}."


def int_message(lo: int, hi: int) -> str:
    return f"Enter a whole number from {lo:,} to {hi:,}."


def length_message(limit: int, length: int | None = None) -> str:
    got = f" (this one has {length:,})" if length is not None else ""
    return f"At most {limit:,} characters{got}."


# --- pure checks: None when fine, else the message ----------------------------------------

def date_error(value) -> str | None:
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if not isinstance(day, date) or not DATE_MIN <= day <= DATE_MAX:
        return date_message()
    return None


def value_error(value) -> str | None:
    """For a float the caller has: finite and within ±VALUE_MAX (ints compare without float())."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value_message()
    if isinstance(value, float) and not math.isfinite(value):
        return value_message()
    if not -VALUE_MAX <= value <= VALUE_MAX:
        return value_message()
    return None


def int_error(value, lo: int, hi: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        return int_message(lo, hi)
    return None


def dates_in_order(start, end) -> bool:
    return start is None or end is None or start <= end


# --- Django validators and form fields -------------------------------------------------------

def _validator(check):
    def validate(value):
        message = check(value)
        if message:
            raise ValidationError(message, code="out_of_range")
    return validate


validate_date = _validator(date_error)
validate_value = _validator(value_error)


class DateInput(forms.DateInput):
    """A date picker bounded to the policy's range."""

    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else value


def date_form_field(**kwargs) -> forms.DateField:
    widget = kwargs.pop("widget", None) or DateInput(attrs={"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()})
    return forms.DateField(widget=widget, validators=[validate_date],
                           error_messages={"invalid": f"Enter a valid date (YYYY-MM-DD) {DATE_RANGE_TEXT}."}, **kwargs)


def int_form_field(lo: int, hi: int, **kwargs) -> forms.IntegerField:
    message = int_message(lo, hi)
    return forms.IntegerField(min_value=lo, max_value=hi, error_messages={
        "invalid": message, "min_value": message, "max_value": message}, **kwargs)


def say_length_limits(form: forms.BaseForm) -> None:
    """Drop the maxlength attribute Django puts on text inputs: the browser silently cuts a
    pasted text at it. The server's error then says the limit and the length pasted."""
    for field in form.fields.values():
        field.widget.attrs.pop("maxlength", None)


def bounded_form_fields(form: forms.BaseForm, *, values=(), dates=()) -> None:
    """Give a ModelForm's generated fields the policy's bounds and messages."""
    for name in values:
        field = form.fields.get(name)
        if field is not None:
            field.min_value, field.max_value = -VALUE_MAX, VALUE_MAX
            field.validators += [validate_value]
            field.error_messages.update({"invalid": value_message(), "min_value": value_message(),
                                         "max_value": value_message()})
    for name in dates:
        field = form.fields.get(name)
        if field is not None:
            field.validators += [validate_date]
            field.error_messages["invalid"] = f"Enter a valid date (YYYY-MM-DD) {DATE_RANGE_TEXT}."
            field.widget.attrs.update({"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()})


# --- DRF fields ------------------------------------------------------------------------------

def date_serializer_field(**kwargs) -> serializers.DateField:
    return serializers.DateField(validators=[validate_date], error_messages={
        "invalid": f"Enter a valid date (YYYY-MM-DD) {DATE_RANGE_TEXT}."}, **kwargs)


def int_serializer_field(lo: int, hi: int, **kwargs) -> serializers.IntegerField:
    message = int_message(lo, hi)
    return serializers.IntegerField(min_value=lo, max_value=hi, error_messages={
        "invalid": message, "min_value": message, "max_value": message, "max_string_length": message}, **kwargs)


def value_serializer_field(**kwargs) -> serializers.FloatField:
    message = value_message()
    return serializers.FloatField(validators=[validate_value], error_messages={
        "invalid": message, "min_value": message, "max_value": message, "max_string_length": message}, **kwargs)


def char_serializer_field(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, error_messages={
        "max_length": f"At most {max_length:,} characters."}, **kwargs)
