"""In a real browser: hostile text on the dashboard pages never runs and never becomes an element.

Chromium loads each page with charts (and the busiest lists) of a product whose every text
field holds `<script>alert(1)</script>"><img src=x onerror=alert(1)>`, lets Plotly draw, hovers
the KPI chart, and checks the DOM: no dialog opened, no injected <img src=x>, no injected
script, no Content-Security-Policy violation (the `page` fixture fails on those), and the
payload is on screen as text — in HTML and in the charts' SVG labels and hover labels.
"""
import pytest

from tests import factories
from tests.fixtures_live import login
from tests.hardening.hostile_data import LINK, SCRIPT, hostile_product

pytestmark = pytest.mark.django_db(transaction=True)

INJECTED = """() => ({
  images: document.querySelectorAll('img[src="x"], svg image, a[href^="https://evil.example"], a[*|href^="https://evil.example"]').length,
  scripts: [...document.scripts].filter(s => s.type !== 'application/json' && s.textContent.includes('alert(1)')).length,
  handlers: [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length,
  charts: document.querySelectorAll('[data-figure]').length,
  drawn: document.querySelectorAll('[data-figure][data-drawn]').length,
  svgText: [...document.querySelectorAll('.main-svg text')].map(t => t.textContent).join('\\n'),
  bodyText: document.body.innerText,
})"""


def _visit(page, path, dialogs):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-figure]").count()
    if charts:
        page.wait_for_function(
            "() => document.querySelectorAll('[data-figure]').length"
            " === document.querySelectorAll('[data-figure][data-drawn]').length")
    state = page.evaluate(INJECTED)
    assert not dialogs, f"{path}: a dialog opened: {dialogs}"
    assert state["images"] == 0 and state["scripts"] == 0 and state["handlers"] == 0, f"{path}: injected: {state}"
    assert SCRIPT in state["bodyText"], f"{path}: the hostile text is not shown as text"
    return state


def test_dashboards_show_hostile_text_as_text_and_run_nothing(page, live_server):
    h = hostile_product()
    s, k = h.product.slug, h.kpi.key
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, h.pm.username, factories.PASSWORD)

    chart_pages = {
        f"/kpis/{s}/": "kpi " + SCRIPT,  # legend: the KPI's name
        f"/kpis/{s}/k/{k}/": "<img src=x onerror=a()>",  # axis title, threshold labels: the unit
        f"/models/{s}/{h.aimodel.pk}/": "v1 " + SCRIPT,  # legend and ticks: version labels; titles: metric keys
        f"/roadmap/{s}/timeline/": "theme " + SCRIPT,  # y axis: theme › title
        f"/roadmap/{s}/matrix/": None,  # bubbles carry ranks; titles are in the key beside it (HTML) and hover text
        f"/sprints/{s}/": "closed sprint " + SCRIPT,  # velocity ticks: sprint names
    }
    for path, label in chart_pages.items():
        state = _visit(page, path, dialogs)
        assert state["charts"] and state["drawn"] == state["charts"], f"{path}: charts not drawn: {state['charts']}"
        # Plotly decodes the escaped text back to the characters typed: shown literally, not as markup.
        if label is None:
            continue
        assert label in state["svgText"], f"{path}: {state['svgText'][:300]}"
        if "/roadmap/" not in path and "/kpis/" not in path:  # timeline, matrix and KPI legends cut long text
            assert LINK in state["svgText"], f"{path}: the link is not shown as text: {state['svgText'][:300]}"

    for path in (f"/feedback/{s}/dashboard/", f"/products/{s}/", f"/feedback/{s}/", f"/roadmap/{s}/",
                 f"/sprints/{s}/{h.sprint.pk}/", f"/sources/{s}/{h.source.pk}/", "/portfolio/", "/kpis/alerts/"):
        _visit(page, path, dialogs)

    # Hover text: the unit (an <img onerror> of its own) is in the KPI chart's hover template.
    page.goto(f"/kpis/{s}/k/{k}/")
    page.wait_for_selector("[data-figure][data-drawn] .nsewdrag")
    box = page.locator("[data-figure][data-drawn] .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    page.wait_for_selector(".hoverlayer .hovertext, .hoverlayer .legend", timeout=5000)
    hover = page.evaluate("() => [...document.querySelectorAll('.hoverlayer text')].map(t => t.textContent).join(' ')")
    assert "<img src=x onerror=a()>" in hover, hover
    state = page.evaluate(INJECTED)
    assert state["images"] == 0 and state["handlers"] == 0 and not dialogs
