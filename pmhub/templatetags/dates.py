"""Date filters, built into every template (settings.TEMPLATES builtins): see pmhub/dates.py."""
from django import template

from pmhub import dates

register = template.Library()


@register.filter
def date_text(value):
    """`{{ item.target_date|date_text }}`: "4 Dec", or "4 Dec 2027" when not this year."""
    return dates.date_text(value)


@register.filter
def datetime_text(value):
    """`{{ run.started_at|datetime_text }}`: "4 Dec, 03:00", or "4 Dec 2025, 03:00" when not this year."""
    return dates.datetime_text(value)


@register.filter
def date_iso(value):
    """The machine-readable form for `<time datetime="…">`."""
    if value is None or value == "":
        return ""
    return value.isoformat()
