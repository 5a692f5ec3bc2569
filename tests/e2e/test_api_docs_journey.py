"""Issue 18.2: "API docs" in the top bar showed a blank page (Swagger UI's inline
script was refused by our CSP). The page fixture fails on any CSP violation."""
import pytest

from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_from_the_top_bar_render_the_operations(page):
    member(ProductFactory(name="Smart Reply", slug="smart-reply"), "pm", username="priya")
    login(page, "priya", PASSWORD)
    page.get_by_role("link", name="API docs").click()
    page.wait_for_url("**/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20
    assert page.locator(".opblock-summary-path", has_text="/api/v1/roadmap-items/").first.is_visible()
    assert page.locator("script:not([src])").count() == 0  # nothing inline: the init script is a file
