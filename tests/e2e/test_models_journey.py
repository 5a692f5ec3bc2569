"""Browser journey: a data scientist compares model versions and promotes one; an executive reads."""
import pytest

from kpis.ml.models import AIModel, ModelVersion
from pmhub import demo
from products.demo import seed_products
from tests.factories import PASSWORD
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_models(settings):
    from kpis.ml import demo as seeder

    settings.DEMO_PASSWORD = PASSWORD
    ctx = demo.DemoContext()
    demo.seed_users(ctx)
    seed_products(ctx)
    seeder.seed(ctx)
    return ctx


def test_model_page_compares_versions_and_promotes(page, demo_models, browser, live_server, artifacts_dir):
    login(page, "ds", PASSWORD)
    page.get_by_role("link", name="Models", exact=True).first.click()
    page.get_by_role("heading", name="Models", exact=True).wait_for()
    page.get_by_role("link", name="Churn Radar").click()
    page.get_by_role("link", name="seats-forecast").click()
    page.get_by_role("heading", name="seats-forecast").wait_for()

    # Curves per version and the bar chart of final values are drawn by plotly.js.
    page.locator('[data-figure="fig-final-values"][data-drawn="true"]').wait_for()
    page.locator('[data-figure="fig-curve-0"][data-drawn="true"]').wait_for()
    assert page.locator(".chart[data-drawn=true] .scatterlayer .trace").count() >= 4  # one line per version
    table = page.locator("table.versions-table")
    assert table.locator("tbody tr").count() == 4
    assert table.get_by_text("★ best").count() >= 3
    assert page.get_by_role("heading", name="Stage history").is_visible()
    page.screenshot(path=f"{artifacts_dir}/models_detail_ds.png", full_page=True)

    # Version 4 is in staging; promote it.
    page.get_by_role("button", name="Promote 4 to production").click()
    page.get_by_text("Version 4 of seats-forecast is now in production").wait_for()
    model = AIModel.objects.get(name="seats-forecast")
    assert model.versions.get(stage="production").version == "4"
    assert page.locator("table.versions-table tbody tr", has_text="Production").count() == 1

    # The executive sees the comparison and the new production version, and no promote button.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1360, "height": 900})
    epage = context.new_page()
    login(epage, "exec", PASSWORD)
    epage.goto("/products/churn-radar/")
    epage.get_by_role("heading", name="Models in production").wait_for()
    epage.get_by_role("link", name="seats-forecast").first.click()
    epage.locator('[data-figure="fig-final-values"][data-drawn="true"]').wait_for()
    assert epage.get_by_role("button", name="Promote 3 to production").count() == 0
    epage.screenshot(path=f"{artifacts_dir}/models_detail_exec.png", full_page=True)
    context.close()
    assert ModelVersion.objects.filter(model=model, stage="production").count() == 1
