"""The one write path into the time-series store."""
from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import NamedTuple

from django.db import DataError, IntegrityError, connection, transaction

from kpis.timeseries.models import Point, Rollup, Series
from pmhub import prepared

# Transaction-level advisory locks (PostgreSQL): writers hold their series' lock
# (class, series) shared, so writers of one series never wait for each other on
# it; series_delete and series_rollups_refresh hold it exclusively.
_SERIES_LOCK_CLASS = 7_301
_NOT_ALONE = "22012"  # division_by_zero: how the one-statement path gives way for a series gone
_POINT_KEY = "point_natural_key"  # ... and its unique violation, for a point already stored


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


def series_points_upsert(*, series: Series | int, points: Iterable[PointIn], expect_new: bool = True) -> int:
    """Store points idempotently on (series, ts, step); returns how many were sent.

    Callers validate first (finite values, aware timestamps); this checks the
    invariants again because a bad point must never reach the store. Runs in
    one transaction: either the whole batch is stored or nothing is. The hourly
    and daily rollups of the buckets the batch touched are kept equal to a
    GROUP BY of their raw points in the same transaction (see the write path
    below: new points merge as deltas, overwritten ones recompute their hour).
    """
    return series_points_upsert_many(batches={_series_id(series): points}, expect_new=expect_new)


def series_points_upsert_many(*, batches: Mapping[Series | int, Iterable[PointIn]], savepoint: bool = True,
                               expect_new: bool = True) -> int:
    """series_points_upsert for several series at once (model metrics: one series per key).

    Same guarantees, one transaction for all. On PostgreSQL a batch of new
    points is one statement whatever the number of series and points (and no
    BEGIN or COMMIT outside a caller's transaction); one meeting stored points
    is three (see _upsert_postgresql). Returns the number of distinct points sent (a
    point repeated within the batch counts once: the last one wins).
    savepoint=False, inside a caller's transaction: no savepoint around the
    batch (two round trips less); an error then rolls that whole transaction back.
    expect_new=False (writers that mostly resend stored points, such as pulls of
    an overlapping window): skip the one-statement attempt, which would fail on
    its first stored point, and go the general way at once.
    """
    by_series: dict[int, list[PointIn]] = {}
    for series, points in batches.items():
        by_series.setdefault(_series_id(series), []).extend(points)
    by_series = {sid: points for sid, points in sorted(by_series.items()) if points}
    if not by_series:
        return 0
    if connection.vendor == "postgresql":
        arrays = _as_arrays(by_series)  # checks every point first
        if expect_new and connection.get_autocommit() and not connection.in_atomic_block:
            # Outside any transaction, a batch of only new points is one query string that
            # PostgreSQL runs as one implicit transaction: no BEGIN or COMMIT round trip.
            # Its insert has no ON CONFLICT clause (a plain insert costs half as much as
            # a speculative one), so a point already stored makes it fail, storing
            # nothing; so does a series deleted meanwhile. The batch then goes the
            # general way below. (PostgreSQL logs each such failure as an ERROR line.)
            try:
                return _upsert_postgresql(list(by_series), *arrays, alone=True)
            except (DataError, IntegrityError) as exc:
                cause = exc.__cause__
                if not (getattr(cause, "pgcode", None) == _NOT_ALONE
                        or getattr(getattr(cause, "diag", None), "constraint_name", None) == _POINT_KEY):
                    raise
        with transaction.atomic(savepoint=savepoint):
            return _upsert_postgresql(list(by_series), *arrays)
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


def _require_series(wanted, found) -> None:
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise Series.DoesNotExist(f"No series {', '.join(map(str, missing))}: deleted meanwhile?")


_EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _as_arrays(by_series: dict[int, list[PointIn]]) -> tuple[str, str, str, str, bool]:
    """The points as four PostgreSQL array literals (series ids, epoch microseconds,
    steps, values), and whether a key (series, ts, step) repeats among them.

    Built with str.join over integers and float reprs (exact both ways), which
    is several times cheaper than letting psycopg2 adapt 10,000 datetimes or
    formatting them as ISO strings. Raises ValueError for a naive timestamp or
    a value that is not a finite number.
    """
    sids, micros, steps, values = [], [], [], []
    repeats = False
    known: dict[datetime, int] = {}  # the keys of one batch share timestamps (every key of a step)
    for series_id, points in by_series.items():
        sids.append(",".join([str(series_id)] * len(points)))
        us = []
        try:
            for p in points:
                micro = known.get(p[0])
                if micro is None:
                    micro = known[p[0]] = (p[0] - _EPOCH) // _MICROSECOND
                us.append(micro)
        except TypeError:  # naive minus aware
            raise ValueError("point timestamps must be timezone-aware") from None
        micros.append(",".join(map(str, us)))
        step_ints = [int(p[2]) for p in points]
        steps.append(",".join(map(str, step_ints)))
        repeats = repeats or len(set(zip(us, step_ints))) < len(points)
        try:
            floats = [p[1] + 0.0 for p in points]  # numbers only: a string raises TypeError
        except TypeError:
            floats = [float(p[1]) if isinstance(p[1], numbers.Real) else math.nan for p in points]
        if not all(map(math.isfinite, floats)):
            raise ValueError("point values must be finite numbers")
        values.append(",".join(map(repr, floats)))
    return (*("{" + ",".join(parts) + "}" for parts in (sids, micros, steps, values)), repeats)


# The write path keeps every rollup row equal to a GROUP BY over its raw points
# at the cost of the batch, not of the series:
#
# 1. Insert the batch's points with ON CONFLICT DO NOTHING (outside a transaction:
#    a plain insert, which fails on a stored point, see series_points_upsert_many); the ones really
#    inserted (RETURNING) are grouped per series and hour into deltas (count,
#    sum, min, max, latest point by (ts, step)). A key inserted meanwhile by
#    another writer makes the insert wait for it, then counts as a conflict.
# 2. Only when some keys already existed: overwrite those whose value changed,
#    reading each old value under the row's lock (SELECT ... FOR UPDATE in key
#    order). The hours holding such a point are recomputed in step 4 (an
#    overwritten min, max or latest value cannot be undone by a delta).
# 3. Merge the deltas into the hourly rows, then into the daily rows (INSERT ...
#    ON CONFLICT DO UPDATE: count and sum add up, min/max and latest compare),
#    in key order. Two writers of one hour or day wait for each other only on
#    that row, for the rest of their (short) transaction; writers of new
#    points never queue on anything else. Every writer takes row locks in one
#    global order (points by key, then hourly rows by key, then daily rows by
#    key), so writers cannot deadlock.
#    When every point of the batch was new (the usual case: a training loop's
#    next step), step 1's statement merges the deltas itself: one round trip.
#    Otherwise it merges nothing, and step 3 comes after step 2, keeping the order.
# 4. Hours holding an overwritten point are recomputed from their raw points,
#    their days from their hourly rows, under the row locks taken in step 3,
#    each in a fresh snapshot (READ COMMITTED): a writer that committed points
#    to the hour has merged its deltas before (it held the row lock), and one
#    that has not yet committed merges its deltas after (it waits for ours).
#
# Sums are merged in the order writes arrive: equal to the GROUP BY's sum up
# to floating-point rounding (exact for values that add exactly, such as
# integers below 2**53), as PostgreSQL's own sum() depends on row order.

# The batch's points (of live series), the last one of a repeated key winning.
_BATCH_SQL = """batch AS (
    SELECT DISTINCT ON (series_id, ts, step) series_id, ts, step, value
    FROM (SELECT series_id, timestamptz 'epoch' + us * interval '1 microsecond' AS ts, step, value, n
          FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[])
               WITH ORDINALITY AS b(series_id, us, step, value, n)) AS b
    WHERE series_id IN (SELECT id FROM live)
    ORDER BY series_id, ts, step, n DESC
)"""
# The same when no key repeats (the usual batch): no sort to find repeats.
_BATCH_UNIQUE_SQL = """batch AS (
    SELECT series_id, timestamptz 'epoch' + us * interval '1 microsecond' AS ts, step, value
    FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::float8[]) AS b(series_id, us, step, value)
    WHERE series_id IN (SELECT id FROM live)
)"""

