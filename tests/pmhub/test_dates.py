"""One date style everywhere (pmhub/dates.py): the year whenever it is not this year."""
import datetime as dt

from django.template import Context, Template
from django.utils import timezone

from pmhub.dates import date_range_text, date_text, datetime_text

TODAY = dt.date(2026, 12, 4)


def test_dates_carry_the_year_only_when_it_is_not_this_year():
    assert date_text(dt.date(2026, 1, 1), today=TODAY) == "1 Jan"
    assert date_text(dt.date(2027, 1, 1), today=TODAY) == "1 Jan 2027"
    assert date_text(dt.date(1900, 1, 1), today=TODAY) == "1 Jan 1900"
    assert date_text(dt.date(2199, 12, 31), today=TODAY) == "31 Dec 2199"
    assert date_text(None) == "" and datetime_text(None) == ""
    utc = dt.timezone.utc
    assert datetime_text(dt.datetime(2026, 12, 4, 3, 0, tzinfo=utc), today=TODAY) == "4 Dec, 03:00"
    assert datetime_text(dt.datetime(2025, 12, 4, 3, 0, tzinfo=utc), today=TODAY) == "4 Dec 2025, 03:00"
    assert datetime_text(dt.date(2025, 2, 3), today=TODAY) == "3 Feb 2025"
    assert date_range_text(dt.date(2026, 11, 20), dt.date(2027, 1, 8), today=TODAY) == "20 Nov – 8 Jan 2027"


def test_templates_use_the_builtin_filters_and_bare_dates_read_the_same(settings):
    settings.TIME_ZONE = "UTC"
    this_year = timezone.localdate().year
    html = Template("{{ d|date_text }}|{{ t|datetime_text }}|{{ old }}|{{ none|date_text|default:'—' }}").render(Context({
        "d": dt.date(this_year, 3, 9), "t": dt.datetime(this_year - 1, 7, 1, 15, 30, tzinfo=dt.timezone.utc),
        "old": dt.date(1900, 1, 1), "none": None}))
    assert html == f"9 Mar|1 Jul {this_year - 1}, 15:30|1 Jan 1900|—"
