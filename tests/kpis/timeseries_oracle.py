"""What every rollup row must be: a GROUP BY over the raw points, computed here in Python.

Shared by tests/kpis/test_timeseries_exactness.py (PostgreSQL, in process) and the
SQLite run it starts in a subprocess (python -m tests.kpis.timeseries_oracle).
Values in these tests are multiples of 1/4 below 2**40, so every sum is exact
whatever order the store adds them in, and rows can be compared with ==.
"""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
T0 = datetime(2026, 3, 1, tzinfo=UTC)
# A small grid of instants (3 days x 3 hours x 2 minutes x 2 microseconds) and 3 steps:
# batches drawn from it overlap, retry and overwrite each other all the time.
INSTANTS = [T0 + timedelta(days=d, hours=h, minutes=m, microseconds=u)
            for d in range(3) for h in (0, 1, 23) for m in (0, 59) for u in (0, 1)]
STEPS = (0, 1, 7)


def expected_rollups(series_ids) -> set[tuple]:
    """(series, bucket, ts, count, sum, min, max, last, last_ts, last_step) from the raw points."""
    from kpis.timeseries.models import Point

    groups: dict[tuple, list] = {}
    for sid, ts, step, value in Point.objects.filter(series_id__in=list(series_ids)).values_list(
            "series_id", "ts", "step", "value"):
        for width in (3600, 86400):
            start = datetime.fromtimestamp(int(ts.timestamp()) // width * width, tz=UTC)
            groups.setdefault((sid, width, start), []).append((ts, step, value))
    out = set()
    for (sid, width, start), points in groups.items():
        values = [v for _, _, v in points]
        last_ts, last_step, last = max(points)
        out.add((sid, width, start, len(points), sum(values), min(values), max(values), last, last_ts, last_step))
    return out


def stored_rollups(series_ids) -> set[tuple]:
    from kpis.timeseries.models import Rollup

    return {(sid, width, ts.astimezone(UTC), count, s, mn, mx, last, last_ts.astimezone(UTC), last_step)
            for sid, width, ts, count, s, mn, mx, last, last_ts, last_step in Rollup.objects.filter(
                series_id__in=list(series_ids)).values_list(
                "series_id", "bucket", "ts", "count", "sum", "min", "max", "last", "last_ts", "last_step")}


def assert_rollups_exact(series_ids) -> None:
    expected, stored = expected_rollups(series_ids), stored_rollups(series_ids)
    missing, extra = sorted(expected - stored), sorted(stored - expected)
    assert not missing and not extra, f"rollups differ from GROUP BY: expected {missing[:5]}, stored {extra[:5]}"


def random_points(rng: random.Random, n: int, values=(-40, 40)):
    from kpis.timeseries.services import PointIn

    return [PointIn(rng.choice(INSTANTS), rng.randint(*values) / 4, rng.choice(STEPS)) for _ in range(n)]


def run_random_history(seed: int, rounds: int = 60) -> None:
    """Random batches, retries, overwrites and series deletes on two series; checks rollups after each step."""
    from kpis.timeseries.models import Series
    from kpis.timeseries.services import series_delete, series_points_upsert, series_points_upsert_many

    rng = random.Random(seed)
    series = [Series.objects.create(kind="kpi", key=f"oracle-{seed}-{i}").pk for i in range(2)]
    sent = []
    for _ in range(rounds):
        op = rng.random()
        if op < 0.45 or not sent:
            batch = random_points(rng, rng.randint(1, 12))
            target = rng.randrange(2)
            series_points_upsert(series=series[target], points=batch)
            sent.append((target, batch))
        elif op < 0.65:  # a retry of an earlier batch, maybe of a series deleted since (then recreated)
            target, batch = rng.choice(sent)
            series_points_upsert(series=series[target], points=batch)
        elif op < 0.9:
            series_points_upsert_many(batches={series[0]: random_points(rng, rng.randint(1, 8)),
                                               series[1]: random_points(rng, rng.randint(1, 8))})
        else:
            target = rng.randrange(2)
            series_delete(series_ids=[series[target]])
            series[target] = Series.objects.create(kind="kpi", key=f"oracle-{seed}-{target}-again").pk
        assert_rollups_exact(series)


if __name__ == "__main__":  # python -m tests.kpis.timeseries_oracle SEED... (any database, e.g. SQLite)
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    for arg in sys.argv[1:]:
        run_random_history(int(arg))
    print(f"OK {connection.vendor} {len(sys.argv) - 1} histories")
