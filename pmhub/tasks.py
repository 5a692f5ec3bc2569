import socket

from celery import shared_task

from . import services


@shared_task(name="pmhub.tasks.heartbeat", soft_time_limit=10, time_limit=20)
def heartbeat():
    """Scheduled by beat: shows on /healthz that beat and a worker both run."""
    services.worker_heartbeat_record(hostname=heartbeat.request.hostname or socket.gethostname())


@shared_task(name="pmhub.tasks.outbox_flush", soft_time_limit=50, time_limit=60)
def outbox_flush():
    """Scheduled by beat: send the tasks that could not be queued while the broker was down."""
    from . import outbox

    return outbox.flush()