# One bucket's aggregate of points p (latest point by ts, then step).
_POINTS_AGG = """count(*) AS count, sum(p.value) AS sum, min(p.value) AS min, max(p.value) AS max,
    (array_agg(p.value ORDER BY p.ts DESC, p.step DESC))[1] AS last, max(p.ts) AS last_ts,
    (array_agg(p.step ORDER BY p.ts DESC, p.step DESC))[1] AS last_step"""

_ROLLUP_COLUMNS = "count, sum, min, max, last, last_ts, last_step"


def _merge_sql(table: str) -> str:
    """ON CONFLICT action merging a delta row (EXCLUDED) into a rollup row.

    A delta of count 0 is neutral: it only locks the row (an hour about to be
    recomputed). Every SET expression reads the row as it was before the update.
    """
    later = (f"EXCLUDED.count > 0 AND (EXCLUDED.last_ts, EXCLUDED.last_step) "
             f">= ({table}.last_ts, {table}.last_step)")
    return (f"DO UPDATE SET count = {table}.count + EXCLUDED.count, sum = {table}.sum + EXCLUDED.sum, "
            f"min = CASE WHEN EXCLUDED.count > 0 AND EXCLUDED.min < {table}.min THEN EXCLUDED.min ELSE {table}.min END, "
            f"max = CASE WHEN EXCLUDED.count > 0 AND EXCLUDED.max > {table}.max THEN EXCLUDED.max ELSE {table}.max END, "
            f"last = CASE WHEN {later} THEN EXCLUDED.last ELSE {table}.last END, "
            f"last_ts = CASE WHEN {later} THEN EXCLUDED.last_ts ELSE {table}.last_ts END, "
            f"last_step = CASE WHEN {later} THEN EXCLUDED.last_step ELSE {table}.last_step END")


def _merge_ctes_sql(source: str, only_if: str = "true") -> str:
    """Two CTEs (h, dd) merging the delta rows of CTE `source` (series_id, ts of the
    hour, count, sum, min, max, last, last_ts, last_step) into the hourly rollups,
    then into the daily ones, each in key order. The daily insert starts only once
    the hourly one has run to completion (its one-time filter counts h), so hourly
    rows are always locked before daily ones. Nothing is merged unless only_if."""
    table, merge = Rollup._meta.db_table, _merge_sql(Rollup._meta.db_table)
    return f"""h AS (
        INSERT INTO {table} (series_id, bucket, ts, {_ROLLUP_COLUMNS})
        SELECT series_id, 3600, ts, count, sum, coalesce(min, 0), coalesce(max, 0), coalesce(last, 0),
               coalesce(last_ts, ts), coalesce(last_step, 0)
        FROM {source} WHERE {only_if} ORDER BY series_id, ts
        ON CONFLICT (series_id, bucket, ts) {merge}
        RETURNING 1
    ), dd AS (
        INSERT INTO {table} (series_id, bucket, ts, {_ROLLUP_COLUMNS})
        SELECT series_id, 86400, day, count, sum, coalesce(min, 0), coalesce(max, 0), coalesce(last, 0),
               coalesce(last_ts, day), coalesce(last_step, 0)
        FROM (SELECT series_id, date_bin('1 day', ts, timestamptz 'epoch') AS day, sum(count) AS count,
                     sum(sum) AS sum, min(min) AS min, max(max) AS max,
                     (array_agg(last ORDER BY last_ts DESC NULLS LAST, last_step DESC))[1] AS last,
                     max(last_ts) AS last_ts,
                     (array_agg(last_step ORDER BY last_ts DESC NULLS LAST, last_step DESC))[1] AS last_step
              FROM {source} WHERE (SELECT count(*) FROM h) >= 0 AND {only_if} GROUP BY 1, 2) AS days
        ORDER BY series_id, day
        ON CONFLICT (series_id, bucket, ts) {merge}
        RETURNING 1
    )"""


