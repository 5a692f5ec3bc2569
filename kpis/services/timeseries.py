"""The one write path into the time-series store."""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from kpis.models import Point, Series


@dataclass(frozen=True, slots=True)
class PointIn:
    ts: datetime  # timezone-aware
    value: float
    step: int = 0


def series_create(*, kind: str, key: str) -> Series:
    return Series.objects.create(kind=kind, key=key)


def _dedupe(points: Iterable[PointIn]) -> list[PointIn]:
    """Last write wins within one batch: an upsert may not touch a row twice."""
    latest: dict[tuple[datetime, int], PointIn] = {}
    for p in points:
        latest[(p.ts, p.step)] = p
    return list(latest.values())


def series_points_upsert(*, series: Series | int, points: Iterable[PointIn]) -> int:
    """Store points idempotently on (series, ts, step); returns how many were sent.

    Callers validate first (finite values, aware timestamps); this checks the
    invariants again because a bad point must never reach the store. Runs in
    one transaction: either the whole batch is stored or nothing is.
    """
    series_id = series if isinstance(series, int) else series.pk
    batch = _dedupe(points)
    for p in batch:
        if not math.isfinite(p.value):
            raise ValueError("point values must be finite numbers")
        if p.ts.tzinfo is None:
            raise ValueError("point timestamps must be timezone-aware")
    if not batch:
        return 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                from psycopg2.extras import execute_values

                execute_values(
                    cursor.cursor,
                    f"INSERT INTO {Point._meta.db_table} (series_id, ts, step, value) VALUES %s "
                    f"ON CONFLICT (series_id, ts, step) DO UPDATE SET value = EXCLUDED.value "
                    f"WHERE {Point._meta.db_table}.value IS DISTINCT FROM EXCLUDED.value",
                    [(series_id, p.ts, p.step, p.value) for p in batch],
                    page_size=2000,
                )
            else:
                adapt = connection.ops.adapt_datetimefield_value
                cursor.executemany(
                    f"INSERT INTO {Point._meta.db_table} (series_id, ts, step, value) VALUES (%s, %s, %s, %s) "
                    f"ON CONFLICT (series_id, ts, step) DO UPDATE SET value = excluded.value",
                    [(series_id, adapt(p.ts), p.step, p.value) for p in batch],
                )
    return len(batch)
