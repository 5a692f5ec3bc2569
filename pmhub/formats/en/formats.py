"""Django's formats for English, in pmhub's date style (see pmhub/dates.py).

What a template prints without a format of its own (`{{ some_date }}`, `|date` with no
argument) reads like the rest of pmhub: "4 Dec 2026", "4 Dec 2026, 03:00". Input
formats are Django's own.
"""
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
TIME_FORMAT = "H:i"