def _upsert_postgresql(series_ids: list[int], sids: str, micros: str, steps: str, values: str, repeats: bool, *,
                       alone: bool = False) -> int:
    """Steps 1 to 4 above. Only new points (the usual case): one statement, which merges
    the deltas itself once it knows every point was new. Otherwise three: step 2,
    then steps 3 and 4 in one round trip."""
    point_table, series_table = Point._meta.db_table, Series._meta.db_table
    arrays = [sids, micros, steps, values]
    batch_sql = _BATCH_SQL if repeats else _BATCH_UNIQUE_SQL
    live_sql = f"live AS (SELECT id FROM {series_table} WHERE id = ANY(%s::bigint[]))"
    # Alone, the insert either stores every point or fails: no need to count them.
    all_new = "true" if alone else "(SELECT count(*) FROM ins) = (SELECT count(*) FROM batch)"
    with connection.cursor() as cursor:
        # The series' shared locks (a series_delete waits, or has committed before
        # the next statement's snapshot), then step 1. psycopg2 sends both as one
        # query string; PostgreSQL runs them in order, each with a fresh snapshot.
        # Points have no foreign key (see Point.series): the series are checked
        # here, once, and a point of a missing series is not stored (the caller
        # raises, rolling the whole batch back).
        # Alone (the hot path: log-metric, the KPI API): a prepared statement, planned once per connection.
        lock_sql = "SELECT pg_advisory_xact_lock_shared(%s, s) FROM unnest(%s::int[]) AS s"
        lock_params = [_SERIES_LOCK_CLASS, sorted({_lock_key(sid) for sid in series_ids})]
        step1_sql = f"""WITH {live_sql}, {batch_sql}, ins AS (
                INSERT INTO {point_table} (series_id, ts, step, value)
                SELECT series_id, ts, step, value FROM batch ORDER BY series_id, ts, step
                {"" if alone else "ON CONFLICT (series_id, ts, step) DO NOTHING"}
                RETURNING series_id, ts, step, value
            ), hours AS (
                SELECT p.series_id, date_bin('1 hour', p.ts, timestamptz 'epoch') AS ts, {_POINTS_AGG}
                FROM ins p GROUP BY 1, 2
            ), {_merge_ctes_sql("hours", only_if=all_new)}
            SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM ins), (SELECT array_agg(id) FROM live),
                   array_agg(series_id), array_agg(ts), array_agg(count), array_agg(sum), array_agg(min),
                   array_agg(max), array_agg(last), array_agg(last_ts), array_agg(last_step),
                   -- alone (its own implicit transaction, every point new or the insert failed):
                   -- fail unless every series is there, so that nothing is committed half done
                   CASE WHEN %s THEN 1 / (CASE WHEN (SELECT count(*) FROM live) = %s THEN 1 ELSE 0 END) END
            FROM hours"""
        step1_params = [series_ids, *arrays, alone, len(series_ids)]
        if alone:
            prepared.execute(cursor, "pmhub_points_new" + ("_repeats" if repeats else ""), step1_sql, step1_params,
                             before=lock_sql, before_params=lock_params)
        else:
            cursor.execute(f"{lock_sql}; {step1_sql}", lock_params + step1_params)
        sent, inserted, live, *deltas, _alone = cursor.fetchone()
        _require_series(series_ids, live or [])
        if inserted == sent:  # only new points: step 3 is done already, in the same statement
            return sent
        hours = list(zip(*deltas)) if deltas[0] else []
        recompute: list[tuple[int, datetime]] = []
        if inserted < sent:  # step 2
            cursor.execute(
                f"""WITH {live_sql}, {batch_sql}, old AS (
                    SELECT p.series_id, p.ts, p.step, b.value
                    FROM {point_table} p JOIN batch b USING (series_id, ts, step)
                    WHERE p.value IS DISTINCT FROM b.value
                    ORDER BY p.series_id, p.ts, p.step FOR UPDATE OF p
                ), upd AS (
                    UPDATE {point_table} p SET value = old.value FROM old
                    WHERE p.series_id = old.series_id AND p.ts = old.ts AND p.step = old.step
                    RETURNING p.series_id, date_bin('1 hour', p.ts, timestamptz 'epoch') AS hour
                )
                SELECT DISTINCT series_id, hour FROM upd""",
                [series_ids, *arrays],
            )
            recompute = cursor.fetchall()
        if not hours and not recompute:
            return sent
        # Step 3: the deltas, plus a neutral one (count 0) locking each hour to recompute.
        have = {(row[0], row[1]) for row in hours}
        hours += [(sid, hour, 0, 0.0, None, None, None, None, None) for sid, hour in recompute
                  if (sid, hour) not in have]
        columns = list(zip(*hours))
        sql = f"""WITH d AS (
                SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::float8[], %s::float8[],
                                     %s::float8[], %s::float8[], %s::timestamptz[], %s::bigint[])
                    AS d(series_id, ts, count, sum, min, max, last, last_ts, last_step)
            ), {_merge_ctes_sql("d")}
            SELECT (SELECT count(*) FROM dd)"""
        params = [list(c) for c in columns]
        if recompute:  # step 4, in the same round trip: each statement takes a fresh snapshot
            sql += ";" + _recompute_sql()
            params += [[sid for sid, _ in recompute], [hour for _, hour in recompute]] * 2
        cursor.execute(sql, params)
    return sent


