"""Follow-up work that survives a broker outage, and the one seam services queue through.

Services name the task they queue ("kpis.tasks.kpi_evaluate") instead of
importing its module: tasks import services, never the reverse (task_named).

`delay_on_commit(task, *args)` queues a Celery task once the transaction
commits, like `task.delay_on_commit`. If the broker (Redis) cannot take the
message, the request does not fail: the message is written to the database
(OutboxMessage) and the beat task `pmhub.tasks.outbox_flush` sends it once the
broker is back. Tasks sent this way must be idempotent (they all are: they
take ids and re-read), since a flush may race a late send.
"""
import hashlib
import json
import logging
import threading
import time

from django.db import transaction

log = logging.getLogger(__name__)
_discovery_lock = threading.Lock()


def task_named(task):
    """The registered Celery task of this name (a task object is returned as it is).

    Task modules are imported on first use (Celery's autodiscovery, as a worker
    does at start), so a web process finds every task without importing them.
    """
    if not isinstance(task, str):
        return task
    from celery import current_app

    tasks = current_app.tasks
    if task not in tasks:
        # Celery runs its autodiscovery once per process: a second thread asking while
        # the first one imports would find the registry half filled. Wait for it.
        with _discovery_lock:
            if task not in tasks:
                current_app.loader.import_default_modules()
    return tasks[task]


def _key(task_name: str, args: list) -> str:
    return hashlib.sha256(json.dumps([task_name, args], sort_keys=True, default=str).encode()).hexdigest()


def save_for_later(task_name: str, args: list) -> None:
    from .models import OutboxMessage

    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task_name, args=args, key=_key(task_name, args))], ignore_conflicts=True
    )


def send_now(task, args: list, countdown: float | None = None) -> bool:
    """Publish at once or not at all; False if the broker did not take it.

    Celery would retry the connection for seconds; a request must not wait
    that long, so this tries once (connect timeout 1 s) and gives up.
    countdown: run it no sooner than this many seconds from now (not in eager mode).
    """
    app = task.app
    if app.conf.task_always_eager:
        task.apply(args=args)
        return True
    error = None
    for _attempt in range(2):  # a pooled connection may be stale after a broker restart: one fresh try
        try:
            with app.producer_pool.acquire(block=True, timeout=2) as producer:
                try:
                    producer.connection.ensure_connection(max_retries=0, timeout=1)
                    task.apply_async(args=args, producer=producer, retry=False, countdown=countdown)
                except Exception:
                    # Do not hand a broken connection to the next caller.
                    producer.connection.close()
                    raise
            return True
        except Exception as exc:  # noqa: BLE001 - any broker failure: keep it for later
            error = exc
    log.warning("broker unavailable, %s%s kept in the outbox: %s", task.name, tuple(args), type(error).__name__)
    return False


def delay_on_commit(task, *args) -> None:
    """Queue task(*args) once the transaction commits; task is a task or its registered name."""
    args = list(args)
    task = task_named(task)

    def send():
        if not send_now(task, args):
            try:
                save_for_later(task.name, args)
            except Exception:  # noqa: BLE001 - the database is gone too: nothing more can be done
                log.exception("could not keep %s%s in the outbox", task.name, tuple(args))

    transaction.on_commit(send)


# After a cache failure, coalescing is off for this long in this process, so a
# Redis outage costs one cache timeout per process, not one per request.
CACHE_RETRY_AFTER = 5.0
_cache_down_until = 0.0


def _queued_key(task_name: str, args: list) -> str:
    return f"outbox:queued:{_key(task_name, args)}"


def delay_on_commit_coalesced(task, *args, window: int = 60, countdown: float | None = None) -> None:
    """delay_on_commit, but while one such message waits for a worker, later calls add none.

    For tasks that recompute from current state (a KPI's evaluation after new
    points): fifty ingest requests a second for one KPI then queue one
    evaluation at a time, not fifty. The task must call `coalesced_started`
    before it reads anything, so points committed after that queue another.
    With a countdown the message waits that long first, so calls arriving
    meanwhile join it: at most one run per countdown, each seeing everything
    committed before it starts. The mark lives in the cache for at most
    `window` seconds (a lost message delays the next evaluation by that much
    at worst); without the cache, every call queues.
    """
    args = list(args)
    task = task_named(task)

    def send():
        global _cache_down_until
        from django.core.cache import cache

        key = _queued_key(task.name, args)
        if time.monotonic() < _cache_down_until:
            key = None
        else:
            try:
                if not cache.add(key, 1, timeout=window):
                    return  # one is queued and has not started: it will see these points
            except Exception:  # noqa: BLE001 - no cache (Redis down): queue every time for a while
                _cache_down_until = time.monotonic() + CACHE_RETRY_AFTER
                key = None
        if send_now(task, args, countdown=countdown):
            return
        try:
            save_for_later(task.name, args)
        except Exception:  # noqa: BLE001
            log.exception("could not keep %s%s in the outbox", task.name, tuple(args))
            if key:
                try:
                    cache.delete(key)
                except Exception:  # noqa: BLE001
                    pass

    transaction.on_commit(send)


def coalesced_started(task, *args) -> None:
    """Called by a coalesced task before it reads: calls from now on queue a new message."""
    from django.core.cache import cache

    task = task_named(task)
    if time.monotonic() < _cache_down_until:
        return
    try:
        cache.delete(_queued_key(task.name, list(args)))
    except Exception:  # noqa: BLE001 - no cache: nothing was coalesced
        pass


def flush(limit: int = 1000) -> int:
    """Send what the outbox holds, oldest first; stops at the first broker failure."""
    from celery import current_app

    from .models import OutboxMessage

    sent = 0
    for message in OutboxMessage.objects.order_by("created_at", "id")[:limit]:
        task = current_app.tasks.get(message.task)
        if task is None:
            log.error("outbox: unknown task %s, dropped", message.task)
            message.delete()
            continue
        if not send_now(task, message.args):
            OutboxMessage.objects.filter(pk=message.pk).update(attempts=message.attempts + 1)
            break
        message.delete()
        sent += 1
    return sent
