"""The one write path into the time-series store."""
from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import NamedTuple

from django.db import connection, transaction

from kpis.timeseries.models import Point, Rollup, Series

# Transaction-level advisory locks (PostgreSQL). Writers hold their series' lock
# (class, series) shared and one exclusive lock per day they touch (a bigint key:
# series and day); series_delete holds the series' lock exclusively. A batch
# touching more than _MAX_DAY_LOCKS days takes its series' lock exclusively
# instead, so a transaction never holds thousands of locks.
_SERIES_LOCK_CLASS = 7_301
_MAX_DAY_LOCKS = 64
_DAY_US = 86_400_000_000


class PointIn(NamedTuple):
    """One point to store. A NamedTuple: batches hold up to 10,000 of them, and
    a tuple is several times cheaper to build than a frozen dataclass."""

    ts: datetime  # timezone-aware
    value: float
    step: int = 0


def series_create(*, kind: str, key: str) -> Series:
    return Series.objects.create(kind=kind, key=key)


def series_delete(*, series_ids: Iterable[int]) -> None:
    """Delete series with their points and rollups (in the caller's transaction, if any).

    Points carry no database foreign key (see Point.series), so this is the only
    way a series goes: it takes each series' write lock first, so a batch being
    stored meanwhile either commits before the delete (and is deleted with it)
    or finds its series gone and stores nothing (Series.DoesNotExist).
    """
    ids = sorted({int(i) for i in series_ids})
    if not ids:
        return
    with transaction.atomic():
        _lock_series_exclusively(ids)
        Point.objects.filter(series_id__in=ids).delete()
        Series.objects.filter(pk__in=ids).delete()


def _dedupe(points: Iterable[PointIn]) -> list[PointIn]:
    """Last write wins within one batch: an upsert may not touch a row twice."""
    latest: dict[tuple[datetime, int], PointIn] = {}
    for p in points:
        latest[(p.ts, p.step)] = p
    # Sorted, so concurrent overlapping batches lock rows in one order (no deadlocks).
    return sorted(latest.values(), key=lambda p: (p.ts, p.step))


def _series_id(series: Series | int) -> int:
    return series if isinstance(series, int) else series.pk


def series_points_upsert(*, series: Series | int, points: Iterable[PointIn]) -> int:
    """Store points idempotently on (series, ts, step); returns how many were sent.

    Callers validate first (finite values, aware timestamps); this checks the
    invariants again because a bad point must never reach the store. Runs in
    one transaction: either the whole batch is stored or nothing is. The hourly
    and daily rollups of the buckets the batch touched are recomputed in the
    same transaction (see series_rollups_refresh).
    """
    return series_points_upsert_many(batches={_series_id(series): points})


def series_points_upsert_many(*, batches: Mapping[Series | int, Iterable[PointIn]]) -> int:
    """series_points_upsert for several series at once (model metrics: one series per key).

    Same guarantees, one transaction for all. On PostgreSQL it is three
    statements whatever the number of series and points: the series' advisory
    locks, one upsert of every point, one recomputation of every touched
    hourly and daily rollup. Returns the number of distinct points sent (a
    point repeated within the batch counts once: the last one wins).
    """
    by_series: dict[int, list[PointIn]] = {}
    for series, points in batches.items():
        by_series.setdefault(_series_id(series), []).extend(points)
    by_series = {sid: points for sid, points in sorted(by_series.items()) if points}
    if not by_series:
        return 0
    if connection.vendor == "postgresql":
        arrays, days = _as_arrays(by_series)  # checks every point first
        with transaction.atomic():
            return _upsert_postgresql(days, *arrays)
    for points in by_series.values():
        for p in points:
            if not math.isfinite(p.value):
                raise ValueError("point values must be finite numbers")
            if p.ts.tzinfo is None or p.ts.utcoffset() is None:
                raise ValueError("point timestamps must be timezone-aware")
    stored = 0
    with transaction.atomic():
        # SQLite has one writer at a time: a series deleted before this transaction
        # is seen here, and none can be deleted until it commits.
        _require_series(by_series, set(Series.objects.filter(pk__in=list(by_series)).values_list("pk", flat=True)))
        for series_id, points in by_series.items():
            stored += _upsert_sqlite(series_id, _dedupe(points))
    return stored


def _lock_key(series_id: int) -> int:
    return series_id % 2_147_483_647  # the two-key form takes int4


