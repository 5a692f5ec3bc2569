"""The roadmap and sprint journey of issue 3, in a real browser.

A PM creates two roadmap items, drags one from Next to Now, creates a sprint, pulls work
items from the backlog, moves cards to done and sees the burndown fall.
"""
import datetime
import json

import pytest
from django.utils import timezone

from products.roadmap.models import RoadmapItem
from products.sprints import services
from products.sprints.models import Sprint, SprintSnapshot, WorkItem
from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def burndown_remaining(page):
    figure = json.loads(page.locator("#fig-burndown").text_content())
    remaining = next(t for t in figure["data"] if t["name"] == "Remaining")["y"]
    return [r for r in remaining if r is not None]


def create_item(page, slug, title, horizon, theme, start, target, reach):
    page.goto(f"/roadmap/{slug}/")
    page.get_by_role("button", name="New roadmap item").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Horizon").select_option(horizon)
    page.get_by_label("Theme").fill(theme)
    page.get_by_label("Start date").fill(start)
    page.get_by_label("Target date").fill(target)
    page.get_by_label("Reach").fill(str(reach))
    page.get_by_label("Impact").select_option("2")
    page.get_by_label("Confidence").fill("80")
    page.get_by_label("Effort").fill("2")
    page.get_by_role("button", name="Create item").click()
    page.get_by_role("heading", name=title).wait_for()


def test_pm_plans_roadmap_and_runs_a_sprint(page, live_server, artifacts_dir):
    product = ProductFactory(name="Voice Assistant", slug="voice-assistant")
    pm = member(product, "pm", username="priya")
    today = timezone.localdate()
    # A backlog exists already (made by the team earlier).
    for title, points in (("Wake-word model retrain", 5), ("Barge-in detection", 3), ("Latency dashboard", 2)):
        services.work_item_create(actor=pm, product=product, title=title, points=points)

    login(page, "priya", PASSWORD)
    slug = product.slug
    create_item(page, slug, "Call summarisation", "next", "Agent assist", str(today),
                str(today + datetime.timedelta(days=40)), 3000)
    page.get_by_text("RICE 2400").first.wait_for()
    create_item(page, slug, "Intent routing v2", "next", "Routing", str(today - datetime.timedelta(days=10)),
                str(today + datetime.timedelta(days=20)), 1500)

    # Drag "Call summarisation" from Next to Now: saved at once, no page reload.
    page.goto(f"/roadmap/{slug}/")
    page.evaluate("window.__noReload = true")
    card = page.locator("li.card", has_text="Call summarisation")
    page.locator("[data-dnd-column='next']").wait_for()
    card.drag_to(page.locator("[data-dnd-column='now']"))
    page.locator("[data-dnd-column='now'] li.card", has_text="Call summarisation").wait_for()
    page.get_by_role("status").filter(has_text="Moved “Call summarisation” to Now").wait_for(state="attached")
    assert page.evaluate("window.__noReload") is True
    assert RoadmapItem.objects.get(title="Call summarisation").horizon == "now"

    # The keyboard path: choose a column in the card's menu and press Move.
    page.get_by_label("Move “Intent routing v2” to").select_option("later")
    page.locator("li.card", has_text="Intent routing v2").get_by_role("button", name="Move").click()
    page.locator("[data-dnd-column='later'] li.card", has_text="Intent routing v2").wait_for()
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=f"{artifacts_dir}/roadmap_board.png", full_page=True)

    page.get_by_role("link", name="Timeline").click()
    page.locator("[data-figure='fig-timeline'][data-drawn='true']").wait_for()
    page.screenshot(path=f"{artifacts_dir}/roadmap_timeline.png", full_page=True)
    page.get_by_role("link", name="Impact vs effort").click()
    page.locator("[data-figure='fig-matrix'][data-drawn='true']").wait_for()

    # Create a sprint, pull the backlog into it, start it.
    page.goto(f"/sprints/{slug}/")
    page.get_by_role("button", name="New sprint").click()
    page.get_by_label("Name").fill("Sprint 1")
    page.get_by_label("Goal").fill("Summaries for the pilot team")
    page.get_by_label("Start date").fill(str(today - datetime.timedelta(days=3)))
    page.get_by_label("End date").fill(str(today + datetime.timedelta(days=10)))
    page.get_by_role("button", name="Create sprint").click()
    page.get_by_text("Pull work items into it from the backlog").wait_for()
    for title in ("Wake-word model retrain", "Barge-in detection", "Latency dashboard"):
        page.get_by_label(title).check()
    page.get_by_role("button", name="Pull into sprint").click()
    page.get_by_text("Pulled 3 items into Sprint 1").wait_for()
    sprint = Sprint.objects.get(name="Sprint 1")
    page.goto(f"/sprints/{slug}/{sprint.pk}/")
    page.get_by_role("button", name="Start sprint").click()
    page.get_by_text("Sprint 'Sprint 1' started").wait_for()
    # Yesterday's snapshot, as the daily beat task would have written it.
    SprintSnapshot.objects.create(sprint=sprint, date=today - datetime.timedelta(days=1), scope_points=10,
                                  remaining_points=10, item_count=3)
    page.reload()
    page.locator("[data-figure='fig-burndown'][data-drawn='true']").wait_for()
    assert page.get_by_test_id("remaining-points").text_content() == "10"
    before = burndown_remaining(page)
    assert before[-1] == 10

    # Move cards to done: one by dragging, one with the keyboard path.
    page.evaluate("window.__noReload = true")
    card = page.locator("li.card", has_text="Wake-word model retrain")
    card.drag_to(page.locator("[data-dnd-column='done']"))
    page.locator("[data-dnd-column='done'] li.card", has_text="Wake-word model retrain").wait_for()
    page.get_by_test_id("remaining-points").filter(has_text="5").wait_for()
    page.get_by_label("Move “Latency dashboard” to").select_option("done")
    page.locator("li.card", has_text="Latency dashboard").get_by_role("button", name="Move").click()
    page.get_by_test_id("remaining-points").filter(has_text="3").wait_for()
    page.locator("[data-figure='fig-burndown'][data-drawn='true']").wait_for()
    after = burndown_remaining(page)
    assert after[-1] == 3 < before[-1], (before, after)
    assert page.evaluate("window.__noReload") is True
    assert set(WorkItem.objects.filter(status="done").values_list("title", flat=True)) == {
        "Wake-word model retrain", "Latency dashboard"}
    page.screenshot(path=f"{artifacts_dir}/sprint_board.png", full_page=True)

    # Close the sprint: the unfinished card goes back to the backlog; the burndown stays.
    page.get_by_role("button", name="Close sprint").click()
    page.get_by_label("Move unfinished items to").select_option("backlog")
    page.get_by_role("button", name="Close sprint").click()
    page.get_by_text("7 of 10 committed points done").first.wait_for()
    assert WorkItem.objects.get(title="Barge-in detection").sprint_id is None
    assert burndown_remaining(page)[-1] == 3
