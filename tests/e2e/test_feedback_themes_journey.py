"""Feedback themes journey: a PM opens a product's themes, groups them, merges two, links one
to a roadmap item and sees the item's demand change; the pages survive empty data and long text."""
import pytest

from feedback.themes.models import Theme
from products.roadmap.models import RoadmapItem
from tests.factories import PASSWORD, ProductFactory, member
from tests.feedback.themes_helpers import seed_corpus
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _demand(page, slug, title):
    page.goto(f"/feedback/{slug}/most-requested/")
    row = page.locator("table.ranking tbody tr", has_text=title)
    return int(row.locator("td").nth(4).inner_text()) if row.count() else 0


def _no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("window.innerWidth") + 1


def test_themes_merge_link_and_demand(page):
    product = ProductFactory(name="Field App", slug="field-app")
    pm = member(product, "pm", username="priya")
    item = RoadmapItem.objects.create(product=product, title="Stable mobile app", status="planned")
    login(page, "priya", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto("/feedback/field-app/themes/")
    page.get_by_text("Themes appear once the product has a few pieces of feedback").wait_for()
    page.screenshot(path="test-artifacts/feedback_themes_empty.png", full_page=True)

    seed_corpus(product, pm, n=150)
    page.goto("/feedback/field-app/")
    page.get_by_role("link", name="Themes", exact=True).click()
    page.get_by_text("have not been grouped yet").wait_for()
    page.get_by_role("button", name="Regroup now").click()  # the task runs eagerly in the test server
    page.goto("/feedback/field-app/themes/")
    page.locator("table.themes tbody tr").first.wait_for()
    page.locator('[data-figure="fig-themes-overview"][data-drawn="true"]').wait_for()
    _no_horizontal_scroll(page)
    page.screenshot(path="test-artifacts/feedback_themes_list.png", full_page=True)
    themes = sorted(Theme.objects.filter(product=product), key=lambda t: -t.assignments.count())
    assert len(themes) >= 3

    # Merge the two largest.
    a, b = themes[0], themes[1]
    size = a.assignments.count() + b.assignments.count()
    page.get_by_label(f"Select theme {a.label}", exact=True).check()
    page.get_by_label(f"Select theme {b.label}", exact=True).check()
    page.get_by_role("button", name="Merge selected").click()
    page.get_by_text(f"Merged 2 themes into “{a.label}”.").wait_for()
    assert page.get_by_test_id("theme-size").inner_text() == str(size)
    assert not Theme.objects.filter(pk=b.pk).exists()

    # Link the merged theme to a roadmap item: its demand rises by size x importance.
    assert _demand(page, "field-app", "Stable mobile app") == 0
    page.goto(f"/feedback/field-app/themes/{a.pk}/")
    page.get_by_label("Roadmap item").select_option(label="Stable mobile app (planned)")
    page.get_by_label("Importance").select_option("2")
    page.get_by_role("button", name="Link the whole theme").click()
    page.get_by_text(f"all {size} pieces of this theme now count toward its demand").wait_for()
    page.locator('[data-figure="fig-theme-trend"][data-drawn="true"]').wait_for()
    _no_horizontal_scroll(page)
    page.screenshot(path="test-artifacts/feedback_theme_detail.png", full_page=True)
    assert _demand(page, "field-app", "Stable mobile app") == 2 * size
    page.screenshot(path="test-artifacts/feedback_themes_most_requested.png", full_page=True)
    assert item.feedback_links.count() == size

    # The inbox says who else said something similar, and searches by meaning.
    page.goto("/feedback/field-app/")
    page.get_by_text("others said something similar").first.wait_for()
    page.get_by_placeholder("Search by meaning").fill("my phone app keeps crashing")
    page.get_by_placeholder("Search by meaning").press("Enter")
    page.wait_for_url("**m=my+phone+app**")
    first = page.locator("table.inbox tbody tr").first.inner_text().lower()
    assert "crash" in first
    _no_horizontal_scroll(page)
    page.screenshot(path="test-artifacts/feedback_themes_inbox_meaning.png", full_page=True)


def test_theme_page_with_long_unbroken_text(page):
    from feedback import services as feedback_services
    from feedback.themes import services

    product = ProductFactory(name="Long Texts", slug="long-texts")
    pm = member(product, "pm", username="priya")
    seed_corpus(product, pm, n=60)
    services.themes_regroup(product=product)
    theme = Theme.objects.filter(product=product).first()
    services.theme_rename(actor=pm, theme=theme, label="W" * 120)
    piece = theme.assignments.order_by("-similarity").first().feedback
    feedback_services.feedback_update(actor=pm, feedback=piece, text="A" * 5000, organisation="O" * 120)
    RoadmapItem.objects.create(product=product, title="T" * 200)
    login(page, "priya", PASSWORD)
    page.set_viewport_size({"width": 1280, "height": 900})
    for url in ("/feedback/long-texts/themes/", f"/feedback/long-texts/themes/{theme.pk}/"):
        page.goto(url)
        page.locator(".chart[data-drawn='true']").first.wait_for()
        _no_horizontal_scroll(page)
    page.screenshot(path="test-artifacts/feedback_theme_long_text.png", full_page=True)
