"""Celery tasks of feedback: thin wrappers that re-read their object and call a service."""
from celery import shared_task

from . import services
from .models import ImportJob


@shared_task(name="feedback.tasks.import_feedback_csv", soft_time_limit=300, time_limit=330)
def import_feedback_csv(job_id: int):
    """Import one uploaded CSV. Idempotent: a finished job is left alone."""
    job = ImportJob.objects.select_related("product", "created_by").filter(pk=job_id).first()
    if job is None:
        return
    services.import_job_run(job=job)


@shared_task(name="feedback.tasks.deliver_ship_notifications", soft_time_limit=120, time_limit=150)
def deliver_ship_notifications(item_id: int):
    """Send the pending ship e-mails of one roadmap item, each stakeholder once."""
    from products.roadmap.models import RoadmapItem

    item = RoadmapItem.objects.select_related("product").filter(pk=item_id).first()
    if item is None:
        return
    services.ship_notifications_deliver(item=item)
