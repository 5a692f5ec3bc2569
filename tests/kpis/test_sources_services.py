"""Sources: configuration, secrets, dispatching slots, pulling, health and failure."""
import logging
from datetime import datetime, timedelta, timezone

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone as dj_timezone

from kpis.sources import selectors, services
from kpis.sources.models import MetricSource, PullRun
from kpis.timeseries.models import Point
from pmhub.models import AuditEvent
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi(product):
    return make_kpi(product, "weekly-visits")  # noqa: F405


def create(pm, kpi, server, path="/good", json_path="data.value", **kw):
    return services.source_create(actor=pm, kpi=kpi, name=kw.pop("name", "Analytics"), kind="http_json",
                                  config={"url": server.url + path, "json_path": json_path, **kw.pop("config", {})},
                                  interval_seconds=kw.pop("interval_seconds", 300), **kw)


def points(kpi):
    return list(Point.objects.filter(series_id=kpi.series_id).order_by("ts").values_list("ts", "value"))


# --- configuration ---------------------------------------------------------------------------

def test_pm_creates_a_source_due_at_once_data_scientist_and_outsider_may_not(pm, data_scientist, outsider, kpi,
                                                                            metrics_server):
    source = create(pm, kpi, metrics_server)
    assert source.enabled and source.next_run_at <= dj_timezone.now()
    assert source.health == MetricSource.Health.NEW
    assert AuditEvent.objects.filter(action="source.create").count() == 1
    with pytest.raises(PermissionDenied):
        create(data_scientist, kpi, metrics_server)
    with pytest.raises(Http404):
        create(outsider, kpi, metrics_server)


def test_bad_input_names_the_field_and_writes_nothing(pm, kpi, metrics_server, settings):
    with pytest.raises(ValidationError) as exc:
        services.source_create(actor=pm, kpi=kpi, name="", kind="http_json",
                               config={"url": "gopher://x", "json_path": "a..b"}, interval_seconds=30)
    errors = exc.value.message_dict
    assert set(errors) >= {"name", "url", "json_path", "interval_seconds"}
    assert "at least 60 seconds" in errors["interval_seconds"][0]
    with pytest.raises(ValidationError, match="is not a valid header"):
        create(pm, kpi, metrics_server, secrets={"headers": {"Bad Header": "x"}})
    assert MetricSource.objects.count() == 0


def test_secrets_are_encrypted_masked_and_kept_on_update(pm, kpi, metrics_server, allow_loopback):
    token = "Bearer sk-live-0123456789abcdef"
    source = create(pm, kpi, metrics_server, path="/echo", json_path="value",
                    secrets={"headers": {"Authorization": token}})
    raw = MetricSource.objects.values_list("secret", flat=True).get()
    assert token not in raw and "sk-live" not in raw and raw.startswith("gAAAA")  # a Fernet token
    assert "sk-live" not in str(source.config)
    described = dict(selectors.source_description(source=source))
    assert described["Header Authorization"] == "••••••ef"
    # Updating without new secrets keeps them; the pull still sends the header.
    source = services.source_update(actor=pm, source=source, name="Renamed", config=source.config, secrets=None,
                                    interval_seconds=120, timeout_seconds=5, enabled=True)
    services.source_pull(source_id=source.pk, slot=dj_timezone.now())
    assert metrics_server.headers_seen["/echo"]["Authorization"] == token
    assert AuditEvent.objects.filter(action="source.secrets_change").count() == 0
    services.source_update(actor=pm, source=source, name="Renamed", config=source.config,
                           secrets={"headers": {"X-Api-Key": "another-secret-value"}},
                           interval_seconds=120, timeout_seconds=5, enabled=True)
    assert AuditEvent.objects.filter(action="source.secrets_change").count() == 1


