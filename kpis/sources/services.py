"""Writes for metric sources: create/update/delete, dispatch due slots, pull one slot.

Scheduling: `sources_dispatch_due` claims due sources with SELECT ... FOR UPDATE
SKIP LOCKED inside a transaction, moves each next_run_at to its next slot and,
once committed, queues one pull task per claimed slot carrying the slot's time.
Two dispatchers running at once claim disjoint rows, so a slot is queued once.
On SQLite select_for_update is a no-op, but pmhub opens every SQLite write
transaction IMMEDIATE (settings), which takes the database's write lock at
BEGIN: dispatchers there run one after another and the second sees the moved
next_run_at.

A pull (`source_pull`) writes its points with the source's timestamps or the
slot's time, through the store's idempotent upsert, so a re-run of a slot (a
retry, a task redelivered after a worker died) rewrites the same points and
never duplicates them; a slot already pulled successfully is not pulled again.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kpis.models import KPI
from kpis.sources.adapters import ADAPTERS, FetchResult, PullError, adapter_for
from kpis.sources.models import MetricSource, PullRun
from kpis.sources.secrets import SecretUnreadable, scrub, secret_decrypt, secret_encrypt
from pmhub.audit import audit_record
from pmhub.outbox import task_named
from pmhub.permissions import require
from pmhub.roles import Action

log = logging.getLogger(__name__)

MAX_TIMEOUT = 120
DISPATCH_BATCH = 1000
# A run still "running" after this long was cut off (worker killed, hard time limit).
STALE_RUN_AFTER = timedelta(minutes=5)
TEST_CONNECTION_TIMEOUT = 10
# A pull for a slot this long before its source was created cannot be for it.
SLOT_BEFORE_SOURCE = timedelta(minutes=1)


# --- configuration ------------------------------------------------------------------------

def _clean(*, kind, name, config, secrets, interval_seconds, timeout_seconds):
    errors = {}
    if kind not in ADAPTERS:
        raise ValidationError({"kind": ["Choose HTTP JSON, Prometheus or SQL."]})
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the source a name."]
    minimum = settings.PMHUB_PULL_MIN_INTERVAL
    if interval_seconds is None or int(interval_seconds) < minimum:
        errors["interval_seconds"] = [f"The interval is at least {minimum} seconds."]
    if timeout_seconds is None or not 1 <= int(timeout_seconds) <= MAX_TIMEOUT:
        errors["timeout_seconds"] = [f"The timeout is 1 to {MAX_TIMEOUT} seconds."]
    try:
        config, secrets = adapter_for(kind).clean(config or {}, secrets or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return name, config, secrets


def source_check(*, kind: str, name: str, config: dict, secrets: dict | None, interval_seconds, timeout_seconds) -> None:
    """Validate settings as source_create would, storing nothing (raises ValidationError)."""
    _clean(kind=kind, name=name, config=config, secrets=secrets, interval_seconds=interval_seconds,
           timeout_seconds=timeout_seconds)


def source_create(*, actor, kpi: KPI, name: str, kind: str, config: dict, secrets: dict | None = None,
                  interval_seconds: int = 300, timeout_seconds: int = 10, enabled: bool = True) -> MetricSource:
    """A new source for kpi; its first pull is due at once."""
    require(actor, kpi.product_id, Action.EDIT)
    name, config, secrets = _clean(kind=kind, name=name, config=config, secrets=secrets,
                                   interval_seconds=interval_seconds, timeout_seconds=timeout_seconds)
    with transaction.atomic():
        source = MetricSource.objects.create(
            kpi=kpi, name=name, kind=kind, config=config, secret=secret_encrypt(secrets), enabled=enabled,
            interval_seconds=int(interval_seconds), timeout_seconds=int(timeout_seconds),
            next_run_at=timezone.now() if enabled else None, created_by=actor if actor.is_authenticated else None,
        )
        audit_record(actor=actor, action="source.create", product=kpi.product_id, target=source,
                     data={"kind": kind, "kpi": kpi.key, "secrets": sorted(_secret_names(secrets))})
    return source


def source_update(*, actor, source: MetricSource, name: str, config: dict, secrets: dict | None = None,
                  interval_seconds: int, timeout_seconds: int, enabled: bool) -> MetricSource:
    """Change a source. `secrets=None` keeps the stored secrets; a dict replaces them."""
    require(actor, source.kpi.product_id, Action.EDIT)
    replacing = secrets is not None
    if not replacing:
        try:
            secrets = secret_decrypt(source.secret)
        except SecretUnreadable as exc:
            raise ValidationError({"__all__": [str(exc)]}) from None
    name, config, secrets = _clean(kind=source.kind, name=name, config=config, secrets=secrets,
                                   interval_seconds=interval_seconds, timeout_seconds=timeout_seconds)
    with transaction.atomic():
        locked = MetricSource.objects.select_for_update().get(pk=source.pk)
        locked.name, locked.config = name, config
        locked.interval_seconds, locked.timeout_seconds = int(interval_seconds), int(timeout_seconds)
        if enabled and (not locked.enabled or locked.next_run_at is None):
            locked.next_run_at = timezone.now()
        elif not enabled:
            locked.next_run_at = None
        locked.enabled = enabled
        if replacing:
            locked.secret = secret_encrypt(secrets)
            audit_record(actor=actor, action="source.secrets_change", product=locked.kpi.product_id, target=locked,
                         data={"secrets": sorted(_secret_names(secrets))})
        locked.save()
    return locked


def source_delete(*, actor, source: MetricSource) -> None:
    require(actor, source.kpi.product_id, Action.MANAGE)
    with transaction.atomic():
        audit_record(actor=actor, action="source.delete", product=source.kpi.product_id, target=source,
                     data={"kind": source.kind, "kpi": source.kpi.key})
        if source.health == MetricSource.Health.FAILING:
            _alert(source, failing=False)
        source.delete()


def _secret_names(secrets: dict) -> set[str]:
    names = set(secrets.get("headers", {}).keys())
    if secrets.get("dsn"):
        names.add("dsn")
    return names


# --- scheduling ------------------------------------------------------------------------

def next_slot(*, slot: datetime, interval_seconds: int, now: datetime) -> datetime:
    """The first slot after now on the source's grid (slots missed while nothing ran are skipped)."""
    elapsed = (now - slot).total_seconds()
    steps = max(1, math.floor(elapsed / interval_seconds) + 1)
    return slot + timedelta(seconds=steps * interval_seconds)


