"""Celery tasks of feedback themes: thin wrappers that re-read and call one service."""
from celery import shared_task
from django.conf import settings

from . import services


@shared_task(name="feedback.themes.tasks.themes_regroup", soft_time_limit=600, time_limit=660)
def themes_regroup(product_id: int):
    """Group one product's feedback into themes (on demand and on the schedule)."""
    from products.models import Product

    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return
    services.themes_regroup(product=product)


@shared_task(name="feedback.themes.tasks.themes_regroup_due", soft_time_limit=60, time_limit=90)
def themes_regroup_due():
    """Beat: queue a grouping run for each product that is due one."""
    return services.themes_regroup_due(max_age_seconds=settings.FEEDBACK_THEMES_MAX_AGE)


@shared_task(name="feedback.themes.tasks.themes_assign", soft_time_limit=120, time_limit=150)
def themes_assign(feedback_ids: list[int]):
    """Put new feedback in the closest existing theme, without regrouping."""
    services.themes_assign(feedback_ids=list(feedback_ids))
