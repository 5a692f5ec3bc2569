"""How pmhub writes a date or a time for people: one style everywhere, pages, e-mails and charts.

    date_text(d)      "4 Dec"          in the current year, "4 Dec 2027" in any other
    datetime_text(t)  "4 Dec, 03:00"   in the current year, "4 Dec 2025, 03:00" in any other

Times are shown in the site's time zone (settings.TIME_ZONE). Templates use the filters of
the same names (`{{ item.target_date|date_text }}`, built in: no {% load %} needed);
charts use PLOTLY_DATE / PLOTLY_DATETIME (d3 formats of the same style, always with the
year: an axis may cross a new year). A bare `{{ some_date }}` follows pmhub/formats/en
(the same style, with the year) so a date left unformatted still reads the same way.
"""
from __future__ import annotations

import datetime as dt

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# d3-time-format (plotly.js hover templates, tick formats): "4 Dec 2026", "4 Dec 2026, 03:00".
PLOTLY_DATE = "%-d %b %Y"
PLOTLY_DATETIME = "%-d %b %Y, %H:%M"


# Django is imported only when a caller leaves today or the time zone to us, so that pure
# chart modules (charts.py) may use these functions with an explicit today.

def _today(today: dt.date | None) -> dt.date:
    if today is not None:
        return today
    from django.utils import timezone

    return timezone.localdate()


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    from django.utils import timezone

    return timezone.localtime(value)


def date_text(value, *, today: dt.date | None = None) -> str:
    """A date (or the local date of a datetime) as "4 Dec", with the year when not this year; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    if not isinstance(value, dt.date):
        return str(value)
    text = f"{value.day} {MONTHS[value.month - 1]}"
    return text if value.year == _today(today).year else f"{text} {value.year}"


def datetime_text(value, *, today: dt.date | None = None) -> str:
    """A datetime as "4 Dec, 03:00" in local time, with the year when not this year; a date as date_text."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        return date_text(value, today=today)
    local = _local(value)
    return f"{date_text(local.date(), today=today)}, {local:%H:%M}"


def date_range_text(start, end, *, today: dt.date | None = None) -> str:
    """Two dates as "4 Dec – 18 Dec", each with its year when not this year; a missing end reads "…"."""
    return f"{date_text(start, today=today) or '…'} – {date_text(end, today=today) or '…'}"
