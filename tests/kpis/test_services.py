"""KPI services: ingest with permissions, status evaluation and alerts that notify."""
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone as djtz

from kpis.models import KPI, Alert, AlertDelivery, AlertWebhook
from kpis.services.kpis import alert_open, alert_resolve, kpi_create, kpi_delete, kpi_points_ingest
from kpis.timeseries.models import Point
from kpis.timeseries.services import PointIn
from tests.kpis.factories import make_kpi
from tests.kpis.receiver import Receiver

UTC = timezone.utc


def recent(values, minutes_apart=1):
    now = djtz.now()
    n = len(values)
    return [PointIn(ts=now - timedelta(minutes=(n - i) * minutes_apart), value=float(v)) for i, v in enumerate(values)]


@pytest.fixture
def kpi(product, pm):
    return make_kpi(product, "csat", target=90, warning_threshold=80, critical_threshold=70)


def test_pm_creates_kpi_with_its_series_and_a_unique_key(product, pm):
    kpi = kpi_create(actor=pm, product=product, name="Weekly active users", unit="", target=1000)
    assert kpi.key == "weekly-active-users" and kpi.series.key == kpi.key
    with pytest.raises(ValidationError) as exc:
        kpi_create(actor=pm, product=product, name="Other", key="weekly-active-users")
    assert "key" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        kpi_create(actor=pm, product=product, name="Bad", warning_threshold=5, critical_threshold=10)
    assert "critical_threshold" in exc.value.message_dict
    assert KPI.objects.count() == 1


def test_roles_decide_who_writes(product, pm, data_scientist, viewer, outsider, kpi):
    with pytest.raises(PermissionDenied):
        kpi_create(actor=viewer, product=product, name="X")
    with pytest.raises(PermissionDenied):
        kpi_create(actor=data_scientist, product=product, name="X")
    assert kpi_points_ingest(kpi=kpi, points=recent([85]), actor=data_scientist) == 1
    with pytest.raises(PermissionDenied):
        kpi_points_ingest(kpi=kpi, points=recent([85]), actor=viewer)
    from django.http import Http404

    with pytest.raises(Http404):
        kpi_points_ingest(kpi=kpi, points=recent([85]), actor=outsider)
    with pytest.raises(PermissionDenied):
        kpi_delete(actor=data_scientist, kpi=kpi)
    kpi_delete(actor=pm, kpi=kpi)
    assert not KPI.objects.exists() and not Point.objects.exists()


def test_ingest_rejects_naive_or_non_finite_points_whole(kpi):
    with pytest.raises(ValidationError) as exc:
        kpi_points_ingest(kpi=kpi, points=[*recent([1, 2]), PointIn(ts=datetime(2026, 1, 1), value=1.0)])
    assert "points[2].ts" in exc.value.message_dict
    assert not Point.objects.exists()


def test_threshold_alert_opens_once_escalates_and_resolves_with_email(kpi, pm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=recent([95, 78]))
    alert = Alert.objects.get()
    assert alert.state == "open" and alert.severity == "warning" and "below its warning threshold" in alert.message
    assert len(mail.outbox) == 1 and pm.email in mail.outbox[0].to and "csat" in mail.outbox[0].subject.lower()

    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=recent([77, 76]))
    assert Alert.objects.count() == 1 and len(mail.outbox) == 1  # once, not per point

    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=recent([65], minutes_apart=0))
    alert.refresh_from_db()
    assert alert.severity == "critical" and len(mail.outbox) == 2 and "escalated" in mail.outbox[1].subject

    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=[PointIn(ts=djtz.now(), value=92.0)])
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_at is not None
    assert len(mail.outbox) == 3 and "Resolved" in mail.outbox[2].subject


def test_evaluations_coalesce_while_one_waits_for_a_worker(kpi, django_capture_on_commit_callbacks):
    """Many ingests of one KPI queue one evaluation at a time; once it starts, the next ingest queues another."""
    from django.core.cache import cache

    from kpis.tasks import kpi_evaluate
    from pmhub.outbox import _queued_key

    key = _queued_key(kpi_evaluate.name, [kpi.pk])
    cache.add(key, 1, timeout=60)  # an evaluation is queued and no worker has taken it yet
    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=recent([95, 78]))
    assert not Alert.objects.exists()  # nothing queued: the waiting evaluation will see these points
    kpi_evaluate.apply(args=[kpi.pk])  # the worker takes it: it reads the latest points
    assert Alert.objects.get().severity == "warning" and cache.get(key) is None
    with django_capture_on_commit_callbacks(execute=True):
        kpi_points_ingest(kpi=kpi, points=recent([60], minutes_apart=0))
    assert Alert.objects.get().severity == "critical"  # queued (and, eager here, run) at once
    assert cache.get(key) is None


