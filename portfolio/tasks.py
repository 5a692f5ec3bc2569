"""Celery tasks of the portfolio: thin wrappers over services."""
from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from portfolio import services


@shared_task(name="pmhub.portfolio.tasks.digest_send_weekly", soft_time_limit=60, time_limit=90)
def digest_send_weekly(run_key: str | None = None):
    """Scheduled by beat (PMHUB_DIGEST_CRON): one task per subscribed member."""
    run_key = run_key or timezone.localdate().isoformat()
    for user_id in services.digest_recipient_ids():
        digest_send_to_user.delay(user_id, run_key=run_key)


@shared_task(name="pmhub.portfolio.tasks.digest_send_to_user", soft_time_limit=60, time_limit=90,
             autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def digest_send_to_user(user_id: int, run_key: str = ""):
    """Send one member's digest; a scheduled run_key is sent at most once."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return False
    if run_key:
        sub = services.digest_subscription_get(user=user)
        if sub is None or not sub.enabled:
            return False
    return services.digest_send(user=user, run_key=run_key)
