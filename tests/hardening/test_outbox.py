"""The outbox keeps follow-up tasks while Redis is down and sends them once it is back."""
import pytest
import redis as redis_lib

from pmhub import outbox
from pmhub.celery import app
from pmhub.models import OutboxMessage
from pmhub.tasks import heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(private_redis):
    """Point the Celery app (not eager) at a private Redis for this test."""
    old_url, old_eager = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = private_redis.url, False
    app._pool = app.amqp._producer_pool = None
    yield private_redis
    app.conf.broker_url, app.conf.task_always_eager = old_url, old_eager
    app._pool = app.amqp._producer_pool = None


def queued(redis_server) -> int:
    return redis_lib.Redis(port=redis_server.port).llen("celery")


def test_task_is_sent_at_once_when_the_broker_answers(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.delay_on_commit(heartbeat)
    assert queued(broker) == 1
    assert not OutboxMessage.objects.exists()


def test_task_is_kept_while_the_broker_is_down_and_flushed_after(broker, django_capture_on_commit_callbacks):
    broker.stop()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.delay_on_commit(heartbeat)
        outbox.delay_on_commit(heartbeat)  # the same task and arguments are kept once
    assert OutboxMessage.objects.count() == 1
    assert outbox.flush() == 0  # still down: nothing lost, one more attempt counted
    assert OutboxMessage.objects.get().attempts == 1

    broker.start()
    assert outbox.flush() == 1
    assert not OutboxMessage.objects.exists()
    assert queued(broker) == 1


TASK_LOOKUP_RACE = """
import threading
import django
django.setup()
from pmhub.outbox import task_named

barrier, found, errors = threading.Barrier(8), [], []

def look_up():
    barrier.wait()
    try:
        found.append(task_named("kpis.tasks.kpi_evaluate").name)
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=look_up) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(found), errors)
"""


def test_first_lookups_by_name_in_a_new_threaded_process_all_find_the_task():
    """A gunicorn thread's first ingest queues by task name while the other threads do the same:
    none may miss the task because another thread's discovery has not finished."""
    import subprocess
    import sys

    from django.conf import settings

    for _ in range(3):  # a fresh process each time: discovery happens once per process
        result = subprocess.run([sys.executable, "-c", TASK_LOOKUP_RACE], capture_output=True, text=True,
                                cwd=settings.BASE_DIR, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip().splitlines()[-1] == "8 []"
