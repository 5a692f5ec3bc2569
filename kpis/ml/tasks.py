"""Celery tasks of the AI-models part: thin wrappers over kpis.ml.services."""
from celery import shared_task


@shared_task(name="kpis.tasks_models.kpi_model_feeds_sync", acks_late=True, soft_time_limit=30,
             time_limit=60)
def kpi_model_feeds_sync(feed_ids: list[int]) -> int:
    """Push the production value of each feed's metric into its KPI; gone feeds are skipped."""
    from kpis.ml.models import KpiModelFeed
    from kpis.ml.services import kpi_model_feed_sync

    done = 0
    for feed in KpiModelFeed.objects.filter(pk__in=feed_ids).select_related("kpi"):
        done += bool(kpi_model_feed_sync(feed=feed))
    return done
