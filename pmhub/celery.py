"""The Celery app. Beat entries all live here, in one place."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")

app = Celery("pmhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
}


def register_beat(name, entry):
    """Apps add their periodic tasks here (called from this module only)."""
    BEAT_SCHEDULE[name] = entry


app.conf.beat_schedule = BEAT_SCHEDULE
