"""The one read path out of the time-series store: raw or bucketed points.

The database aggregates; a chart never receives more than it can show.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import connection

from kpis.models import Point, Rollup

MAX_CHART_POINTS = 1000
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400, "7d": 604800}


@dataclass(frozen=True, slots=True)
class Bucket:
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


def bucket_seconds_for(*, start: datetime, end: datetime, max_points: int = MAX_CHART_POINTS) -> int:
    """The smallest standard bucket that keeps a range under max_points."""
    span = max((end - start).total_seconds(), 1)
    for seconds in sorted(BUCKETS.values()):
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
    return [
        Bucket(
            ts=datetime.fromtimestamp(int(b) * bucket_seconds, tz=dt_timezone.utc),
            avg=avg, min=mn, max=mx, sum=sm, count=cnt, last=last,
        )
        for b, avg, mn, mx, sm, cnt, last in rows
    ]


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
    return [
        Bucket(
            ts=datetime.fromtimestamp(int(b) * bucket_seconds, tz=dt_timezone.utc),
            avg=avg, min=mn, max=mx, sum=sm, count=int(cnt), last=last,
        )
        for b, avg, mn, mx, sm, cnt, last in rows
    ]


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
