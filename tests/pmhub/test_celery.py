"""The Celery app's own behaviour with a real worker: database connections across tasks."""
import time

import pytest
from django.db import connection

from pmhub.models import WorkerHeartbeat

pytestmark = pytest.mark.slow


def _other_backends() -> set[int]:
    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cur.fetchall()}


def _beats() -> int:
    return sum(WorkerHeartbeat.objects.values_list("beats", flat=True))


def _wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_prefork_worker_keeps_its_database_connection_between_tasks(celery_worker_process):
    """Celery's Django fix-up would close it after every task (a new PostgreSQL backend each time);
    pmhub keeps it for CONN_MAX_AGE as Django does between requests."""
    from pmhub.tasks import heartbeat

    before = _other_backends()
    celery_worker_process("keeper", concurrency=1, queues="celery")
    heartbeat.delay()
    assert _wait_for(lambda: _beats() == 1)
    time.sleep(0.5)  # the task's postrun has run by now
    kept = _other_backends() - before
    assert len(kept) == 1, "the worker closed its connection after the task"
    heartbeat.delay()
    assert _wait_for(lambda: _beats() == 2)
    time.sleep(0.5)
    assert _other_backends() - before == kept  # the same backend served the second task
