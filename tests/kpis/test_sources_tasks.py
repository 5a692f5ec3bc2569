"""Scheduled pulls with real processes: Celery workers on Redis, beat, a metrics server."""
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kpis.sources.models import MetricSource, PullRun
from kpis.timeseries.models import Point
from tests.fixtures_live import stop
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {"PMHUB_PULL_ALLOWED_HOSTS": "127.0.0.1", "PMHUB_PULL_DISPATCH_INTERVAL": "1"}


def make_sources(product, server, n, interval):
    kpi = make_kpi(product, "visits")  # noqa: F405
    now = timezone.now()
    return kpi, MetricSource.objects.bulk_create([
        MetricSource(kpi=kpi, name=f"s{i}", kind="http_json", interval_seconds=interval, timeout_seconds=5,
                     config={"url": f"{server.url}/count/{i}", "method": "GET", "json_path": "value", "body": ""},
                     next_run_at=now)
        for i in range(n)
    ])


def wait_for(predicate, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_two_workers_and_racing_dispatchers_pull_each_slot_once(product, metrics_server, celery_worker_process):
    from kpis.sources.tasks import dispatch_due_sources

    _kpi, sources = make_sources(product, metrics_server, 40, interval=3600)
    celery_worker_process("w1", concurrency=2, **WORKER_ENV)
    celery_worker_process("w2", concurrency=16, pool="threads", **WORKER_ENV)
    for _ in range(12):  # dispatchers race each other on both workers, 4 claims at a time
        dispatch_due_sources.delay(limit=4)
    assert wait_for(lambda: PullRun.objects.filter(status="success").count() >= 40, timeout=90), \
        list(PullRun.objects.values_list("status", "error"))
    time.sleep(2)  # anything pulled twice would show up now
    assert PullRun.objects.count() == 40
    assert {metrics_server.hits[f"/count/{i}"] for i in range(40)} == {1}
    assert Point.objects.count() == 1  # 40 sources of one KPI, one slot time: upserted into one point


def test_a_threads_worker_closes_each_pulls_database_connection(product, metrics_server, celery_worker_process):
    """Django's connections are per thread; Celery's Django fix-up closes the running thread's
    connections after every task, so 32 threads do not keep 32 connections open between pulls."""
    from django.db import connection

    from kpis.sources.tasks import dispatch_due_sources

    def others():
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()")
            return cur.fetchone()[0]

    _kpi, sources = make_sources(product, metrics_server, 24, interval=3600)
    before = others()
    celery_worker_process("pulls", concurrency=8, queues="celery,pulls", pool="threads", **WORKER_ENV)
    dispatch_due_sources.delay()
    assert wait_for(lambda: PullRun.objects.filter(status="success").count() >= 24, timeout=90), \
        list(PullRun.objects.values_list("status", "error"))
    time.sleep(2)
    assert others() - before <= 1, "a threads worker kept its pulls' connections open"


def test_beat_runs_the_schedule_end_to_end_on_three_workers(product, metrics_server, celery_worker_process,
                                                          celery_beat_process):
    kpi, sources = make_sources(product, metrics_server, 10, interval=2)
    # As `make run` and docker-compose run them: a prefork worker on the default queue (the
    # dispatcher), a threads worker on the pulls queue; plus one more worker on both queues.
    celery_worker_process("w1", concurrency=2, queues="celery", **WORKER_ENV)
    celery_worker_process("pulls", concurrency=8, queues="pulls", pool="threads", **WORKER_ENV)
    celery_worker_process("w2", concurrency=2, **WORKER_ENV)
    beat = celery_beat_process(**WORKER_ENV)
    try:
        # Each source has a slot every 2 s; let a few pass.
        assert wait_for(lambda: PullRun.objects.filter(status="success").count() >= 40, timeout=60)
    finally:
        stop(beat)
    MetricSource.objects.update(enabled=False)
    time.sleep(3)  # let queued pulls drain
    for source in sources:
        runs = list(PullRun.objects.filter(source=source).values_list("slot", "status"))
        slots = [slot for slot, _ in runs]
        assert len(slots) == len(set(slots)), "a slot was pulled twice"
        assert metrics_server.hits[f"/count/{source.name[1:]}"] == len(runs)
        assert all(status == "success" for _, status in runs)
        assert all((b - a) % timedelta(seconds=2) == timedelta(0) for a, b in zip(sorted(slots), sorted(slots)[1:]))
    assert Point.objects.filter(series_id=kpi.series_id).count() >= 4  # 10 sources share one KPI


def test_a_worker_killed_mid_pull_leaves_a_clear_failed_run_and_no_duplicates(product, metrics_server,
                                                                                celery_worker_process):
    from kpis.sources.tasks import pull_source

    kpi = make_kpi(product, "slow")  # noqa: F405
    source = MetricSource.objects.create(kpi=kpi, name="Slow", kind="http_json", interval_seconds=3600,
                                         timeout_seconds=10, config={"url": f"{metrics_server.url}/slow?s=4",
                                                                     "method": "GET", "json_path": "value"})
    env = dict(WORKER_ENV, CELERY_VISIBILITY_TIMEOUT="5")
    first = celery_worker_process("doomed", concurrency=1, **env)
    slot = timezone.now().replace(microsecond=0)
    pull_source.delay(source.pk, slot.isoformat())
    assert wait_for(lambda: metrics_server.hits["/slow"] >= 1, timeout=30)
    os.killpg(first.pid, signal.SIGKILL)  # mid-request
    first.wait(10)
    assert PullRun.objects.get().status == "running"
    time.sleep(6)  # past the visibility timeout: the next worker restores the message as it starts
    celery_worker_process("rescuer", concurrency=1, **env)  # Redis redelivers the unacknowledged task
    assert wait_for(lambda: PullRun.objects.filter(status="success").exists(), timeout=60)
    interrupted, done = PullRun.objects.order_by("started_at")
    assert interrupted.status == "failed" and "Interrupted" in interrupted.error
    assert done.slot == slot and done.points_written == 1
    assert list(Point.objects.filter(series_id=kpi.series_id).values_list("ts", flat=True)) == [slot]
