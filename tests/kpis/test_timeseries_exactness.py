"""Rollups stay a GROUP BY over the raw points, whatever writers do and in whatever order.

Writes merge new points into the rollups as deltas and recompute only the hours
holding an overwritten point (kpis.timeseries.services). These tests compare
every rollup row with what the raw points say (tests/kpis/timeseries_oracle.py):
- a hypothesis property test on PostgreSQL: random sequences of batches,
  overlapping retries, overwrites (min, max and latest values included), several
  series at once and series deletes, inside a transaction and in autocommit;
- threads on their own PostgreSQL connections doing the same at once, to the
  same series, hours and keys, with a series deleted meanwhile;
- the same random histories on SQLite (the embedded default), in a subprocess.
"""
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, connections
from hypothesis import HealthCheck, given, settings, strategies as st

from kpis.timeseries.models import Point, Rollup, Series
from kpis.timeseries.services import (
    PointIn,
    series_delete,
    series_points_upsert,
    series_points_upsert_many,
)
from tests.kpis.timeseries_oracle import INSTANTS, STEPS, assert_rollups_exact, random_points

ROOT = Path(__file__).resolve().parents[2]

points_st = st.lists(
    st.builds(PointIn, st.sampled_from(INSTANTS), st.integers(-40, 40).map(lambda v: v / 4), st.sampled_from(STEPS)),
    min_size=1, max_size=12)
op_st = st.one_of(
    st.tuples(st.just("batch"), st.integers(0, 1), points_st),
    st.tuples(st.just("retry"), st.integers(0, 1000), st.none()),
    st.tuples(st.just("both"), points_st, points_st),
    st.tuples(st.just("delete"), st.integers(0, 1), st.none()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_st, min_size=1, max_size=12))
def test_rollups_equal_a_group_by_of_the_raw_points_after_any_history(db, ops):
    """Inside a transaction (as in a request that writes more than points): the general path."""
    _replay(ops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op_st, min_size=1, max_size=12))
def test_rollups_stay_exact_outside_a_transaction_too(transactional_db, ops):
    """In autocommit (log-metric, the KPI API): a batch of new points is one plain insert
    that fails on a point already stored and then takes the general path."""
    assert connection.get_autocommit() and not connection.in_atomic_block
    _replay(ops)


def _replay(ops):
    assert connection.vendor == "postgresql"
    series = [Series.objects.create(kind="kpi", key=f"p{i}").pk for i in range(2)]
    sent = []
    for kind, a, b in ops:
        if kind == "batch":
            series_points_upsert(series=series[a], points=b)
            sent.append((a, b))
        elif kind == "retry" and sent:  # the same batch again: a client retrying after a timeout
            target, batch = sent[a % len(sent)]
            series_points_upsert(series=series[target], points=batch)
        elif kind == "both":
            series_points_upsert_many(batches={series[0]: a, series[1]: b})
        elif kind == "delete":
            series_delete(series_ids=[series[a]])
            assert not Point.objects.filter(series_id=series[a]).exists()
            assert not Rollup.objects.filter(series_id=series[a]).exists()
            series[a] = Series.objects.create(kind="kpi", key=f"p{a}").pk
        assert_rollups_exact(series)


def test_overwriting_the_min_max_and_latest_point_recomputes_only_its_hour(db):
    series = Series.objects.create(kind="kpi", key="overwrite").pk
    hour0, hour1 = INSTANTS[0], INSTANTS[4]  # 00:00 and 01:00 of one day
    series_points_upsert(series=series, points=[PointIn(hour0, -5.0), PointIn(hour0, 9.0, 1), PointIn(hour1, 3.0)])
    series_points_upsert(series=series, points=[PointIn(hour0, 1.0), PointIn(hour0, 2.0, 1)])  # the min and max, the latest
    assert_rollups_exact([series])
    assert Rollup.objects.get(series_id=series, bucket=3600, ts=hour0).min == 1.0
    day = Rollup.objects.get(series_id=series, bucket=86400)
    assert (day.count, day.min, day.max, day.last, day.last_step) == (3, 1.0, 3.0, 3.0, 0)
    # A new point at the latest instant but an earlier step is not the latest.
    series_points_upsert(series=series, points=[PointIn(hour0, 100.0, 0), PointIn(hour0, 50.0, 3)])
    assert_rollups_exact([series])
    assert Rollup.objects.get(series_id=series, bucket=3600, ts=hour0).last == 50.0


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_batches_retries_overwrites_and_a_delete_keep_rollups_exact():
    """Six threads, each on its own PostgreSQL connection, write into the same two series,
    hours and keys at once (new points, retries, other values for the same keys); one
    series is deleted meanwhile. No deadlock, no lost update: the rollups of the
    surviving series equal a GROUP BY of its points, the deleted one leaves nothing."""
    assert connection.vendor == "postgresql"
    keep = Series.objects.create(kind="kpi", key="keep").pk
    doomed = Series.objects.create(kind="kpi", key="doomed").pk
    barrier = threading.Barrier(7)
    errors = []

    def writer(seed):
        rng = random.Random(seed)
        sent = []
        try:
            barrier.wait(timeout=20)
            for _ in range(25):
                if sent and rng.random() < 0.3:
                    series_points_upsert(series=keep, points=rng.choice(sent))
                    continue
                batch = random_points(rng, rng.randint(1, 40))
                sent.append(batch)
                if rng.random() < 0.5:
                    series_points_upsert(series=keep, points=batch)
                else:
                    try:
                        series_points_upsert_many(batches={keep: batch, doomed: random_points(rng, 5)})
                    except Series.DoesNotExist:  # deleted meanwhile: nothing of the batch is stored
                        series_points_upsert(series=keep, points=batch)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    def deleter():
        try:
            barrier.wait(timeout=20)
            threading.Event().wait(0.3)
            series_delete(series_ids=[doomed])
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(6)] + [threading.Thread(target=deleter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert Point.objects.filter(series_id=keep).count() > 50
    assert_rollups_exact([keep])
    assert not Series.objects.filter(pk=doomed).exists()
    assert not Point.objects.filter(series_id=doomed).exists() and not Rollup.objects.filter(series_id=doomed).exists()


def test_sqlite_gives_the_same_answers(tmp_path):
    """The embedded default: the same random histories on a fresh SQLite file, checked the same way."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["PMHUB_VAR_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "tests.kpis.timeseries_oracle", *map(str, range(8))],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK sqlite 8 histories" in result.stdout
