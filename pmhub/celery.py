"""The Celery app. Beat entries all live here, in one place."""
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")

app = Celery("pmhub")
app.config_from_object("django.conf:settings", namespace="CELERY")


@signals.setup_logging.connect
def _log_through_django_settings(**kwargs):
    """Workers and beat log through Django's LOGGING, not Celery's own set-up: one place
    sets every process's levels (settings.py keeps routine task lines quiet)."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


# Celery's Django fixup closes every database connection before and after each
# task unless this is set, so each task paid for a new PostgreSQL backend (a
# fork and a cold catalog cache: several ms of server CPU for a 1-ms KPI
# evaluation). With it set that high the fixup never closes them;
# _reuse_connections below does what Django does around a request instead.
app.conf.CELERY_DB_REUSE_MAX = 10**9
# Every installed app's tasks.py, and those of the feature packages inside apps.
# A task's name is fixed in its decorator (it is what queued messages and the
# outbox store), so moving a module never renames a task.
app.autodiscover_tasks()
app.autodiscover_tasks(["kpis.ml", "kpis.sources", "products.sprints"])

# Each entry's `expires` is no longer than its interval, so a backlog of
# stale ticks never piles up behind a stopped worker.
BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "pmhub.tasks.heartbeat",
        "schedule": float(os.environ.get("PMHUB_HEARTBEAT_INTERVAL", "30")),
        "options": {"expires": float(os.environ.get("PMHUB_HEARTBEAT_INTERVAL", "30"))},
    },
    "kpis-evaluate-pending": {
        "task": "kpis.tasks.kpis_evaluate_pending",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Scheduled metric pulls: claims due sources and queues one pull each (kpis/sources/tasks.py).
    "dispatch-due-sources": {
        "task": "kpis.tasks_sources.dispatch_due_sources",
        "schedule": float(os.environ.get("PMHUB_PULL_DISPATCH_INTERVAL", "5")),
        "options": {"expires": float(os.environ.get("PMHUB_PULL_DISPATCH_INTERVAL", "5"))},
    },
    "sprint-snapshots": {
        "task": "products.tasks.sprint_snapshots_record",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Tasks kept in the database while Redis was down (pmhub/outbox.py).
    "outbox-flush": {
        "task": "pmhub.tasks.outbox_flush",
        "schedule": float(os.environ.get("PMHUB_OUTBOX_FLUSH_INTERVAL", "15")),
        "options": {"expires": float(os.environ.get("PMHUB_OUTBOX_FLUSH_INTERVAL", "15"))},
    },
}



def _crontab(expr: str):
    """A crontab schedule from "minute hour day-of-month month day-of-week"."""
    from celery.schedules import crontab

    minute, hour, day_of_month, month_of_year, day_of_week = expr.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                   month_of_year=month_of_year, day_of_week=day_of_week)


def _digest_cron() -> str:
    from django.conf import settings

    return getattr(settings, "DIGEST_CRON", "0 7 * * 1")


# The weekly portfolio digest (time from settings.DIGEST_CRON / PMHUB_DIGEST_CRON).
BEAT_SCHEDULE["portfolio-digest"] = {
    "task": "pmhub.portfolio.tasks.digest_send_weekly",
    "schedule": _crontab(_digest_cron()),
    "options": {"expires": 6 * 3600},
}


def register_beat(name, entry):
    """Apps add their periodic tasks here (called from this module only)."""
    BEAT_SCHEDULE[name] = entry


app.conf.beat_schedule = BEAT_SCHEDULE


@signals.task_prerun.connect
@signals.task_postrun.connect
def _reuse_connections(sender=None, **kwargs):
    """Around each task, as Django around each request: drop connections that are
    broken or older than CONN_MAX_AGE, keep the others.

    Threads-pool workers (metric pulls) close theirs after each task as before:
    an idle pool thread would otherwise hold its connection open indefinitely.
    """
    import threading

    from django.db import close_old_connections, connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # in the caller's thread and transaction: not ours to close
    if threading.current_thread() is threading.main_thread():
        close_old_connections()
    else:
        for conn in connections.all(initialized_only=True):
            conn.close()
