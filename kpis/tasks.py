"""Celery tasks of the kpis app: thin, idempotent wrappers over services."""
from celery import shared_task

from kpis.models import KPI, AlertDelivery, ImportJob


@shared_task(name="kpis.tasks.kpi_evaluate", soft_time_limit=30, time_limit=60)
def kpi_evaluate(kpi_id: int) -> None:
    """Re-evaluate a KPI's threshold alert after new points (or new thresholds)."""
    from kpis.services.alerts import kpi_evaluate as evaluate
    from pmhub.outbox import coalesced_started

    coalesced_started(kpi_evaluate, kpi_id)  # before reading: points committed from now on queue another
    kpi = KPI.objects.select_related("product").filter(pk=kpi_id).first()
    if kpi is None:
        return
    evaluate(kpi=kpi)


@shared_task(name="kpis.tasks.kpis_evaluate_pending", soft_time_limit=120, time_limit=150, expires=60)
def kpis_evaluate_pending() -> int:
    """Beat: re-evaluate KPIs with a pending period, so an alert opens once it has elapsed
    even when no new point arrives."""
    from django.db.models import Q

    from kpis.services.alerts import kpi_evaluate as evaluate

    kpis = KPI.objects.select_related("product").filter(pending_minutes__gt=0).filter(
        Q(warning_threshold__isnull=False) | Q(critical_threshold__isnull=False))
    count = 0
    for kpi in kpis.iterator():
        evaluate(kpi=kpi)
        count += 1
    return count


@shared_task(name="kpis.tasks.alert_delivery_send", bind=True, soft_time_limit=30, time_limit=45,
             max_retries=6)
def alert_delivery_send(self, delivery_id: int) -> None:
    """Send one alert notification; network errors and 5xx are retried with backoff."""
    from kpis.services.alerts import RetryableDeliveryError, alert_delivery_give_up, alert_delivery_send as send

    delivery = AlertDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return
    retries = self.request.retries
    while True:
        try:
            send(delivery=delivery)
            return
        except RetryableDeliveryError as exc:
            if retries >= self.max_retries:
                alert_delivery_give_up(delivery_id=delivery_id, error=f"gave up after {retries + 1} tries: {exc}")
                return
            if not self.request.is_eager:
                raise self.retry(exc=exc, countdown=min(2 ** retries, 300)) from exc
            # Eager (tests, embedded runs without a worker): retry in place, at once.
            retries += 1
            delivery.refresh_from_db()


@shared_task(name="kpis.tasks.kpi_import_run", soft_time_limit=1800, time_limit=1900)
def kpi_import_run(job_id: int) -> None:
    """Import a CSV into a KPI (all or nothing), updating the job's progress as it reads."""
    from kpis.services.imports import import_job_run

    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.finished:
        return
    import_job_run(job=job)
