"""Feedback journey: a stakeholder without an account sends feedback through the public
link; the PM triages it, links it to a roadmap item and sees the item's count rise."""
import re

import pytest

from feedback.models import Feedback, FeedbackLink
from products.roadmap.models import RoadmapItem
from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _item_count(page, slug, title):
    """Feedback count of the roadmap item on the "most requested" page (0 when not listed)."""
    page.goto(f"/feedback/{slug}/most-requested/")
    row = page.locator("table.ranking tbody tr", has_text=title)
    if row.count() == 0:
        return 0
    return int(row.locator("td").nth(5).inner_text())


def _panel_count(page, slug, item):
    """Feedback count in the feedback panel of the roadmap item's own page (None while it has none)."""
    from feedback.templatetags.feedback_tags import roadmap_item_url

    url = roadmap_item_url(slug, item.pk)
    if not url:
        return None
    page.goto(url)
    return int(page.locator('#feedback-demand [data-testid="feedback-count"]').inner_text())


def test_public_feedback_triaged_and_linked(page, browser, live_server):
    product = ProductFactory(name="Smart Reply", slug="smart-reply")
    member(product, "pm", username="priya")
    item = RoadmapItem.objects.create(product=product, title="Tone per brand", theme="Quality", status="planned")

    login(page, "priya", PASSWORD)
    page.goto("/products/smart-reply/")
    page.get_by_role("link", name="Feedback", exact=True).last.click()
    page.get_by_role("button", name="Switch on the public link").click()
    page.get_by_text("The public feedback link is on.").wait_for()
    public_url = page.get_by_label("Public feedback link").input_value()
    assert re.search(r"/give-feedback/[\w-]{20,}/$", public_url)
    assert _item_count(page, "smart-reply", "Tone per brand") == 0
    panel_before = _panel_count(page, "smart-reply", item)
    assert panel_before in (None, 0)

    # Someone without an account sends feedback; HTML in it stays text.
    context = browser.new_context(base_url=live_server.url)
    anon = context.new_page()
    anon.goto(public_url)
    anon.get_by_role("heading", name="Tell us about Smart Reply").wait_for()
    assert anon.get_by_text("Log out").count() == 0
    assert anon.locator(".hp input").bounding_box()["x"] < 0  # the honeypot is off-screen for people
    anon.get_by_label("Your feedback").fill("The replies are far too formal for our chat <b>customers</b>. Please add a casual tone!")
    anon.get_by_label("Your e-mail (optional)").fill("kim@acme.example")
    anon.get_by_label("Your company (optional)").fill("Acme Logistics")
    anon.screenshot(path="test-artifacts/feedback_public_form.png", full_page=True)
    anon.get_by_role("button", name="Send feedback").click()
    anon.get_by_role("heading", name="Thank you").wait_for()
    anon.screenshot(path="test-artifacts/feedback_public_thanks.png", full_page=True)
    context.close()
    fb = Feedback.objects.get()
    assert fb.channel == "form" and fb.status == "new"

    # The PM triages it in the inbox.
    page.goto("/feedback/smart-reply/")
    row = page.locator("table.inbox tbody tr", has_text="far too formal")
    row.wait_for()
    assert "<b>customers</b>" in row.inner_text()  # shown as text, not bold markup
    row.get_by_role("link", name=f"#{fb.pk}").click()
    page.get_by_label("Status").select_option("reviewed")
    page.get_by_label("Tags").fill("tone, chat")
    page.get_by_role("button", name="Save triage").click()
    page.get_by_text("Saved.").wait_for()
    page.get_by_label("Roadmap item").select_option(label="Tone per brand (planned)")
    page.get_by_label("Importance").select_option("3")
    page.get_by_role("button", name="Link to roadmap item").click()
    page.get_by_text("Linked to “Tone per brand”.").wait_for()
    page.screenshot(path="test-artifacts/feedback_detail.png", full_page=True)
    fb.refresh_from_db()
    assert fb.status == "reviewed" and sorted(fb.tags.values_list("name", flat=True)) == ["chat", "tone"]
    assert FeedbackLink.objects.get().importance == 3

    # The roadmap item's count rose.
    assert _item_count(page, "smart-reply", "Tone per brand") == 1
    page.screenshot(path="test-artifacts/feedback_most_requested.png", full_page=True)
    row = page.locator("table.ranking tbody tr", has_text="Tone per brand")
    assert row.locator("td").nth(4).inner_text().strip() == "3"  # demand: the link's importance
    if panel_before is not None:  # the roadmap item page shows the same rise
        assert _panel_count(page, "smart-reply", item) == 1
        page.screenshot(path="test-artifacts/feedback_roadmap_item_panel.png", full_page=True)
    page.goto("/feedback/smart-reply/?status=reviewed")
    page.locator("table.inbox tbody tr", has_text="far too formal").wait_for()
    page.screenshot(path="test-artifacts/feedback_inbox.png", full_page=True)
    assert item.feedback_links.count() == 1


def test_dashboard_draws_every_chart(page):
    from feedback import services

    product = ProductFactory(name="Churn Radar", slug="churn-radar")
    pm = member(product, "pm", username="priya")
    item = RoadmapItem.objects.create(product=product, title="Explain scores", theme="<i>Trust</i>")
    texts = ["Love the early warnings", "Scores are random and useless", "Please export to CSV",
             "Great dashboard", "Too many false alarms, awful"]
    for i in range(40):
        fb = services.feedback_create(actor=pm, product=product, text=texts[i % 5], channel=["support", "sales", "survey"][i % 3],
                                      segment=["customer", "prospect", "executive"][i % 3], tags=[["alerts"], ["export", "<b>ui</b>"]][i % 2],
                                      received_at=f"2026-{(i % 6) + 5:02d}-{(i % 27) + 1:02d}")
        if i % 2:
            services.feedback_link(actor=pm, feedback=fb, roadmap_item=item, importance=i % 4)
    login(page, "priya", PASSWORD)
    page.goto("/feedback/churn-radar/dashboard/?days=365")
    for fig in ("fig-volume", "fig-sentiment", "fig-tags", "fig-segments", "fig-themes"):
        page.locator(f'[data-figure="{fig}"][data-drawn="true"]').wait_for()
    assert page.locator(".chart-grid b").count() == 0 and page.locator(".chart-grid i").count() == 0
    page.get_by_text("<b>ui</b>").first.wait_for()


def test_demo_inbox_and_dashboard(page, settings):
    """The screenshots a PM sees on the demo data (test-artifacts/feedback_demo_*.png)."""
    from tests.feedback.test_demo import seed_all

    seed_all()
    login(page, "pm", settings.DEMO_PASSWORD)
    page.goto("/feedback/smart-reply/")
    page.locator("table.inbox tbody tr").nth(49).wait_for()
    page.screenshot(path="test-artifacts/feedback_demo_inbox.png", full_page=False)
    page.get_by_label("Sentiment").select_option("negative")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**sentiment=negative**")
    assert page.locator("table.inbox .sentiment-positive").count() == 0
    page.goto("/feedback/smart-reply/dashboard/")
    for fig in ("fig-volume", "fig-sentiment", "fig-tags", "fig-segments", "fig-themes"):
        page.locator(f'[data-figure="{fig}"][data-drawn="true"]').wait_for()
    page.screenshot(path="test-artifacts/feedback_demo_dashboard.png", full_page=True)
    page.goto("/feedback/smart-reply/most-requested/")
    page.screenshot(path="test-artifacts/feedback_demo_most_requested.png", full_page=True)