def sources_dispatch_due(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Claim due sources, move them to their next slot, queue one pull each; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            MetricSource.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")
            .only("id", "next_run_at", "interval_seconds")[:limit]
        )
        jobs = []
        for source in due:
            jobs.append((source.pk, source.next_run_at.isoformat(), source.interval_seconds))
            source.next_run_at = next_slot(slot=source.next_run_at, interval_seconds=source.interval_seconds, now=now)
        MetricSource.objects.bulk_update(due, ["next_run_at"], batch_size=500)
        transaction.on_commit(lambda: _pulls_queue(jobs))
    return len(jobs)


def _pulls_queue(jobs: list[tuple[int, str, int]]) -> None:
    """Queue one pull per (source id, slot, interval); a pull not started within its interval expires."""
    pull = task_named("kpis.tasks_sources.pull_source")
    for source_id, slot, interval in jobs:
        pull.apply_async((source_id, slot), expires=max(int(interval), 30))


def source_pull_now(*, actor, source: MetricSource) -> datetime:
    """Queue an extra pull at once, for the current second (the schedule is unchanged)."""
    require(actor, source.kpi.product_id, Action.EDIT)
    slot = timezone.now().replace(microsecond=0)
    # Like a scheduled pull, it expires if no worker starts it within one interval.
    transaction.on_commit(lambda: task_named("kpis.tasks_sources.pull_source").apply_async(
        (source.pk, slot.isoformat()), {"trigger": "manual"}, expires=max(source.interval_seconds, 30)))
    return slot


def source_test_connection(*, actor, source: MetricSource) -> FetchResult:
    """What a pull now would store, without storing anything; raises PullError with a clean message."""
    require(actor, source.kpi.product_id, Action.EDIT)
    try:
        secrets = secret_decrypt(source.secret)
    except SecretUnreadable as exc:
        raise PullError(str(exc)) from None
    slot = timezone.now().replace(microsecond=0)
    try:
        return adapter_for(source.kind).fetch(config=source.config, secrets=secrets, slot=slot,
                                              timeout=min(source.timeout_seconds, TEST_CONNECTION_TIMEOUT))
    except PullError as exc:
        raise type(exc)(scrub(str(exc), secrets)) from None


# --- pulling ---------------------------------------------------------------------------------

