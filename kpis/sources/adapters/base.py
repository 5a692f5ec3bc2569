"""The one interface every source kind implements, and the errors a pull may raise."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.utils.dateparse import parse_datetime

from kpis.timeseries.services import PointIn

MAX_POINTS_PER_PULL = 10_000


class PullError(Exception):
    """A pull failed in a way a retry will not fix (bad response, bad config, refused host)."""

    retriable = False


class TransientPullError(PullError):
    """Connection errors, timeouts, 5xx: worth retrying with backoff."""

    retriable = True


@dataclass(frozen=True)
class FetchResult:
    points: list[PointIn]
    detail: str = ""  # what was asked, for "test connection" (never secrets)


class Adapter:
    """Subclasses set `kind`, and implement `clean` and `fetch`.

    clean(config, secrets) -> (config, secrets): validates and normalises what a PM
    entered; raises ValidationError({"field": [...]}) on bad input.
    fetch(config, secrets, slot, timeout) -> FetchResult: pulls the points for one slot;
    raises PullError / TransientPullError. Points without a time of their own take
    the slot's time, so a re-run of a slot rewrites the same points.
    describe(config, secrets) -> list[(label, value)] to show, secrets masked.
    """

    kind = ""

    def clean(self, config: dict, secrets: dict) -> tuple[dict, dict]:
        raise NotImplementedError

    def fetch(self, *, config: dict, secrets: dict, slot: datetime, timeout: float) -> FetchResult:
        raise NotImplementedError

    def describe(self, config: dict, secrets: dict) -> list[tuple[str, str]]:
        raise NotImplementedError


def to_value(raw, where: str = "value") -> float:
    """A finite float from a JSON number or a numeric string; PullError otherwise."""
    if isinstance(raw, bool) or raw is None:
        raise PullError(f"{where} is {raw!r}, not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise PullError(f"{where} is {raw[:40]!r}, not a number") from None
    else:
        raise PullError(f"{where} is a {type(raw).__name__}, not a number")
    if not math.isfinite(value):
        raise PullError(f"{where} is {raw!r}, not a finite number")
    return value


def to_ts(raw, where: str = "ts") -> datetime:
    """An aware datetime from epoch seconds (or milliseconds) or an ISO 8601 string."""
    if isinstance(raw, bool) or raw is None:
        raise PullError(f"{where} is {raw!r}, not a time")
    if isinstance(raw, (int, float)) or (isinstance(raw, str) and _is_number(raw)):
        seconds = float(raw)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise PullError(f"{where} {raw!r} is out of range") from None
    if isinstance(raw, str):
        try:
            parsed = parse_datetime(raw.strip().replace(" ", "T", 1))
        except ValueError:
            parsed = None
        if parsed is None:
            raise PullError(f"{where} {raw[:40]!r} is not an ISO 8601 time or epoch seconds")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt_timezone.utc)
    raise PullError(f"{where} is a {type(raw).__name__}, not a time")


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def check_count(points: list) -> list:
    if not points:
        raise PullError("the response held no points")
    if len(points) > MAX_POINTS_PER_PULL:
        raise PullError(f"the response held {len(points)} points; at most {MAX_POINTS_PER_PULL} per pull")
    return points