def _lock_series_exclusively(series_ids) -> None:
    """Wait until no batch writes to these series, and keep it so until commit (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, s) FROM unnest(%s::int[]) AS s",
                       [_SERIES_LOCK_CLASS, sorted({_lock_key(sid) for sid in series_ids})])


def _locks_sql(days: dict[int, set[int]]) -> tuple[str, list]:
    """The lock statement of a batch: days maps each series to the day numbers it touches.

    Every writer takes its locks in one global order (series locks by series,
    then day locks by series and day), so writers never deadlock. Two batches
    of one series wait for each other only where they share a day, whose
    rollups both recompute; the upsert's snapshot, taken after the locks, then
    sees every point committed to those days.
    """
    shared, exclusive, day_keys = [], [], []
    for series_id in sorted(days):
        touched = days[series_id]
        if len(touched) > _MAX_DAY_LOCKS:
            exclusive.append(_lock_key(series_id))
        else:
            shared.append(_lock_key(series_id))
            # Series in the high bits, the day (mod 2**20, about 2,900 years) in the low
            # ones; keys that collide only make two writers wait, never race.
            day_keys.extend(sorted({(series_id << 20) | (day & 0xFFFFF) for day in touched}))
    sql = ("SELECT pg_advisory_xact_lock_shared(%s, s) FROM unnest(%s::int[]) AS s; "
           "SELECT pg_advisory_xact_lock(%s, s) FROM unnest(%s::int[]) AS s; "
           "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k; ")
    return sql, [_SERIES_LOCK_CLASS, shared, _SERIES_LOCK_CLASS, exclusive, day_keys]


def _require_series(wanted, found) -> None:
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise Series.DoesNotExist(f"No series {', '.join(map(str, missing))}: deleted meanwhile?")


_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _as_arrays(by_series: dict[int, list[PointIn]]) -> tuple[tuple[str, str, str, str], dict[int, set[int]]]:
    """The points as four PostgreSQL array literals (series ids, epoch microseconds,
    steps, values), and the day numbers each series' points fall on.

    Built with str.join over integers and float reprs (exact both ways), which
    is several times cheaper than letting psycopg2 adapt 10,000 datetimes or
    formatting them as ISO strings. Raises ValueError for a naive timestamp or
    a value that is not a finite number.
    """
    sids, micros, steps, values = [], [], [], []
    days: dict[int, set[int]] = {}
    for series_id, points in by_series.items():
        sids.append(",".join([str(series_id)] * len(points)))
        try:
            us = [(p[0] - _EPOCH) // _MICROSECOND for p in points]
        except TypeError:  # naive minus aware
            raise ValueError("point timestamps must be timezone-aware") from None
        micros.append(",".join(map(str, us)))
        days[series_id] = {u // _DAY_US for u in us}
        steps.append(",".join([str(int(p[2])) for p in points]))
        try:
            floats = [p[1] + 0.0 for p in points]  # numbers only: a string raises TypeError
        except TypeError:
            floats = [float(p[1]) if isinstance(p[1], numbers.Real) else math.nan for p in points]
        if not all(map(math.isfinite, floats)):
            raise ValueError("point values must be finite numbers")
        values.append(",".join(map(repr, floats)))
    return tuple("{" + ",".join(parts) + "}" for parts in (sids, micros, steps, values)), days


def _upsert_postgresql(days: dict[int, set[int]], sids: str, micros: str, steps: str, values: str) -> int:
    """Lock, upsert, recompute rollups: two round trips for any number of series and points.

    PostgreSQL parses the array literals, drops in-batch duplicates (the last
    one wins, by position) and sorts by the natural key, so concurrent
    overlapping batches lock rows in one order.
    """
    point_table, series_table = Point._meta.db_table, Series._meta.db_table
    series_ids = sorted(days)
    locks_sql, locks_params = _locks_sql(days)
    with connection.cursor() as cursor:
        # The locks (see _locks_sql), then the upsert, sent together: psycopg2 sends
        # them as one query string, and PostgreSQL runs them in order, each with a
        # fresh snapshot (READ COMMITTED), so the upsert's is taken after the locks.
        # The upsert; it answers with the runs of consecutive days the batch touched,
        # per series (gaps and islands), which is all the rollup step needs. Points
        # have no foreign key (see Point.series): the series are checked here, once,
        # in a snapshot taken after the locks (a series_delete has committed or waits).
        cursor.execute(
            locks_sql + f"""WITH live AS (
                SELECT id FROM {series_table} WHERE id = ANY(%s::bigint[])
            ), batch AS (
                SELECT DISTINCT ON (series_id, ts, step) series_id, ts, step, value
                FROM (SELECT series_id, timestamptz 'epoch' + us * interval '1 microsecond' AS ts, step, value, n
                      FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[])
                           WITH ORDINALITY AS b(series_id, us, step, value, n)) AS b
                WHERE series_id IN (SELECT id FROM live)
                ORDER BY series_id, ts, step, n DESC
            ), stored AS (
                INSERT INTO {point_table} (series_id, ts, step, value)
                SELECT series_id, ts, step, value FROM batch
                ON CONFLICT (series_id, ts, step) DO UPDATE SET value = EXCLUDED.value
                WHERE {point_table}.value IS DISTINCT FROM EXCLUDED.value
            ), days AS (
                SELECT DISTINCT series_id, date_bin('1 day', ts, timestamptz 'epoch') AS day FROM batch
            ), islands AS (
                SELECT series_id, day,
                       day - row_number() OVER (PARTITION BY series_id ORDER BY day) * interval '1 day' AS island
                FROM days
            )
            SELECT series_id, min(day), max(day) + interval '1 day', (SELECT count(*) FROM batch),
                   (SELECT array_agg(id) FROM live)
            FROM islands GROUP BY series_id, island ORDER BY series_id, 2""",
            [*locks_params, series_ids, sids, micros, steps, values],
        )
        runs = cursor.fetchall()
    _require_series(series_ids, runs[0][4] if runs else [])  # raising rolls the whole batch back
    _refresh_rollups_postgresql([(sid, lo, hi) for sid, lo, hi, _count, _live in runs])
    return runs[0][3] if runs else 0


def _upsert_sqlite(series_id: int, batch: list[PointIn]) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
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
    series_id = _series_id(series)
    qs = Point.objects.filter(series_id=series_id)
    if start is not None:
        qs = qs.filter(ts__gte=start)
    if end is not None:
        qs = qs.filter(ts__lt=end)
    with transaction.atomic():
        _lock_series_exclusively([series_id])  # no batch recomputes these rollups meanwhile
        if start is None and end is None:
            Rollup.objects.filter(series_id=series_id).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                sql, params = qs.values_list("ts").query.sql_with_params()
                cursor.execute(f"SELECT min(ts), max(ts), count(DISTINCT date_bin('1 hour', ts, timestamptz 'epoch')) "
                               f"FROM ({sql}) AS p(ts)", params)
                first, last, hours = cursor.fetchone()
            if hours:
                # Whole days: a day's rollup needs every hour of it.
                day = lambda ts: datetime.fromtimestamp(int(ts.timestamp()) // Rollup.DAY * Rollup.DAY, tz=dt_timezone.utc)  # noqa: E731
                _refresh_rollups_postgresql([(series_id, day(first), day(last) + timedelta(days=1))])
            return hours
        hours = sorted({int(ts.timestamp()) // Rollup.HOUR
                        for ts in qs.values_list("ts", flat=True).iterator(chunk_size=20000)})
        _refresh_rollups(series_id, hours)
    return len(hours)


def _refresh_rollups_postgresql(runs: list[tuple[int, datetime, datetime]]) -> None:
    """Recompute every hourly and daily rollup in the given whole-day ranges, in one statement.

    runs: (series id, first day, day after the last) per run of touched days.
    Each run is one range scan of the natural-key index (a LATERAL subquery,
    so the planner cannot turn it into a scan of the whole series); the hours
    are grouped from the raw points, the days from those hours. Rows whose
    values did not change are not rewritten.
    """
    if not runs:
        return
    point_table, rollup_table = Point._meta.db_table, Rollup._meta.db_table
    columns = "count, sum, min, max, last, last_ts"
    set_changed = (f"DO UPDATE SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, "
                   f"last = EXCLUDED.last, last_ts = EXCLUDED.last_ts "
                   f"WHERE ({', '.join(f'{rollup_table}.{c}' for c in columns.split(', '))}) "
                   f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in columns.split(', '))})")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH hours AS (
                SELECT r.series_id, h.*
                FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS r(series_id, lo, hi)
                CROSS JOIN LATERAL (
                    SELECT date_bin('1 hour', p.ts, timestamptz 'epoch') AS ts, count(*) AS count, sum(p.value) AS sum,
                           min(p.value) AS min, max(p.value) AS max,
                           (array_agg(p.value ORDER BY p.ts DESC, p.step DESC))[1] AS last, max(p.ts) AS last_ts
                    FROM {point_table} p
                    WHERE p.series_id = r.series_id AND p.ts >= r.lo AND p.ts < r.hi
                    GROUP BY 1 OFFSET 0
                ) AS h
            ), hourly AS (
                INSERT INTO {rollup_table} (series_id, bucket, ts, {columns})
                SELECT series_id, 3600, ts, {columns} FROM hours
                ON CONFLICT (series_id, bucket, ts) {set_changed}
            )
            INSERT INTO {rollup_table} (series_id, bucket, ts, {columns})
            SELECT series_id, 86400, date_bin('1 day', ts, timestamptz 'epoch'), sum(count), sum(sum), min(min), max(max),
                   (array_agg(last ORDER BY last_ts DESC))[1], max(last_ts)
            FROM hours GROUP BY 1, 3
            ON CONFLICT (series_id, bucket, ts) {set_changed}""",
            [[r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]],
        )


def _refresh_rollups(series_id: int, hours: list[int]) -> None:
    """SQLite: recompute hourly rollups for the given hour numbers, then the days holding them."""
    if not hours:
        return
    days = sorted({h * Rollup.HOUR // Rollup.DAY for h in hours})
    point_table, rollup_table = Point._meta.db_table, Rollup._meta.db_table
    with connection.cursor() as cursor:
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
