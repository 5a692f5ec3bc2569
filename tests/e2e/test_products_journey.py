"""First browser journey: a PM creates a product; a viewer sees it read-only."""
import pytest
from django.contrib.auth.models import Permission

from products.models import Membership, Product
from tests.factories import PASSWORD, UserFactory
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pm_creates_product_viewer_reads_only(page, live_server, browser):
    pm = UserFactory(username="priya")
    pm.user_permissions.add(Permission.objects.get(codename="add_product"))
    viewer = UserFactory(username="eve")

    login(page, "priya", PASSWORD)
    page.get_by_role("link", name="Products", exact=True).first.click()
    page.get_by_role("button", name="New product").click()
    page.get_by_label("Name").fill("Voice Assistant")
    page.get_by_label("Business objective").fill("Handle 40% of calls without an agent")
    page.get_by_role("button", name="Create product").click()
    page.get_by_text("You are its product manager").wait_for()
    assert page.get_by_role("heading", name="Voice Assistant").is_visible()

    # An empty name gets a message on the page, and nothing is written.
    page.goto("/products/new/")
    page.get_by_role("button", name="Create product").click()
    page.get_by_text("This field is required").first.wait_for()
    assert Product.objects.count() == 1

    product = Product.objects.get(slug="voice-assistant")
    page.goto(f"/products/{product.slug}/")
    page.get_by_label("Username").fill("eve")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Add or change member").click()
    page.get_by_text("eve is now viewer").wait_for()
    page.goto("/products/")
    assert page.get_by_role("link", name="Voice Assistant").is_visible()

    # The viewer sees the product but no edit controls, and a forged POST gets 403.
    context = browser.new_context(base_url=live_server.url)
    vpage = context.new_page()
    login(vpage, "eve", PASSWORD)
    vpage.goto("/products/")
    vpage.get_by_role("link", name="Voice Assistant").click()
    vpage.get_by_role("heading", name="Voice Assistant").wait_for()
    assert vpage.get_by_text("Edit product").count() == 0
    assert vpage.get_by_text("Add or change member").count() == 0
    assert vpage.get_by_text("Remove").count() == 0
    assert vpage.get_by_text("New product").count() == 0
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = vpage.request.post(f"/products/{product.slug}/edit/", form={"name": "Hacked", "status": "active"},
                                  headers={"X-CSRFToken": csrf, "Referer": live_server.url})
    assert response.status == 403
    api_response = vpage.request.patch(f"/api/v1/products/{product.slug}/", data={"name": "Hacked"},
                                       headers={"X-CSRFToken": csrf, "Referer": live_server.url})
    assert api_response.status == 403
    vpage.screenshot(path="test-artifacts/viewer_product_detail.png", full_page=True)
    context.close()
    product.refresh_from_db()
    assert product.name == "Voice Assistant"
    assert Membership.objects.get(product=product, user=viewer).role == "viewer"
