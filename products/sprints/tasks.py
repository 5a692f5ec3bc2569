"""Celery tasks of the products app: thin wrappers over services."""
from celery import shared_task

from products.sprints import services


@shared_task(name="products.tasks.sprint_snapshots_record", soft_time_limit=60, time_limit=90)
def sprint_snapshots_record() -> int:
    """Beat, hourly: write today's scope snapshot of every active sprint (idempotent upsert per day),
    so days without any card move still have a point on the burndown."""
    return services.sprint_snapshot_active()
