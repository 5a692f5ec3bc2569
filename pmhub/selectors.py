"""Reads of the core app: tokens, worker heartbeats, health."""
from __future__ import annotations

import functools
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import prepared
from .models import ApiToken, WorkerHeartbeat


def api_token_active(*, key_hash: str) -> ApiToken | None:
    """The unrevoked token with this hash, of an active user (token.user loaded), or None.

    Asked on every API request, so written out: one indexed query (the ORM took
    about 1 ms of CPU to build it). Nothing is cached: a revoked token or a
    deactivated user is refused from the next request on.
    """
    from django.contrib.auth import get_user_model

    joined = _token_with_user()
    user_table = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        prepared.execute(
            cursor, "pmhub_api_token",
            f"SELECT {joined.columns} FROM {ApiToken._meta.db_table} t "
            f"JOIN {user_table} u ON u.id = t.user_id "
            "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active = %s",
            [key_hash, True],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    (token, user), _rest = joined.instances(row, connection)
    token.user = user
    return token


@functools.cache
def _token_with_user():
    from django.contrib.auth import get_user_model

    from .rows import Joined

    return Joined((ApiToken, "t"), (get_user_model(), "u"))


def api_token_list(*, user):
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def worker_last_seen():
    return WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return False, type(exc).__name__


def broker_ok() -> tuple[bool, str]:
    """One short-lived connection of its own (not the app's publishing pool), two
    seconds at most, so a health probe neither waits long nor disturbs publishers."""
    from pmhub.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def health() -> dict:
    db_ok, db_msg = database_ok()
    br_ok, br_msg = broker_ok()
    last_seen = worker_last_seen() if db_ok else None
    stale_after = timedelta(seconds=settings.HEARTBEAT_INTERVAL * 3)
    worker = "unknown"
    if last_seen is not None:
        worker = "ok" if timezone.now() - last_seen <= stale_after else "stale"
    return {
        "status": "ok" if db_ok and br_ok else "unavailable",
        "database": db_msg,
        "broker": br_msg,
        "worker": worker,
        "worker_last_seen": last_seen.isoformat() if last_seen else None,
    }


def audit_event_list(*, action: str = "", product=None, actor: str = "", since=None, until=None):
    """The audit trail, newest first, filtered; for staff only (the view checks)."""
    from .models import AuditEvent

    qs = AuditEvent.objects.select_related("actor", "product", "target_type")
    if action:
        # "membership" matches every membership.* event; "membership.added" one kind.
        qs = qs.filter(action=action) if "." in action else qs.filter(action__startswith=f"{action}.")
    if product is not None:
        qs = qs.filter(product=product)
    if actor:
        qs = qs.filter(actor__username=actor)
    if since is not None:
        qs = qs.filter(created_at__date__gte=since)
    if until is not None:
        qs = qs.filter(created_at__date__lte=until)
    return qs.order_by("-created_at", "-id")


def audit_action_choices() -> list[str]:
    from .models import AuditEvent

    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
