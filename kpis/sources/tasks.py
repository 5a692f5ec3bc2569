"""Celery tasks of scheduled pulls: thin wrappers over kpis.sources.services.

- dispatch_due_sources: run by beat every few seconds (pmhub/celery.py).
- pull_source: one slot of one source. acks_late (a worker killed mid-pull
  leaves the message to be redelivered; the re-run rewrites the same points),
  retried with exponential backoff for what may pass (connection errors,
  timeouts, 5xx), never for bad responses or bad configuration.
"""
from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from kpis.sources import services
from kpis.sources.adapters import TransientPullError


@shared_task(name="kpis.tasks_sources.dispatch_due_sources", soft_time_limit=30, time_limit=60,
             acks_late=True)
def dispatch_due_sources(limit: int = services.DISPATCH_BATCH):
    return services.sources_dispatch_due(limit=limit)


@shared_task(name="kpis.tasks_sources.pull_source", bind=True, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=150, time_limit=180, autoretry_for=(TransientPullError,), retry_backoff=2, retry_backoff_max=120, retry_jitter=True,
             max_retries=settings.PMHUB_PULL_MAX_RETRIES)
def pull_source(self, source_id: int, slot: str, trigger: str = "schedule"):
    retries = self.request.retries or 0
    run = services.source_pull(source_id=source_id, slot=parse_datetime(slot), trigger=trigger,
                               attempt=retries + 1, final=retries >= (self.max_retries or 0))
    return run.status if run is not None else None
