"""The periods the portfolio looks back over: rolling windows ending now."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

PERIODS = {
    "week": (7, "Last 7 days", "this week"),
    "month": (30, "Last 30 days", "this month"),
    "quarter": (91, "Last 13 weeks", "this quarter"),
}
DEFAULT_PERIOD = "month"


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    phrase: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def period_for(key: str | None, *, now: datetime | None = None) -> Period:
    """The period called key (unknown keys fall back to the default)."""
    if key not in PERIODS:
        key = DEFAULT_PERIOD
    days, label, phrase = PERIODS[key]
    end = now or timezone.now()
    return Period(key=key, label=label, phrase=phrase, start=end - timedelta(days=days), end=end)