def _recompute_sql() -> str:
    """Recompute given hours from their raw points, then their days from their hourly rows (PostgreSQL).

    Parameters: series ids and hours, twice. The caller holds the rows' locks.
    """
    point_table, rollup_table = Point._meta.db_table, Rollup._meta.db_table
    set_all = ", ".join(f"{c} = g.{c}" for c in _ROLLUP_COLUMNS.split(", "))
    return f"""UPDATE {rollup_table} r SET {set_all}
        FROM (SELECT f.series_id, f.ts AS bucket_ts, a.*
              FROM (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(series_id, ts)) AS f
              CROSS JOIN LATERAL (SELECT {_POINTS_AGG} FROM {point_table} p
                                  WHERE p.series_id = f.series_id AND p.ts >= f.ts AND p.ts < f.ts + interval '1 hour'
                                  OFFSET 0) AS a
              WHERE a.count > 0) AS g
        WHERE r.series_id = g.series_id AND r.bucket = 3600 AND r.ts = g.bucket_ts;
        UPDATE {rollup_table} r SET {set_all}
        FROM (SELECT f.series_id, f.day AS bucket_ts, a.*
              FROM (SELECT DISTINCT series_id, date_bin('1 day', ts, timestamptz 'epoch') AS day
                    FROM unnest(%s::bigint[], %s::timestamptz[]) AS f(series_id, ts)) AS f
              CROSS JOIN LATERAL (
                  SELECT sum(h.count) AS count, sum(h.sum) AS sum, min(h.min) AS min, max(h.max) AS max,
                         (array_agg(h.last ORDER BY h.last_ts DESC, h.last_step DESC))[1] AS last,
                         max(h.last_ts) AS last_ts,
                         (array_agg(h.last_step ORDER BY h.last_ts DESC, h.last_step DESC))[1] AS last_step
                  FROM {rollup_table} h
                  WHERE h.series_id = f.series_id AND h.bucket = 3600 AND h.ts >= f.day
                        AND h.ts < f.day + interval '1 day' OFFSET 0) AS a
              WHERE a.count > 0) AS g
        WHERE r.series_id = g.series_id AND r.bucket = 86400 AND r.ts = g.bucket_ts"""