def test_secrets_key_comes_from_the_environment_setting(pm, kpi, metrics_server, settings):
    from cryptography.fernet import Fernet

    from kpis.sources.secrets import SecretUnreadable, secret_decrypt

    settings.PMHUB_SECRETS_KEY = Fernet.generate_key().decode()
    source = create(pm, kpi, metrics_server, secrets={"headers": {"X-Key": "value-1234567"}})
    assert secret_decrypt(source.secret) == {"headers": {"X-Key": "value-1234567"}}
    settings.PMHUB_SECRETS_KEY = Fernet.generate_key().decode()  # a different key cannot read it
    with pytest.raises(SecretUnreadable):
        secret_decrypt(source.secret)


# --- dispatching -------------------------------------------------------------------------------

def test_next_slot_keeps_the_grid_and_skips_missed_slots():
    slot = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert services.next_slot(slot=slot, interval_seconds=60, now=slot) == slot + timedelta(minutes=1)
    assert services.next_slot(slot=slot, interval_seconds=60, now=slot + timedelta(seconds=30)) == slot + timedelta(minutes=1)
    assert services.next_slot(slot=slot, interval_seconds=60, now=slot + timedelta(minutes=10, seconds=5)) == \
        slot + timedelta(minutes=11)


def test_dispatch_claims_due_sources_moves_them_and_pulls_each_once(pm, kpi, metrics_server, allow_loopback,
                                                                    django_capture_on_commit_callbacks):
    source = create(pm, kpi, metrics_server, path="/count/a", json_path="value")
    later = create(pm, kpi, metrics_server, path="/count/b", json_path="value", name="Later")
    MetricSource.objects.filter(pk=later.pk).update(next_run_at=dj_timezone.now() + timedelta(hours=1))
    slot = MetricSource.objects.get(pk=source.pk).next_run_at
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sources_dispatch_due() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sources_dispatch_due() == 0  # already moved on
    source.refresh_from_db()
    assert source.next_run_at == slot + timedelta(seconds=300)
    assert metrics_server.hits["/count/a"] == 1 and metrics_server.hits["/count/b"] == 0
    run = PullRun.objects.get(source=source)
    assert run.status == PullRun.Status.SUCCESS and run.slot == slot and run.points_written == 1
    assert source.health == MetricSource.Health.OK and source.last_success_at is not None
    assert points(kpi) == [(slot, 1.0)]


def test_a_slot_pulled_again_neither_duplicates_points_nor_refetches(pm, kpi, metrics_server, allow_loopback):
    source = create(pm, kpi, metrics_server, path="/series", json_path="points")
    slot = dj_timezone.now().replace(microsecond=0)
    services.source_pull(source_id=source.pk, slot=slot)
    assert services.source_pull(source_id=source.pk, slot=slot) is None  # redelivered task: nothing to do
    services.source_pull(source_id=source.pk, slot=slot, trigger="manual")  # pull now: fetches, upserts
    assert len(points(kpi)) == 3
    assert metrics_server.hits["/series"] == 2


def test_disabled_or_deleted_sources_are_skipped_quietly(pm, kpi, metrics_server, allow_loopback):
    source = create(pm, kpi, metrics_server, enabled=False)
    assert source.next_run_at is None
    assert services.sources_dispatch_due() == 0
    assert services.source_pull(source_id=source.pk, slot=dj_timezone.now()) is None
    assert services.source_pull(source_id=999999, slot=dj_timezone.now()) is None
    assert metrics_server.hits["/good"] == 0


def test_a_pull_queued_before_the_source_existed_is_not_for_it(pm, kpi, metrics_server, allow_loopback):
    """A task left in the broker for a deleted source whose id was reused (a restored or
    re-created database) must not pull the new source."""
    source = create(pm, kpi, metrics_server)
    stale = source.created_at - timedelta(minutes=10)
    assert services.source_pull(source_id=source.pk, slot=stale, trigger="manual") is None
    assert services.source_pull(source_id=source.pk, slot=stale) is None
    assert metrics_server.hits["/good"] == 0 and not PullRun.objects.exists()
    run = services.source_pull(source_id=source.pk, slot=source.next_run_at)  # its first slot
    assert run.status == "success"


@pytest.fixture
def eager_retries():
    """Eager tasks run their retries at once only when errors do not propagate."""
    from pmhub.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


