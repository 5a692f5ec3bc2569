import pytest
from django.core import mail

from pmhub.models import DigestSubscription
from portfolio import services, tasks
from tests.factories import PASSWORD, ProductFactory, member

from .helpers import make_kpi

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    mine = ProductFactory(name="Smart Reply", slug="smart-reply")
    secret = ProductFactory(name="Secret Project", slug="secret-project")
    make_kpi(mine, "csat", name="CSAT", values=[4.5, 3.0], target=4.2, warning=4.0, critical=3.5)
    make_kpi(secret, "hidden_kpi", name="Hidden KPI", values=[1, 2])
    viewer = member(mine, "viewer", username="eve")
    return mine, secret, viewer


def test_digest_has_html_and_text_parts_with_only_visible_products(setup):
    _, _, viewer = setup
    services.digest_subscription_set(user=viewer, enabled=True)
    assert services.digest_send(user=viewer) is True
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [viewer.email]
    assert "1 needs attention" in message.subject
    assert "Smart Reply" in message.body and "CSAT: 3" in message.body and "off track" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Smart Reply" in html and "Off track" in html
    for part in (message.subject, message.body, html):
        assert "Secret" not in part and "Hidden KPI" not in part


def test_scheduled_run_sends_only_to_subscribers_once_per_run(setup):
    mine, _, viewer = setup
    not_subscribed = member(mine, "viewer", username="bob")
    opted_out = member(mine, "pm", username="olga")
    services.digest_subscription_set(user=viewer, enabled=True)
    services.digest_subscription_set(user=opted_out, enabled=True)
    services.digest_subscription_set(user=opted_out, enabled=False)
    tasks.digest_send_weekly.apply(kwargs={"run_key": "2026-11-23"})
    assert [m.to for m in mail.outbox] == [[viewer.email]]
    # a re-delivered run sends nothing twice
    tasks.digest_send_weekly.apply(kwargs={"run_key": "2026-11-23"})
    tasks.digest_send_to_user.apply(args=[viewer.pk], kwargs={"run_key": "2026-11-23"})
    assert len(mail.outbox) == 1
    tasks.digest_send_weekly.apply(kwargs={"run_key": "2026-11-30"})
    assert len(mail.outbox) == 2
    assert not_subscribed.email not in [m.to[0] for m in mail.outbox]


def test_task_for_a_deleted_user_returns_quietly(setup):
    assert tasks.digest_send_to_user.apply(args=[999999]).get() is False


def test_subscribing_without_email_is_refused(setup):
    mine, _, _ = setup
    user = member(mine, "viewer", username="nomail")
    user.email = ""
    user.save()
    from django.core.exceptions import ValidationError
    with pytest.raises(ValidationError):
        services.digest_subscription_set(user=user, enabled=True)
    assert not DigestSubscription.objects.filter(user=user, enabled=True).exists()


def test_preview_page_subscribe_and_send_now(client, setup, django_capture_on_commit_callbacks):
    _, _, viewer = setup
    assert client.login(username=viewer.username, password=PASSWORD)
    html = client.get("/portfolio/digest/").content.decode()
    assert "Subject:" in html and "Smart Reply" in html and "Plain-text version" in html
    assert "Secret" not in html
    assert "Get it every week" in html
    response = client.post("/portfolio/digest/subscription/", {"enabled": "1"}, follow=True)
    assert "You will get the weekly digest" in response.content.decode()
    assert DigestSubscription.objects.get(user=viewer).enabled
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portfolio/digest/send/", follow=True)
    assert "on its way" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [viewer.email]
    client.post("/portfolio/digest/subscription/", {"enabled": "0"})
    assert not DigestSubscription.objects.get(user=viewer).enabled


def test_beat_schedule_has_digest_at_configured_time():
    from pmhub.celery import BEAT_SCHEDULE, _crontab

    entry = BEAT_SCHEDULE["portfolio-digest"]
    assert entry["task"] == "pmhub.portfolio.tasks.digest_send_weekly"
    assert entry["options"]["expires"] <= 7 * 24 * 3600
    schedule = _crontab("30 6 * * 2")
    assert schedule.hour == {6} and schedule.minute == {30} and schedule.day_of_week == {2}