def _upsert_sqlite(series_id: int, batch: list[PointIn]) -> int:
    """The same answers on SQLite (one writer at a time): new points merge as deltas,
    hours holding an overwritten point are recomputed with their days."""
    adapt = connection.ops.adapt_datetimefield_value
    point_table, rollup_table = Point._meta.db_table, Rollup._meta.db_table
    rows = [(adapt(p.ts), p.step, p.value) for p in batch]
    existing: dict[tuple[str, int], float] = {}
    with connection.cursor() as cursor:
        for i in range(0, len(rows), 5000):
            cursor.execute(
                # The timestamp as sent (text): a datetime column would come back parsed.
                # CROSS JOIN: SQLite then loops over the keys, one index search each.
                f"SELECT json_extract(j.value, '$[0]'), p.step, p.value FROM json_each(%s) AS j CROSS JOIN {point_table} p "
                f"ON p.series_id = %s AND p.ts = json_extract(j.value, '$[0]') AND p.step = json_extract(j.value, '$[1]')",
                [json.dumps([[ts, step] for ts, step, _ in rows[i:i + 5000]]), series_id])
            existing.update(((ts, step), value) for ts, step, value in cursor.fetchall())
        new, changed, recompute = [], [], set()
        for p, row in zip(batch, rows):
            old = existing.get(row[:2])
            if old is None:
                new.append((p, row))
            elif old != row[2]:
                changed.append(row)
                recompute.add(int(p.ts.timestamp()) // Rollup.HOUR)
        cursor.executemany(
            f"INSERT INTO {point_table} (series_id, ts, step, value) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (series_id, ts, step) DO UPDATE SET value = excluded.value",
            [(series_id, *row) for row in [r for _, r in new] + changed],
        )
        deltas: dict[tuple[int, int], list] = {}
        for p, (ts, step, value) in new:
            for width in (Rollup.HOUR, Rollup.DAY):
                n = int(p.ts.timestamp()) // width
                d = deltas.get((width, n))
                if d is None:
                    deltas[(width, n)] = [1, value, value, value, value, (p.ts, step), ts]
                    continue
                d[0] += 1
                d[1] += value
                d[2] = min(d[2], value)
                d[3] = max(d[3], value)
                if (p.ts, step) >= d[5]:
                    d[4], d[5], d[6] = value, (p.ts, step), ts
        merge = _merge_sql(rollup_table)
        cursor.executemany(
            f"INSERT INTO {rollup_table} (series_id, bucket, ts, {_ROLLUP_COLUMNS}) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (series_id, bucket, ts) {merge}",
            [(series_id, width, adapt(datetime.fromtimestamp(n * width, tz=dt_timezone.utc)), c, s, mn, mx, last,
              last_ts, key[1])
             for (width, n), (c, s, mn, mx, last, key, last_ts) in sorted(deltas.items())],
        )
    if recompute:
        _refresh_rollups(series_id, sorted(recompute))
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
    columns = _ROLLUP_COLUMNS
    set_changed = (f"DO UPDATE SET count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max, "
                   f"last = EXCLUDED.last, last_ts = EXCLUDED.last_ts, last_step = EXCLUDED.last_step "
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
                           (array_agg(p.value ORDER BY p.ts DESC, p.step DESC))[1] AS last, max(p.ts) AS last_ts,
                           (array_agg(p.step ORDER BY p.ts DESC, p.step DESC))[1] AS last_step
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
                   (array_agg(last ORDER BY last_ts DESC, last_step DESC))[1], max(last_ts),
                   (array_agg(last_step ORDER BY last_ts DESC, last_step DESC))[1]
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
        for width, buckets, source in ((3600, hours, "point"), (86400, days, "rollup")):
            for lo, hi, chunk in _runs(buckets, gap=48 if width == 3600 else 7):
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
                    last_step = (f"(SELECT max(step) FROM {point_table} WHERE series_id = g.series_id "
                                 f"AND ts = g.last_ts)")
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
                    last_step = last.replace("r2.last FROM", "r2.last_step FROM")
                keep = "" if chunk is None else " AND g.n IN (SELECT value FROM json_each(%s))"
                cursor.execute(
                    f"""INSERT INTO {rollup_table} (series_id, bucket, ts, count, sum, min, max, last, last_ts, last_step)
                    SELECT g.series_id, g.bucket, g.ts, g.count, g.sum, g.min, g.max, {last}, g.last_ts, {last_step}
                    FROM ({select}) AS g WHERE true{keep}
                    ON CONFLICT (series_id, bucket, ts) DO UPDATE SET count = excluded.count, sum = excluded.sum,
                        min = excluded.min, max = excluded.max, last = excluded.last, last_ts = excluded.last_ts,
                        last_step = excluded.last_step""",
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
