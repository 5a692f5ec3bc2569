"""Issue 18.5: every off-track or at-risk KPI and every open alert is visible where an
executive looks first (product overview, portfolio, weekly digest), whatever the headline flag."""
import pytest
from django.core import mail

from kpis.models import KPI
from kpis.services.alerts import alert_open
from portfolio import services
from portfolio.selectors import portfolio_for_user
from products.models import Membership
from tests.factories import PASSWORD, ProductFactory, member

from .helpers import make_kpi

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    """Two green headline KPIs, and Support CSAT at 55 % (critical below 80 %), not a headline, alert open."""
    product = ProductFactory(name="Assistant", slug="assistant")
    make_kpi(product, "activation", name="Activation", values=[40, 61], target=60, warning=50, critical=40)
    make_kpi(product, "retention", name="Retention", values=[30, 35], target=30)
    csat = make_kpi(product, "support_csat", name="Support CSAT", unit="%", values=[85, 55], target=90,
                    warning=85, critical=80)
    quiet = make_kpi(product, "quiet", name="Quiet helper KPI", values=[5, 6], target=1)
    KPI.objects.filter(pk__in=[csat.pk, quiet.pk]).update(headline=False)
    alert_open(kpi=csat, kind="threshold", severity="critical", message="Support CSAT 55% is below 80%.")
    exec_user = member(product, "viewer", username="exec")
    return product, exec_user


def test_portfolio_lists_off_track_kpi_and_open_alert_whatever_the_headline_flag(support):
    product, exec_user = support
    row = portfolio_for_user(user=exec_user).rows[0]
    names = [k.name for k in row.kpis]
    assert names == ["Activation", "Retention", "Support CSAT"]  # the quiet, on-track non-headline stays out
    csat = row.kpis[-1]
    assert csat.status == "off_track" and csat.headline is False
    assert row.status == "off_track" and "1 KPI off track" in row.reasons
    assert [(a["kpi_name"], a["severity"]) for a in row.alert_list] == [("Support CSAT", "critical")]


def test_portfolio_page_and_overview_show_the_kpi_and_the_alert(client, support):
    product, exec_user = support
    client.login(username=exec_user.username, password=PASSWORD)
    page = client.get("/portfolio/").content.decode()
    assert "Support CSAT" in page and "not a headline KPI" in page
    assert 'data-testid="open-alerts"' in page and "Support CSAT 55% is below 80%." in page
    overview = client.get(f"/products/{product.slug}/").content.decode()
    assert "Support CSAT" in overview and "Off track" in overview
    assert 'data-testid="open-alerts"' in overview and "Support CSAT 55% is below 80%." in overview
    assert "Quiet helper KPI" not in overview


def test_digest_lists_needs_attention_before_watch_and_the_open_alert(support):
    product, exec_user = support
    watch = ProductFactory(name="AAA Watch me", slug="aaa-watch")
    Membership.objects.create(user=exec_user, product=watch, role="viewer")
    # Many at-risk KPIs: a big attention score, but only "Watch".
    for i in range(10):
        make_kpi(watch, f"k{i}", values=[10, 9], target=10, warning=5, critical=1)
    rows = portfolio_for_user(user=exec_user).rows
    assert [r.status_label for r in rows] == ["Needs attention", "Watch"]
    assert rows[1].attention > rows[0].attention  # ordered by status first, not by score
    exec_user.email = "exec@example.com"
    exec_user.save()
    services.digest_subscription_set(user=exec_user, enabled=True)
    assert services.digest_send(user=exec_user) is True
    message = mail.outbox[-1]
    body = message.body
    assert body.index("Assistant: Needs attention") < body.index("AAA Watch me: Watch")
    assert "Support CSAT (not a headline KPI): 55.0%" in body
    assert "Open critical alert: Support CSAT: Support CSAT 55% is below 80%." in body
    html = message.alternatives[0][0]
    assert html.index("Assistant") < html.index("AAA Watch me") and "Support CSAT 55% is below 80%." in html
