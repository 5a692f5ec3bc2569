"""The one read path out of the time-series store: raw or bucketed points.

The database aggregates; a chart never receives more than it can show.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone
from typing import NamedTuple

from django.db import connection

from kpis.timeseries.models import Point, Rollup

MAX_CHART_POINTS = 1000
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "7d": 604800}
# Charts may also use 3-hour buckets (hourly rollups still serve them): a 30-day
# dashboard chart then draws 240 buckets instead of 720 (1 h) or 120 (6 h).
CHART_BUCKETS = sorted({*BUCKETS.values(), 3 * 3600})


class Bucket(NamedTuple):
    """One bucket of a series. A NamedTuple: a dashboard builds thousands (built
    with tuple.__new__, which skips the Python-level __new__)."""

    ts: datetime
    avg: float
    min: float
    max: float
    sum: float
    count: int
    last: float


def series_points(*, series_id: int, start: datetime | None = None, end: datetime | None = None, limit: int | None = None):
    """Raw points ordered by time then step."""
    qs = Point.objects.filter(series_id=series_id)
    if start is not None:
        qs = qs.filter(ts__gte=start)
    if end is not None:
        qs = qs.filter(ts__lt=end)
    qs = qs.order_by("ts", "step").values_list("ts", "step", "value")
    return list(qs[:limit] if limit else qs)


def bucket_seconds_for(*, start: datetime, end: datetime, max_points: int = MAX_CHART_POINTS,
                       choices=None) -> int:
    """The smallest bucket (of choices: the API's BUCKETS by default) that keeps a range under max_points."""
    span = max((end - start).total_seconds(), 1)
    for seconds in sorted(BUCKETS.values()) if choices is None else choices:
        if span / seconds <= max_points:
            return seconds
    return int(span // max_points) + 1


def rollup_width_for(bucket_seconds: int) -> int | None:
    """The widest rollup a bucket can be built from (None: only raw points can)."""
    if bucket_seconds % Rollup.DAY == 0:
        return Rollup.DAY
    if bucket_seconds % Rollup.HOUR == 0:
        return Rollup.HOUR
    return None


def series_buckets(*, series_id: int, start: datetime, end: datetime, bucket_seconds: int,
                   source: str = "auto") -> list[Bucket]:
    """avg/min/max/sum/count/last per bucket, computed by the database.

    source="auto" reads the daily or hourly rollups when the bucket is a whole
    number of days or hours (a year of minute data is then 365 rows, not
    525,600), and raw points otherwise; "raw" always reads raw points;
    "rollups" is auto for a caller that knows the series has rollups (it skips
    one query). Rollup reads widen the range to whole rollup buckets at its edges.
    """
    width = rollup_width_for(bucket_seconds) if source in ("auto", "rollups") else None
    if width and (source == "rollups" or series_has_rollups(series_id=series_id)):
        return _rollup_buckets(series_id=series_id, start=start, end=end, bucket_seconds=bucket_seconds, width=width)
    table = Point._meta.db_table
    if connection.vendor == "postgresql":
        bucket_expr = "floor(extract(epoch from ts) / %s)::bigint"
        params = [bucket_seconds, series_id, start, end]
        last_expr = "(array_agg(value ORDER BY ts DESC, step DESC))[1]"
    else:
        bucket_expr = "CAST(strftime('%%s', ts) AS INTEGER) / %s"
        adapt = connection.ops.adapt_datetimefield_value
        params = [bucket_seconds, series_id, adapt(start), adapt(end)]
        last_expr = None
    with connection.cursor() as cursor:
        if last_expr:
            cursor.execute(
                f"SELECT {bucket_expr} AS b, avg(value), min(value), max(value), sum(value), count(*), {last_expr} "
                f"FROM {table} WHERE series_id = %s AND ts >= %s AND ts < %s GROUP BY b ORDER BY b",
                params,
            )
            rows = cursor.fetchall()
        else:
            cursor.execute(
                f"SELECT {bucket_expr} AS b, avg(value), min(value), max(value), sum(value), count(*) "
                f"FROM {table} WHERE series_id = %s AND ts >= %s AND ts < %s GROUP BY b ORDER BY b",
                params,
            )
            rows = [(*row, None) for row in cursor.fetchall()]
            _fill_last_sqlite(rows, series_id=series_id, start=start, end=end, bucket_seconds=bucket_seconds)
    return _buckets(rows, bucket_seconds)


def series_has_rollups(*, series_id: int) -> bool:
    """Series written through series_points_upsert have rollups; points written around it may not."""
    return Rollup.objects.filter(series_id=series_id).exists()


def _rollup_buckets(*, series_id, start, end, bucket_seconds, width) -> list[Bucket]:
    table = Rollup._meta.db_table
    aligned = datetime.fromtimestamp(int(start.timestamp()) // width * width, tz=dt_timezone.utc)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT floor(extract(epoch from ts) / %s)::bigint AS b, sum(sum) / sum(count), min(min), max(max), "
                f"sum(sum), sum(count), (array_agg(last ORDER BY last_ts DESC))[1] "
                f"FROM {table} WHERE series_id = %s AND bucket = %s AND ts >= %s AND ts < %s GROUP BY b ORDER BY b",
                [bucket_seconds, series_id, width, aligned, end],
            )
            rows = cursor.fetchall()
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.execute(
                f"SELECT CAST(strftime('%%s', ts) AS INTEGER) / %s AS b, sum(sum) / sum(count), min(min), max(max), "
                f"sum(sum), sum(count), CAST(max(last_ts) AS TEXT) "
                f"FROM {table} WHERE series_id = %s AND bucket = %s AND ts >= %s AND ts < %s GROUP BY b ORDER BY b",
                [bucket_seconds, series_id, width, adapt(aligned), adapt(end)],
            )
            raw_rows = cursor.fetchall()
            cursor.execute(
                f"SELECT CAST(last_ts AS TEXT), last FROM {table} WHERE series_id = %s AND bucket = %s AND ts >= %s AND ts < %s",
                [series_id, width, adapt(aligned), adapt(end)],
            )
            last_by_ts = dict(cursor.fetchall())
            rows = [(*row[:6], last_by_ts.get(row[6])) for row in raw_rows]
    return _buckets(rows, bucket_seconds)


def _buckets(rows, bucket_seconds: int) -> list[Bucket]:
    """Rows of (bucket number, avg, min, max, sum, count, last) as Buckets."""
    new, fromts, utc = tuple.__new__, datetime.fromtimestamp, dt_timezone.utc
    return [new(Bucket, (fromts(int(b) * bucket_seconds, tz=utc), avg, mn, mx, sm, int(cnt), last))
            for b, avg, mn, mx, sm, cnt, last in rows]


def series_buckets_many(*, series_ids: list[int], start: datetime, end: datetime,
                        bucket_seconds: int) -> dict[int, list[Bucket]]:
    """series_buckets for several series (a dashboard's KPIs) in at most three queries.

    Which series have rollups (one query), the buckets of those from their
    rollups (one), the others from raw points (one). Same values as
    series_buckets(source="auto") for each series.
    """
    series_ids = list(dict.fromkeys(series_ids))
    out: dict[int, list[Bucket]] = {sid: [] for sid in series_ids}
    if not series_ids:
        return out
    if connection.vendor != "postgresql":
        for sid in series_ids:
            out[sid] = series_buckets(series_id=sid, start=start, end=end, bucket_seconds=bucket_seconds)
        return out
    width = rollup_width_for(bucket_seconds)
    rolled: list[int] = []
    with connection.cursor() as cursor:
        if width:
            cursor.execute(
                f"SELECT s FROM unnest(%s::bigint[]) AS s "
                f"WHERE EXISTS (SELECT 1 FROM {Rollup._meta.db_table} r WHERE r.series_id = s)", [series_ids])
            rolled = [row[0] for row in cursor.fetchall()]
        raw = [sid for sid in series_ids if sid not in set(rolled)]
        rows = []
        if rolled:
            aligned = datetime.fromtimestamp(int(start.timestamp()) // width * width, tz=dt_timezone.utc)
            cursor.execute(
                f"SELECT series_id, floor(extract(epoch from ts) / %s)::bigint AS b, sum(sum) / sum(count), min(min), "
                f"max(max), sum(sum), sum(count), (array_agg(last ORDER BY last_ts DESC))[1] "
                f"FROM {Rollup._meta.db_table} WHERE series_id = ANY(%s) AND bucket = %s AND ts >= %s AND ts < %s "
                f"GROUP BY series_id, b ORDER BY series_id, b",
                [bucket_seconds, rolled, width, aligned, end],
            )
            rows += cursor.fetchall()
        if raw:
            cursor.execute(
                f"SELECT series_id, floor(extract(epoch from ts) / %s)::bigint AS b, avg(value), min(value), max(value), "
                f"sum(value), count(*), (array_agg(value ORDER BY ts DESC, step DESC))[1] "
                f"FROM {Point._meta.db_table} WHERE series_id = ANY(%s) AND ts >= %s AND ts < %s "
                f"GROUP BY series_id, b ORDER BY series_id, b",
                [bucket_seconds, raw, start, end],
            )
            rows += cursor.fetchall()
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    for sid, series_rows in grouped.items():
        out[sid] = _buckets(series_rows, bucket_seconds)
    return out


def _fill_last_sqlite(rows, *, series_id, start, end, bucket_seconds):
    """SQLite has no ordered array_agg; fetch each bucket's last value in one pass."""
    table = Point._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT b, value FROM (SELECT CAST(strftime('%%s', ts) AS INTEGER) / %s AS b, value, "
            f"row_number() OVER (PARTITION BY CAST(strftime('%%s', ts) AS INTEGER) / %s ORDER BY ts DESC, step DESC) AS rn "
            f"FROM {table} WHERE series_id = %s AND ts >= %s AND ts < %s) WHERE rn = 1",
            [bucket_seconds, bucket_seconds, series_id, adapt(start), adapt(end)],
        )
        last = dict(cursor.fetchall())
    for i, row in enumerate(rows):
        rows[i] = (*row[:6], last.get(row[0]))


def series_latest(*, series_id: int, before: datetime | None = None):
    """The latest (ts, step, value) of a series, or None."""
    qs = Point.objects.filter(series_id=series_id)
    if before is not None:
        qs = qs.filter(ts__lt=before)
    return qs.order_by("-ts", "-step").values_list("ts", "step", "value").first()


def default_range(days: int = 30) -> tuple[datetime, datetime]:
    end = datetime.now(tz=dt_timezone.utc)
    return end - timedelta(days=days), end
