"""Follow-up work that survives a broker outage.

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

from django.db import transaction

log = logging.getLogger(__name__)


def _key(task_name: str, args: list) -> str:
    return hashlib.sha256(json.dumps([task_name, args], sort_keys=True, default=str).encode()).hexdigest()


def save_for_later(task_name: str, args: list) -> None:
    from .models import OutboxMessage

    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task_name, args=args, key=_key(task_name, args))], ignore_conflicts=True
    )


def send_now(task, args: list) -> bool:
    """Publish at once or not at all; False if the broker did not take it.

    Celery would retry the connection for seconds; a request must not wait
    that long, so this tries once (connect timeout 1 s) and gives up.
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
                    task.apply_async(args=args, producer=producer, retry=False)
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
    args = list(args)

    def send():
        if not send_now(task, args):
            try:
                save_for_later(task.name, args)
            except Exception:  # noqa: BLE001 - the database is gone too: nothing more can be done
                log.exception("could not keep %s%s in the outbox", task.name, tuple(args))

    transaction.on_commit(send)


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