def test_ingests_within_a_second_share_one_delayed_evaluation(kpi, django_capture_on_commit_callbacks):
    """Against the real Redis broker (no worker): three ingests queue one evaluation, due a second later."""
    import redis
    from django.conf import settings

    from pmhub.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def evaluations():
        found = []
        for raw in broker.lrange("celery", 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == "kpis.tasks.kpi_evaluate" and \
                    json.loads(message["headers"]["argsrepr"].replace("(", "[").replace(",)", "]")) == [kpi.pk]:
                found.append((raw, message))
        return found

    app.conf.task_always_eager = False
    try:
        sent_at = djtz.now()
        for value in (95, 78, 60):
            with django_capture_on_commit_callbacks(execute=True):
                kpi_points_ingest(kpi=kpi, points=recent([value], minutes_apart=0))
        queued = evaluations()
        assert len(queued) == 1
        eta = datetime.fromisoformat(queued[0][1]["headers"]["eta"])
        assert timedelta(seconds=0.5) < eta - sent_at < timedelta(seconds=5)
    finally:
        app.conf.task_always_eager = True
        for raw, _message in evaluations():
            broker.lrem("celery", 0, raw)


def test_lower_is_better_breaches_above(product):
    kpi = make_kpi(product, "latency", direction="lower", warning_threshold=200, critical_threshold=400)
    kpi_points_ingest(kpi=kpi, points=recent([150, 250]))
    from kpis.tasks import kpi_evaluate

    kpi_evaluate(kpi.pk)
    assert Alert.objects.get().message.startswith("Latency is 250, above its warning threshold")


def test_pending_period_waits_before_opening(kpi, django_capture_on_commit_callbacks):
    KPI.objects.filter(pk=kpi.pk).update(pending_minutes=30)
    kpi.refresh_from_db()
    from kpis.services.alerts import kpi_evaluate

    kpi_points_ingest(kpi=kpi, points=recent([95, 75, 74], minutes_apart=5), evaluate=False)
    assert kpi_evaluate(kpi=kpi) is None and not Alert.objects.exists()  # breaching for 10 minutes only
    assert kpi_evaluate(kpi=kpi, now=djtz.now() + timedelta(minutes=25)).state == "open"
    # The beat task re-evaluates pending KPIs even when no point arrives.
    Alert.objects.all().delete()
    KPI.objects.filter(pk=kpi.pk).update(pending_minutes=5)
    from kpis.tasks import kpis_evaluate_pending

    assert kpis_evaluate_pending() == 1
    assert Alert.objects.filter(state="open").count() == 1


def test_alert_open_is_idempotent_per_kind(kpi):
    a = alert_open(kpi=kpi, kind="source_failing", severity="warning", message="pull failed 3 times")
    b = alert_open(kpi=kpi, kind="source_failing", severity="warning", message="pull failed 4 times")
    assert a.pk == b.pk and Alert.objects.count() == 1
    assert alert_resolve(kpi=kpi, kind="source_failing").state == "resolved"
    assert alert_resolve(kpi=kpi, kind="source_failing") is None
    assert alert_open(kpi=kpi, kind="source_failing", severity="critical", message="again").pk != a.pk


def test_webhook_gets_signed_json_and_is_retried_after_a_5xx(kpi, product, django_capture_on_commit_callbacks):
    with Receiver(statuses=[503]) as receiver:
        hook = AlertWebhook.objects.create(product=product, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            alert = alert_open(kpi=kpi, kind="threshold", severity="critical", message="CSAT is 60")
    assert len(receiver.calls) == 2  # the 503, then the retry
    headers, body = receiver.calls[-1]
    expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-pmhub-signature"] == expected
    payload = json.loads(body)
    assert payload["event"] == "alert.opened" and payload["alert"]["id"] == alert.pk
    assert payload["kpi"]["key"] == "csat" and payload["product"]["slug"] == product.slug
    delivery = AlertDelivery.objects.get(channel="webhook")
    assert delivery.status == "sent" and delivery.attempts == 2


def test_webhook_that_keeps_failing_is_marked_failed(kpi, product, django_capture_on_commit_callbacks, settings):
    with Receiver(statuses=[500] * 10) as receiver:
        AlertWebhook.objects.create(product=product, url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            alert_open(kpi=kpi, kind="threshold", severity="critical", message="CSAT is 60")
    delivery = AlertDelivery.objects.get(channel="webhook")
    assert delivery.status == "failed" and "gave up" in delivery.last_error and len(receiver.calls) == 7
