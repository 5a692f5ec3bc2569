"""The time-series store: idempotent upserts, rollups kept at ingest, concurrent writers."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection, connections

from kpis.timeseries.models import Point, Rollup, Series
from kpis.timeseries.selectors import series_buckets, series_buckets_many, series_latest, series_points
from kpis.timeseries.services import (
    PointIn,
    series_points_upsert,
    series_points_upsert_many,
    series_rollups_refresh,
)

UTC = timezone.utc
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def series(db):
    return Series.objects.create(kind=Series.Kind.KPI, key="k")


def minutes(n, start=T0, value=lambda i: float(i)):
    return [PointIn(ts=start + timedelta(minutes=i), value=value(i)) for i in range(n)]


def test_upsert_is_idempotent_and_last_write_wins(series):
    batch = minutes(500)
    assert series_points_upsert(series=series, points=batch) == 500
    assert series_points_upsert(series=series, points=batch) == 500
    assert Point.objects.filter(series=series).count() == 500
    series_points_upsert(series=series, points=[PointIn(ts=T0, value=42.0)])
    assert series_points(series_id=series.pk, limit=1)[0][2] == 42.0
    assert series_latest(series_id=series.pk)[2] == 499.0


def _raw_buckets(series, bucket):
    return [(b.ts, round(b.avg, 9), b.min, b.max, b.count, b.last)
            for b in series_buckets(series_id=series.pk, start=T0 - timedelta(days=3), end=T0 + timedelta(days=10),
                                    bucket_seconds=bucket, source="raw")]


def _rolled(series, bucket):
    return [(b.ts, round(b.avg, 9), b.min, b.max, b.count, b.last)
            for b in series_buckets(series_id=series.pk, start=T0 - timedelta(days=3), end=T0 + timedelta(days=10),
                                    bucket_seconds=bucket)]


def test_rollups_match_raw_aggregates_after_overlapping_batches(series):
    series_points_upsert(series=series, points=minutes(3000))
    # An overlapping batch rewrites part of the range and extends it; order does not matter.
    series_points_upsert(series=series, points=minutes(2000, start=T0 + timedelta(minutes=2500), value=lambda i: -i))
    series_points_upsert(series=series, points=minutes(10))  # a re-sent old batch
    for bucket in (3600, 6 * 3600, 86400, 7 * 86400):
        assert _rolled(series, bucket) == _raw_buckets(series, bucket)
    hours = Rollup.objects.filter(series=series, bucket=3600)
    assert hours.count() == 75  # 4,500 minutes
    assert sum(hours.values_list("count", flat=True)) == Point.objects.filter(series=series).count() == 4500
    assert Rollup.objects.filter(series=series, bucket=86400).count() == 4


def test_a_point_repeated_in_one_batch_is_stored_once_the_last_one_winning(series):
    batch = [PointIn(ts=T0, value=1.0), PointIn(ts=T0 + timedelta(minutes=1), value=2.0), PointIn(ts=T0, value=3.0),
             PointIn(ts=T0.astimezone(timezone(timedelta(hours=2))), value=4.0)]  # the same instant, another zone
    assert series_points_upsert(series=series, points=batch) == 2
    assert [v for _ts, _step, v in series_points(series_id=series.pk)] == [4.0, 2.0]
    assert _rolled(series, 3600) == _raw_buckets(series, 3600)


def test_one_call_for_many_series_keeps_each_series_rollups(db):
    """Model metrics: several series in one upsert, points scattered over days and steps."""
    a, b = (Series.objects.create(kind=Series.Kind.METRIC, key=k) for k in ("loss", "accuracy"))
    scattered = [PointIn(ts=T0 + timedelta(days=d, minutes=m), value=float(d * 100 + m), step=s)
                 for d in (0, 1, 5, 9) for m in (0, 59, 61, 1439) for s in (0, 1)]
    assert series_points_upsert_many(batches={a: scattered, b.pk: minutes(200)}) == len(scattered) + 200
    # Rewrite part of a, in another call that also touches b: rollups follow the raw points.
    assert series_points_upsert_many(batches={b: minutes(10, value=lambda i: -1.0), a: scattered[:5]}) == 15
    for s in (a, b):
        for bucket in (3600, 86400, 7 * 86400):
            assert _rolled(s, bucket) == _raw_buckets(s, bucket)
    assert Rollup.objects.filter(series=a, bucket=86400).count() == 4  # days 0, 1, 5 and 9
    assert sum(Rollup.objects.filter(series=a, bucket=3600).values_list("count", flat=True)) == len(scattered)


def test_rollups_rebuild_for_points_written_around_the_store(series):
    Point.objects.bulk_create([Point(series=series, ts=T0 + timedelta(hours=i), value=i) for i in range(48)])
    assert series_rollups_refresh(series=series) == 48
    assert _rolled(series, 86400) == _raw_buckets(series, 86400)


def test_bad_points_never_reach_the_store(series):
    with pytest.raises(ValueError):
        series_points_upsert(series=series, points=[PointIn(ts=T0, value=1.0), PointIn(ts=T0, value=float("nan"))])
    with pytest.raises(ValueError):
        series_points_upsert(series=series, points=[PointIn(ts=datetime(2026, 1, 1), value=1.0)])
    with pytest.raises(ValueError):
        series_points_upsert(series=series, points=[PointIn(ts=T0, value="1.5")])
    assert not Point.objects.exists() and not Rollup.objects.exists()


def test_timestamps_are_stored_to_the_microsecond_in_any_zone(series):
    zone = timezone(timedelta(hours=5, minutes=30))
    stamps = [datetime(2026, 3, 1, 5, 30, 0, 123457, tzinfo=zone), datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
              datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    series_points_upsert(series=series, points=[PointIn(ts=ts, value=1.0) for ts in stamps])
    assert sorted(Point.objects.filter(series=series).values_list("ts", flat=True)) == sorted(stamps)
    # Written another way (the ORM), the same instant is the same natural key.
    Point.objects.filter(series=series, ts=stamps[0]).update(value=2.0)
    series_points_upsert(series=series, points=[PointIn(ts=stamps[0].astimezone(UTC), value=3.0)])
    assert list(Point.objects.filter(series=series, ts=stamps[0]).values_list("value", flat=True)) == [3.0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_store_each_point_once():
    """Four threads, each its own PostgreSQL connection, send overlapping batches at once."""
    assert connection.vendor == "postgresql"
    series = Series.objects.create(kind=Series.Kind.KPI, key="concurrent")
    barrier = threading.Barrier(4)
    errors = []

    def client(offset):
        try:
            barrier.wait(timeout=10)
            for round_ in range(3):
                start = T0 + timedelta(minutes=offset * 500 + round_ * 100)
                series_points_upsert(series=series.pk, points=minutes(1500, start=start, value=lambda i: 1.0))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    expected = len({offset * 500 + round_ * 100 + i for offset in range(4) for round_ in range(3) for i in range(1500)})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (ts, step)) FROM kpis_point WHERE series_id = %s", [series.pk])
        assert cursor.fetchone() == (expected, expected)
    assert sum(Rollup.objects.filter(series=series, bucket=3600).values_list("count", flat=True)) == expected
    assert sum(Rollup.objects.filter(series=series, bucket=86400).values_list("count", flat=True)) == expected


def test_buckets_of_many_series_at_once_equal_each_series_read_alone(db):
    """A dashboard reads all its KPIs in one go: rolled-up, raw-only (written around the store) and empty series."""
    rolled, raw_only, empty = (Series.objects.create(kind=Series.Kind.KPI, key=k) for k in ("a", "b", "c"))
    series_points_upsert(series=rolled, points=minutes(3000, value=lambda i: float(i % 13)))
    Point.objects.bulk_create([Point(series=raw_only, ts=T0 + timedelta(minutes=7 * i), value=i % 5) for i in range(500)])
    ids = [rolled.pk, raw_only.pk, empty.pk]
    for bucket in (300, 3600, 3 * 3600, 86400):
        start, end = T0 - timedelta(hours=5), T0 + timedelta(days=3)
        many = series_buckets_many(series_ids=ids, start=start, end=end, bucket_seconds=bucket)
        assert set(many) == set(ids) and many[empty.pk] == []
        for sid in ids:
            alone = series_buckets(series_id=sid, start=start, end=end, bucket_seconds=bucket)
            assert [(b.ts, round(b.avg, 9), b.min, b.max, b.count, b.last) for b in many[sid]] == \
                [(b.ts, round(b.avg, 9), b.min, b.max, b.count, b.last) for b in alone]
        assert many[rolled.pk] and many[raw_only.pk]


class _Holder(threading.Thread):
    """Stores a batch on its own connection and keeps the transaction open until released."""

    def __init__(self, series_id, points):
        super().__init__()
        self.series_id, self.points = series_id, points
        self.holding, self.release = threading.Event(), threading.Event()
        self.error = None

    def run(self):
        from django.db import transaction

        try:
            with transaction.atomic():
                series_points_upsert(series=self.series_id, points=self.points)
                self.holding.set()
                self.release.wait(timeout=20)
        except Exception as exc:  # noqa: BLE001
            self.error = exc
            self.holding.set()
        finally:
            connections.close_all()

    def __enter__(self):
        self.start()
        assert self.holding.wait(timeout=20) and self.error is None
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.join(timeout=20)
        assert self.error is None


def _upsert_or_lock_timeout(series_id, points) -> str:
    """Store points unless that means waiting more than 300 ms for a lock."""
    from django.db import OperationalError

    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '300ms'")
    try:
        series_points_upsert(series=series_id, points=points)
        return "stored"
    except OperationalError as exc:
        assert "lock timeout" in str(exc)
        return "waited"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


@pytest.mark.django_db(transaction=True)
def test_writers_of_one_series_share_only_the_rollup_rows_they_both_touch():
    """New points merge into their hour's and day's rollup rows (row locks, taken last):
    a transaction still open holds only those rows, never the series or other days."""
    series = Series.objects.create(kind=Series.Kind.KPI, key="days")
    with _Holder(series.pk, minutes(60, start=T0)):  # hour 0 of day 0, not committed yet
        assert _upsert_or_lock_timeout(series.pk, minutes(60, start=T0 + timedelta(days=3))) == "stored"
        # Same day: its daily row is held until the holder commits (the store's own
        # transactions commit right after that merge, so writers overlap but for it).
        assert _upsert_or_lock_timeout(series.pk, minutes(60, start=T0 + timedelta(hours=5))) == "waited"
        assert not Point.objects.filter(series=series, ts__gte=T0 + timedelta(hours=5)).filter(
            ts__lt=T0 + timedelta(days=1)).exists()  # the refused batch left nothing
    assert _upsert_or_lock_timeout(series.pk, minutes(60, start=T0 + timedelta(hours=5))) == "stored"
    days = dict(Rollup.objects.filter(series=series, bucket=86400).values_list("ts", "count"))
    assert days == {T0: 120, T0 + timedelta(days=3): 60}


@pytest.mark.django_db(transaction=True)
def test_a_batch_over_many_days_holds_no_other_day():
    series = Series.objects.create(kind=Series.Kind.KPI, key="wide")
    daily = [PointIn(ts=T0 + timedelta(days=i), value=1.0) for i in range(100)]
    with _Holder(series.pk, daily):
        assert _upsert_or_lock_timeout(series.pk, minutes(10, start=T0 + timedelta(days=300))) == "stored"
        other = Series.objects.create(kind=Series.Kind.KPI, key="other")
        assert _upsert_or_lock_timeout(other.pk, minutes(10)) == "stored"  # other series go on
    assert Rollup.objects.filter(series=series, bucket=86400).count() == 101


@pytest.mark.django_db(transaction=True)
def test_deleting_a_series_waits_for_a_batch_in_flight_and_leaves_no_point_behind():
    """Points have no database foreign key: series_delete takes the writers' lock instead."""
    from kpis.timeseries.services import series_delete

    series = Series.objects.create(kind=Series.Kind.KPI, key="doomed")
    series_points_upsert(series=series.pk, points=minutes(30))
    deleted = threading.Event()

    def delete():
        try:
            series_delete(series_ids=[series.pk])
            deleted.set()
        finally:
            connections.close_all()

    with _Holder(series.pk, minutes(30, start=T0 + timedelta(days=2))):
        deleter = threading.Thread(target=delete)
        deleter.start()
        assert not deleted.wait(timeout=0.5)  # waits for the batch in flight
    deleter.join(timeout=20)
    assert deleted.is_set()
    assert not Series.objects.filter(pk=series.pk).exists()
    assert not Point.objects.filter(series_id=series.pk).exists()
    assert not Rollup.objects.filter(series_id=series.pk).exists()
    # A batch for the series deleted meanwhile stores nothing and says so.
    with pytest.raises(Series.DoesNotExist):
        series_points_upsert(series=series.pk, points=minutes(5))
    assert not Point.objects.filter(series_id=series.pk).exists()


def test_a_batch_naming_a_deleted_series_stores_nothing_for_any_series(series):
    from kpis.timeseries.services import series_delete

    gone = Series.objects.create(kind=Series.Kind.KPI, key="gone")
    series_delete(series_ids=[gone.pk])
    with pytest.raises(Series.DoesNotExist):
        series_points_upsert_many(batches={series.pk: minutes(5), gone.pk: minutes(5)})
    assert not Point.objects.exists() and not Rollup.objects.exists()
