"""Browser journeys of the security features: login lockout, the staff audit log."""
import pytest
from django.conf import settings

from products.models import Membership
from products.services import membership_set
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_repeated_failed_logins_lock_the_account_with_a_message(page):
    UserFactory(username="mallory-target")
    page.goto("/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("mallory-target")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_test_id("locked-out")
    alert.wait_for()
    assert "Too many failed logins" in alert.inner_text()
    assert "/login/" in page.url


def test_staff_reads_and_filters_the_audit_log(page):
    UserFactory(username="root", is_staff=True)
    pm = UserFactory(username="priya")
    someone = UserFactory(username="sam")
    product = ProductFactory(name="Voice Assistant", slug="voice")
    Membership.objects.create(user=pm, product=product, role="pm")
    membership_set(actor=pm, product=product, user=someone, role="viewer")
    membership_set(actor=pm, product=product, user=someone, role="data_scientist")

    login(page, "root", PASSWORD)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_role("heading", name="Audit log").wait_for()
    assert page.get_by_role("cell", name="membership.role_changed").is_visible()
    page.get_by_label("Action").select_option("membership.role_changed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**action=membership.role_changed**")
    assert page.locator("table.audit-log tbody tr").count() == 1
    assert page.get_by_text("1 event", exact=True).is_visible()
