"""Issue 18.4: after Move on the board, the "Progress by status" chart under it keeps
the old counts until a reload. It now follows the move (out-of-band swap, no inline script)."""
import pytest

from products.roadmap.services import roadmap_item_create
from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COUNTS = """() => {
  const el = document.querySelector('[data-figure="fig-progress"]');
  const out = {};
  for (const trace of el.data) { trace.y.forEach((h, i) => { out[h] = (out[h] || 0) + trace.x[i]; }); }
  return out;
}"""


def test_progress_chart_follows_a_move(page):
    product = ProductFactory(name="Smart Reply", slug="smart-reply")
    pm = member(product, "pm", username="priya")
    roadmap_item_create(actor=pm, product=product, title="Intent routing", horizon="later")
    roadmap_item_create(actor=pm, product=product, title="Summaries", horizon="later")
    login(page, "priya", PASSWORD)
    page.goto(f"/roadmap/{product.slug}/")
    page.locator('[data-figure="fig-progress"][data-drawn="true"]').wait_for()
    assert page.evaluate(COUNTS) == {"Now": 0, "Next": 0, "Later": 2}

    page.get_by_label("Move “Intent routing” to").select_option("now")
    page.locator("li.card", has_text="Intent routing").get_by_role("button", name="Move").click()
    page.get_by_role("status").filter(has_text="Moved “Intent routing” to Now").wait_for(state="attached")
    page.wait_for_function(f"() => ({COUNTS})()['Now'] === 1")
    assert page.evaluate(COUNTS) == {"Now": 1, "Next": 0, "Later": 1}
    assert page.get_by_role("heading", name="Progress by status").count() == 1
