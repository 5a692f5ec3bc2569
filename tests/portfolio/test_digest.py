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


def test_digest_numbers_are_compact_never_wrap_and_sit_right_aligned():
    """The digest's KPI table: every number in a no-wrap span inside a right-aligned, tabular cell
    (inline styles: e-mail clients have no stylesheet of ours), big values compact with the whole
    value in the title, and the plain-text part compact as well."""
    import re

    product = ProductFactory(name="Revenue Engine", slug="revenue-engine")
    make_kpi(product, "arr", name="Annual recurring revenue", unit="USD", values=[5e14, 999_999_999_999_999],
             target=1e15, warning=5e14, critical=1e14)
    make_kpi(product, "latency", name="Median latency", unit=" min", values=[39.1, 40.98], target=30,
             warning=40, critical=50, direction="lower")
    viewer = member(product, "viewer", username="cfo")
    digest = services.digest_build(user=viewer)
    table = re.search(r'<table[^>]*class="digest-kpis".*?</table>', digest.html, re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    for row in rows:
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", row, re.S)
        assert len(cells) == 5
        # latest, target, change: right-aligned tabular numbers; latest and target cells never wrap
        for style, _ in (cells[1], cells[2], cells[4]):
            assert "text-align: right" in style and "font-variant-numeric: tabular-nums" in style
        assert "white-space: nowrap" in cells[1][0] and "white-space: nowrap" in cells[2][0]
        # every figure (value, target, change parts) is a no-wrap span: number and unit never part
        for _, content in (cells[1], cells[2], cells[4]):
            spans = re.findall(r'<span class="figure" style="white-space: nowrap;"[^>]*>([^<]*)</span>', content)
            assert spans, content
    arr = rows[0] if "Annual recurring revenue" in rows[0] else rows[1]
    assert 'title="999,999,999,999,999 USD">999.9T USD</span>' in arr
    assert 'title="1,000,000,000,000,000 USD">1,000T USD</span>' in arr
    assert "999,999,999,999,999 USD</strong>" not in arr
    latency = rows[1] if arr is rows[0] else rows[0]
    assert 'title="40.98 min">41.0 min</span>' in latency
    # the change splits between the difference and its percentage, never inside either
    assert re.search(r'>\+1\.88 min</span> <span class="figure" style="white-space: nowrap;">\(\+4\.8%\)</span>',
                     latency), latency
    # the plain-text part reads the same, without markup
    assert "Annual recurring revenue: 999.9T USD (target 1,000T USD)" in digest.text
    assert "<span" not in digest.text