def source_pull(*, source_id: int, slot: datetime, trigger: str = PullRun.Trigger.SCHEDULE, attempt: int = 1,
                final: bool = True) -> PullRun | None:
    """Pull one slot of one source and record it as a PullRun.

    Returns None when there is nothing to do (source gone or disabled, slot
    already pulled). Raises TransientPullError when the failure may pass and
    this is not the final attempt, so the task retries it with backoff.
    """
    source = MetricSource.objects.select_related("kpi", "kpi__product").filter(pk=source_id).first()
    if source is None or (trigger == PullRun.Trigger.SCHEDULE and not source.enabled):
        return None
    if slot < source.created_at - SLOT_BEFORE_SOURCE:
        return None  # queued for an earlier source of the same id (deleted; ids reused after a restore)
    if trigger == PullRun.Trigger.SCHEDULE and PullRun.objects.filter(
            source_id=source_id, slot=slot, status=PullRun.Status.SUCCESS).exists():
        return None
    now = timezone.now()
    # A run of this slot still "running" means this is a redelivery after its worker died.
    PullRun.objects.filter(Q(slot=slot) | Q(started_at__lt=now - STALE_RUN_AFTER),
                           source_id=source_id, status=PullRun.Status.RUNNING).update(
        status=PullRun.Status.FAILED, finished_at=now,
        error="Interrupted: the worker stopped in the middle of the pull (killed or past its time limit); "
              "nothing was stored.")
    run = PullRun.objects.create(source=source, slot=slot, trigger=trigger, attempt=attempt, started_at=now)
    started = _monotonic()
    secrets = {}
    try:
        secrets = secret_decrypt(source.secret)
        result = adapter_for(source.kind).fetch(config=source.config, secrets=secrets, slot=slot,
                                                timeout=float(source.timeout_seconds))
    except SecretUnreadable as exc:
        _record_failure(source, run, str(exc), started, retrying=False)
        return run
    except PullError as exc:
        retrying = exc.retriable and not final
        _record_failure(source, run, scrub(str(exc), secrets), started, retrying=retrying)
        if retrying:
            raise
        return run
    except Exception as exc:  # noqa: BLE001 - a bug or the soft time limit: record it, never leave "running"
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            message = "The pull exceeded its time limit and was stopped; nothing was stored."
        else:
            log.exception("pull of source %s failed unexpectedly", source_id)
            message = f"Internal error ({type(exc).__name__}); nothing was stored."
        _record_failure(source, run, message, started, retrying=False)
        return run
    try:
        with transaction.atomic():
            written = _store_points(source.kpi, result.points)
            finished = timezone.now()
            PullRun.objects.filter(pk=run.pk).update(
                status=PullRun.Status.SUCCESS, finished_at=finished, duration_ms=_elapsed_ms(started),
                points_written=written)
            was_failing = (MetricSource.objects.filter(pk=source.pk)
                           .values_list("health", flat=True).first() == MetricSource.Health.FAILING)
            MetricSource.objects.filter(pk=source.pk).update(
                health=MetricSource.Health.OK, consecutive_failures=0, last_run_at=finished,
                last_success_at=finished)
            if was_failing:
                _alert(source, failing=False)
    except (ValueError, ValidationError) as exc:
        reasons = "; ".join(exc.messages[:3]) if isinstance(exc, ValidationError) else str(exc)
        _record_failure(source, run, f"The points were refused by the store: {reasons}", started, retrying=False)
        return run
    _evaluate(source.kpi)
    run.refresh_from_db()
    return run


def _store_points(kpi: KPI, points) -> int:
    """Through the KPI store's ingest (idempotent upsert). The KPI is evaluated right after
    the commit, in this task (_evaluate), rather than by one more queued task per pull."""
    from kpis.services.kpis import kpi_points_ingest

    # A pull re-reads an overlapping window: most points are stored already.
    return kpi_points_ingest(kpi=kpi, points=points, evaluate=False, expect_new=False)


def _evaluate(kpi: KPI) -> None:
    """Re-evaluate the KPI's status and threshold alerts after new points; never fails the pull."""
    from kpis.services.alerts import kpi_evaluate

    try:
        kpi_evaluate(kpi=kpi)
    except Exception:  # noqa: BLE001 - the points are stored; the periodic evaluation catches up
        log.exception("evaluating KPI %s after a pull failed", kpi.pk)


def _record_failure(source: MetricSource, run: PullRun, message: str, started: float, *, retrying: bool) -> None:
    finished = timezone.now()
    message = message[:1:].upper() + message[1:]
    log.info("pull of source %s for %s failed%s: %s", source.pk, run.slot.isoformat(),
             " (will retry)" if retrying else "", message)
    with transaction.atomic():
        PullRun.objects.filter(pk=run.pk).update(
            status=PullRun.Status.RETRYING if retrying else PullRun.Status.FAILED, finished_at=finished,
            duration_ms=_elapsed_ms(started), points_written=0, error=message[:2000])
        fields = {"last_run_at": finished, "last_error_at": finished, "last_error": message[:2000]}
        if not retrying:
            fields["consecutive_failures"] = F("consecutive_failures") + 1
        MetricSource.objects.filter(pk=source.pk).update(**fields)
        if not retrying:
            _mark_failing_if_due(source)
    run.refresh_from_db()


def _mark_failing_if_due(source: MetricSource) -> None:
    """After N failed slots in a row the source is failing, and an alert opens (once)."""
    current = MetricSource.objects.select_for_update().select_related("kpi").get(pk=source.pk)
    if (current.consecutive_failures >= settings.PMHUB_PULL_FAILING_AFTER
            and current.health != MetricSource.Health.FAILING):
        current.health = MetricSource.Health.FAILING
        current.save(update_fields=["health"])
        _alert(current, failing=True)


def _alert(source: MetricSource, *, failing: bool) -> None:
    """Open (or resolve) a `source_failing` alert on the KPI, notified like a KPI breach."""
    from kpis.models import Alert
    from kpis.services.alerts import alert_open, alert_resolve

    if failing:
        alert_open(kpi=source.kpi, kind=Alert.Kind.SOURCE_FAILING, severity=Alert.Severity.WARNING,
                   message=f"Source '{source.name}' failed {source.consecutive_failures} pulls in a row; "
                           f"last error: {source.last_error[:300]}")
    else:
        alert_resolve(kpi=source.kpi, kind=Alert.Kind.SOURCE_FAILING, message=f"Source '{source.name}' pulls again.")


def _monotonic() -> float:
    import time

    return time.monotonic()


def _elapsed_ms(started: float) -> int:
    return max(0, int((_monotonic() - started) * 1000))
