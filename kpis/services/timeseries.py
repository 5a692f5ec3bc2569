"""The one write path into the time-series store."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from kpis.models import Point, Rollup, Series

# Transaction-level advisory lock class for writes to one series (PostgreSQL).
_SERIES_LOCK_CLASS = 7_301


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
    # Sorted, so concurrent overlapping batches lock rows in one order (no deadlocks).
    return sorted(latest.values(), key=lambda p: (p.ts, p.step))


def series_points_upsert(*, series: Series | int, points: Iterable[PointIn]) -> int:
    """Store points idempotently on (series, ts, step); returns how many were sent.

    Callers validate first (finite values, aware timestamps); this checks the
    invariants again because a bad point must never reach the store. Runs in
    one transaction: either the whole batch is stored or nothing is. The hourly
    and daily rollups of the buckets the batch touched are recomputed in the
    same transaction (see series_rollups_refresh).
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

                # Writers of one series take turns, so the rollups they recompute
                # always see every committed point (READ COMMITTED: each statement
                # reads a fresh snapshot, taken after the lock is granted).
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SERIES_LOCK_CLASS, series_id % 2_147_483_647])

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
        hours = sorted({int(p.ts.timestamp()) // Rollup.HOUR for p in batch})
        _refresh_rollups(series_id, hours)
    return len(batch)


def series_rollups_refresh(*, series: Series | int, start: datetime | None = None, end: datetime | None = None) -> int:
    """Recompute the rollups of a series from its raw points (all of them, or a range).

    Ingest keeps rollups current by itself; this is for points written another
    way (fixtures, a restore). Returns the number of hourly buckets recomputed.
    """
    series_id = series if isinstance(series, int) else series.pk
    qs = Point.objects.filter(series_id=series_id)
    if start is not None:
        qs = qs.filter(ts__gte=start)
    if end is not None:
        qs = qs.filter(ts__lt=end)
    hours = sorted({int(ts.timestamp()) // Rollup.HOUR for ts in qs.values_list("ts", flat=True).iterator(chunk_size=20000)})
    with transaction.atomic():
        if start is None and end is None:
            Rollup.objects.filter(series_id=series_id).delete()
        _refresh_rollups(series_id, hours)
    return len(hours)


def _refresh_rollups(series_id: int, hours: list[int]) -> None:
    """Recompute hourly rollups for the given hour numbers, then the days holding them."""
    if not hours:
        return
    days = sorted({h * Rollup.HOUR // Rollup.DAY for h in hours})
    point_table, rollup_table = Point._meta.db_table, Rollup._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""INSERT INTO {rollup_table} (series_id, bucket, ts, count, sum, min, max, last, last_ts)
                SELECT %s, 3600, to_timestamp(h.b * 3600), count(*), sum(p.value), min(p.value), max(p.value),
                       (array_agg(p.value ORDER BY p.ts DESC, p.step DESC))[1], max(p.ts)
                FROM unnest(%s::bigint[]) AS h(b)
                JOIN {point_table} p ON p.series_id = %s
                     AND p.ts >= to_timestamp(h.b * 3600) AND p.ts < to_timestamp((h.b + 1) * 3600)
                GROUP BY h.b
                ON CONFLICT (series_id, bucket, ts) DO UPDATE SET count = EXCLUDED.count, sum = EXCLUDED.sum,
                    min = EXCLUDED.min, max = EXCLUDED.max, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts""",
                [series_id, hours, series_id],
            )
            cursor.execute(
                f"""INSERT INTO {rollup_table} (series_id, bucket, ts, count, sum, min, max, last, last_ts)
                SELECT %s, 86400, to_timestamp(d.b * 86400), sum(r.count), sum(r.sum), min(r.min), max(r.max),
                       (array_agg(r.last ORDER BY r.last_ts DESC))[1], max(r.last_ts)
                FROM unnest(%s::bigint[]) AS d(b)
                JOIN {rollup_table} r ON r.series_id = %s AND r.bucket = 3600
                     AND r.ts >= to_timestamp(d.b * 86400) AND r.ts < to_timestamp((d.b + 1) * 86400)
                GROUP BY d.b
                ON CONFLICT (series_id, bucket, ts) DO UPDATE SET count = EXCLUDED.count, sum = EXCLUDED.sum,
                    min = EXCLUDED.min, max = EXCLUDED.max, last = EXCLUDED.last, last_ts = EXCLUDED.last_ts""",
                [series_id, days, series_id],
            )
            return
        # SQLite keeps timestamps as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]', which
        # sorts like time. Its planner does badly with a join on computed ranges,
        # so each run of nearby touched buckets is one range scan with GROUP BY,
        # keeping only the touched buckets.
        for width, numbers, source in ((3600, hours, "point"), (86400, days, "rollup")):
            for lo, hi, chunk in _runs(numbers, gap=48 if width == 3600 else 7):
                if source == "point":
                    select = f"""SELECT %s AS series_id, 3600 AS bucket,
                            datetime(CAST(strftime('%%s', p.ts) AS INTEGER) / 3600 * 3600, 'unixepoch') AS ts,
                            count(*) AS count, sum(p.value) AS sum, min(p.value) AS min, max(p.value) AS max,
                            NULL AS last, max(p.ts) AS last_ts,
                            CAST(strftime('%%s', p.ts) AS INTEGER) / 3600 AS n
                        FROM {point_table} p WHERE p.series_id = %s
                             AND p.ts >= datetime(%s * 3600, 'unixepoch') AND p.ts < datetime((%s + 1) * 3600, 'unixepoch')
                        GROUP BY n"""
                    last = (f"(SELECT value FROM {point_table} WHERE series_id = g.series_id AND ts = g.last_ts "
                            f"ORDER BY step DESC LIMIT 1)")
                else:
                    select = f"""SELECT %s AS series_id, 86400 AS bucket,
                            datetime(CAST(strftime('%%s', r.ts) AS INTEGER) / 86400 * 86400, 'unixepoch') AS ts,
                            sum(r.count) AS count, sum(r.sum) AS sum, min(r.min) AS min, max(r.max) AS max,
                            NULL AS last, max(r.last_ts) AS last_ts,
                            CAST(strftime('%%s', r.ts) AS INTEGER) / 86400 AS n
                        FROM {rollup_table} r WHERE r.series_id = %s AND r.bucket = 3600
                             AND r.ts >= datetime(%s * 86400, 'unixepoch') AND r.ts < datetime((%s + 1) * 86400, 'unixepoch')
                        GROUP BY n"""
                    last = (f"(SELECT r2.last FROM {rollup_table} r2 WHERE r2.series_id = g.series_id "
                            f"AND r2.bucket = 3600 AND r2.ts >= g.ts "
                            f"AND r2.ts < datetime(g.n * 86400 + 86400, 'unixepoch') "
                            f"AND r2.last_ts = g.last_ts LIMIT 1)")
                keep = "" if chunk is None else " AND g.n IN (SELECT value FROM json_each(%s))"
                cursor.execute(
                    f"""INSERT INTO {rollup_table} (series_id, bucket, ts, count, sum, min, max, last, last_ts)
                    SELECT g.series_id, g.bucket, g.ts, g.count, g.sum, g.min, g.max, {last}, g.last_ts
                    FROM ({select}) AS g WHERE true{keep}
                    ON CONFLICT (series_id, bucket, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum,
                        min = excluded.min, max = excluded.max, last = excluded.last, last_ts = excluded.last_ts""",
                    [series_id, series_id, lo, hi] + ([] if chunk is None else [chunk]),
                )


def _runs(numbers: list[int], *, gap: int):
    """Split sorted bucket numbers into (first, last, json list or None when all in range) runs."""
    runs, current = [], [numbers[0]]
    for n in numbers[1:]:
        if n - current[-1] > gap:
            runs.append(current)
            current = []
        current.append(n)
    runs.append(current)
    for run in runs:
        full = run[-1] - run[0] + 1 == len(run)
        yield run[0], run[-1], None if full else json.dumps(run)