# --- failures ------------------------------------------------------------------------------------

def test_failures_are_recorded_marked_failing_after_n_and_recover(pm, kpi, metrics_server, allow_loopback, settings):
    settings.PMHUB_PULL_FAILING_AFTER = 2
    source = create(pm, kpi, metrics_server, path="/value/v", json_path="value")
    metrics_server.broken.add("/value/v")
    t0 = dj_timezone.now().replace(microsecond=0)
    run = services.source_pull(source_id=source.pk, slot=t0)
    assert run.status == PullRun.Status.FAILED and "answered 500" in run.error and run.points_written == 0
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and source.health == MetricSource.Health.NEW
    services.source_pull(source_id=source.pk, slot=t0 + timedelta(minutes=5))
    source.refresh_from_db()
    assert source.health == MetricSource.Health.FAILING and "answered 500" in source.last_error
    assert points(kpi) == []
    from kpis.models import Alert

    alert = Alert.objects.get(kpi=kpi, kind="source_failing", state="open")
    assert "failed 2 pulls in a row" in alert.message and "answered 500" in alert.message
    services.source_pull(source_id=source.pk, slot=t0 + timedelta(minutes=7))  # still failing: still one alert
    assert Alert.objects.filter(kpi=kpi, kind="source_failing").count() == 1
    metrics_server.broken.clear()
    metrics_server.values["v"] = 3.5
    run = services.source_pull(source_id=source.pk, slot=t0 + timedelta(minutes=10))
    source.refresh_from_db()
    assert run.status == PullRun.Status.SUCCESS
    assert source.health == MetricSource.Health.OK and source.consecutive_failures == 0
    assert points(kpi) == [(t0 + timedelta(minutes=10), 3.5)]
    assert Alert.objects.get(kpi=kpi, kind="source_failing").state == "resolved"


def test_a_failing_source_does_not_stop_the_others(pm, kpi, metrics_server, allow_loopback,
                                                   django_capture_on_commit_callbacks):
    create(pm, kpi, metrics_server, path="/html", json_path="value", name="Broken")
    other_kpi = make_kpi(kpi.product, "other")  # noqa: F405
    create(pm, other_kpi, metrics_server, path="/good", name="Fine")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sources_dispatch_due() == 2
    statuses = dict(PullRun.objects.values_list("source__name", "status"))
    assert statuses == {"Broken": "failed", "Fine": "success"}
    assert len(points(other_kpi)) == 1


def test_transient_errors_are_retried_then_succeed(pm, kpi, metrics_server, allow_loopback, eager_retries):
    from kpis.sources.tasks import pull_source

    source = create(pm, kpi, metrics_server, path="/flaky/x", json_path="value")
    slot = dj_timezone.now().replace(microsecond=0)
    pull_source.apply((source.pk, slot.isoformat()))  # eager: retries run at once
    runs = list(PullRun.objects.filter(source=source).order_by("attempt").values_list("attempt", "status"))
    assert runs == [(1, "retrying"), (2, "retrying"), (3, "success")]
    assert points(kpi) == [(slot, 7.0)]
    source.refresh_from_db()
    assert source.consecutive_failures == 0


def test_validation_errors_are_never_retried(pm, kpi, metrics_server, allow_loopback):
    from kpis.sources.tasks import pull_source

    source = create(pm, kpi, metrics_server, path="/notnum", json_path="data.value")
    pull_source.apply((source.pk, dj_timezone.now().isoformat()))
    assert list(PullRun.objects.values_list("status", flat=True)) == ["failed"]
    assert metrics_server.hits["/notnum"] == 1


def test_retries_give_up_after_max_and_count_one_failure(pm, kpi, metrics_server, allow_loopback, eager_retries):
    from kpis.sources.tasks import pull_source

    source = create(pm, kpi, metrics_server, path="/error500", json_path="value")
    pull_source.apply((source.pk, dj_timezone.now().isoformat()))
    statuses = list(PullRun.objects.order_by("attempt").values_list("status", flat=True))
    assert statuses == ["retrying"] * pull_source.max_retries + ["failed"]
    source.refresh_from_db()
    assert source.consecutive_failures == 1


def test_secrets_never_reach_errors_or_logs(pm, kpi, sql_source_db, allow_loopback, caplog):
    caplog.set_level(logging.DEBUG)
    dsn = sql_source_db["dsn"].replace(sql_source_db["name"], "no_such_database_here")
    source = services.source_create(actor=pm, kpi=kpi, name="DB", kind="sql", config={"query": "SELECT 1"},
                                    secrets={"dsn": dsn}, interval_seconds=300)
    run = services.source_pull(source_id=source.pk, slot=dj_timezone.now())
    assert run.status == "failed"
    assert "no_such_database_here" in run.error and "s3cret-pw" not in run.error
    assert "s3cret-pw" not in caplog.text
    assert dict(selectors.source_description(source=source))["Database"].startswith("postgres://postgres:••••••@")


def test_points_the_store_refuses_fail_the_run_and_store_nothing(pm, kpi, metrics_server, allow_loopback):
    source = create(pm, kpi, metrics_server)
    # The KPI store refuses timestamps more than a day ahead; a value is stamped with its slot's time.
    run = services.source_pull(source_id=source.pk, slot=dj_timezone.now() + timedelta(days=400))
    assert run.status == "failed" and "refused by the store" in run.error and "Out of range" in run.error
    assert points(kpi) == []


def test_sql_source_end_to_end(pm, kpi, sql_source_db, allow_loopback):
    source = services.source_create(actor=pm, kpi=kpi, name="Signups", kind="sql",
                                    config={"query": "SELECT day, signups FROM daily_signups"},
                                    secrets={"dsn": sql_source_db["dsn"]}, interval_seconds=3600)
    run = services.source_pull(source_id=source.pk, slot=dj_timezone.now())
    assert run.status == "success" and run.points_written == 3
    assert [v for _, v in points(kpi)] == [120.0, 135.0, 150.0]


def test_a_run_cut_off_by_a_dead_worker_is_marked_interrupted(pm, kpi, metrics_server, allow_loopback):
    source = create(pm, kpi, metrics_server)
    stale = PullRun.objects.create(source=source, slot=dj_timezone.now() - timedelta(hours=1),
                                   started_at=dj_timezone.now() - timedelta(hours=1))
    services.source_pull(source_id=source.pk, slot=dj_timezone.now())
    stale.refresh_from_db()
    assert stale.status == "failed" and "Interrupted" in stale.error


def test_test_connection_shows_points_without_storing(pm, viewer, kpi, metrics_server, allow_loopback):
    from kpis.sources.adapters import PullError

    source = create(pm, kpi, metrics_server, path="/series", json_path="points")
    result = services.source_test_connection(actor=pm, source=source)
    assert [p.value for p in result.points] == [1.0, 2.5, 4.0]
    assert points(kpi) == [] and PullRun.objects.count() == 0
    with pytest.raises(PermissionDenied):
        services.source_test_connection(actor=viewer, source=source)
    broken = create(pm, kpi, metrics_server, path="/html", name="HTML")
    with pytest.raises(PullError, match="not JSON"):
        services.source_test_connection(actor=pm, source=broken)


def test_pull_now_queues_a_manual_pull(pm, kpi, metrics_server, allow_loopback, django_capture_on_commit_callbacks):
    source = create(pm, kpi, metrics_server)
    with django_capture_on_commit_callbacks(execute=True):
        services.source_pull_now(actor=pm, source=source)
    run = PullRun.objects.get()
    assert run.trigger == "manual" and run.status == "success"


def test_delete_needs_manage_and_is_audited(pm, data_scientist, kpi, metrics_server):
    source = create(pm, kpi, metrics_server)
    with pytest.raises(PermissionDenied):
        services.source_delete(actor=data_scientist, source=source)
    services.source_delete(actor=pm, source=source)
    assert not MetricSource.objects.exists()
    assert AuditEvent.objects.filter(action="source.delete").exists()
