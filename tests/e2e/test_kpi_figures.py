"""Browser check: the largest KPI values the policy accepts read well on every card that shows one.

A KPI's latest value and target at 999,999,999,999,999 and ±10^15 (pmhub/limits.py), with
units "USD", "%", "ms" and a 24-character unit, on the KPI cards (KPI dashboard of a product,
the product's overview, the list of all KPIs), the KPI page's fact cards, the executive's
portfolio and the digest, at 1280 px and in a narrow 700-px window. On each: the value is
compact (999.9T USD) with the whole value in its title; number and unit stand on one line;
no figure reaches past its card; nothing scrolls the page sideways.
"""
import datetime as dt
import os

import pytest
from django.utils import timezone

from pmhub import limits
from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login
from tests.kpis.factories import add_points, make_kpi

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 700)
ALMOST = 999_999_999_999_999
LONG_UNIT = "requestsPerSecondPerNode"  # the column's 24 characters, no space to break at

# For every figure inside a box (a card, a table cell's card): where it stands against its box,
# and on how many lines its text runs (a Range's rects: one per line box).
FIGURES = """(boxSelector) => [...document.querySelectorAll(boxSelector)].flatMap(box => {
  const b = box.getBoundingClientRect();
  return [...box.querySelectorAll('.figure')].map(f => {
    const r = f.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(f);
    const tops = new Set([...range.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
    return {text: f.textContent, title: f.getAttribute('title'), lines: tops.size,
            inside: r.left >= b.left - 0.5 && r.right <= b.right + 0.5,
            where: `${box.tagName}.${box.className} [${Math.round(b.left)}, ${Math.round(b.right)}]`
                   + ` figure [${Math.round(r.left)}, ${Math.round(r.right)}]`};
  });
})"""


@pytest.fixture
def huge(transactional_db):
    product = ProductFactory(name="Revenue Engine", slug="revenue-engine")
    pm = member(product, "pm", "priya")
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(hours=3)
    kpis = {}
    for key, unit, value, target in (("arr", "USD", ALMOST, limits.VALUE_MAX), ("share", "%", ALMOST, limits.VALUE_MAX),
                                     ("debt", "ms", -limits.VALUE_MAX, limits.VALUE_MAX),
                                     ("load", LONG_UNIT, -ALMOST, -ALMOST)):
        kpi = make_kpi(product, key, name=f"Huge {key}", unit=unit, target=target, warning_threshold=5e14,
                       critical_threshold=1e14, headline=True)
        add_points(kpi, [value] * 3, start=start, step=dt.timedelta(hours=1))
        kpis[key] = kpi
    return product, pm, kpis


def _check(page, path, box, problems, *, expect=()):
    page.goto(path)
    figures = page.evaluate(FIGURES, box)
    assert figures, f"no figure in {box} on {path}"
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    where = f"{path} at {width[1]} px"
    if width[0] > width[1]:
        problems.append(f"{where}: the page is {width[0]} px wide")
    for f in figures:
        if f["lines"] != 1:
            problems.append(f"{where}: {f['text']!r} runs on {f['lines']} lines")
        if not f["inside"]:
            problems.append(f"{where}: {f['text']!r} reaches past its box: {f['where']}")
    texts = {f["text"]: f["title"] for f in figures}
    for text, title in expect:
        if texts.get(text, "missing") != title:
            problems.append(f"{where}: expected {text!r} titled {title!r}; figures: {texts}")
    return figures


def test_huge_values_are_compact_on_one_line_and_inside_their_cards(page, huge, artifacts_dir):
    product, pm, kpis = huge
    s = product.slug
    login(page, pm.username, PASSWORD)
    problems = []
    big = [("999.9T USD", "999,999,999,999,999 USD"), ("1,000T USD", "1,000,000,000,000,000 USD"),
           ("999.9T%", "999,999,999,999,999%"), ("-1,000T ms", "-1,000,000,000,000,000 ms")]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _check(page, f"/kpis/{s}/", "#kpi-range-area .kpi-card", problems, expect=big)
        _check(page, f"/products/{s}/", ".kpi-card", problems, expect=big)
        _check(page, "/kpis/", ".kpi-card", problems, expect=big)
        _check(page, f"/kpis/{s}/k/arr/", ".kpi-facts article", problems, expect=big[:2] + [
            ("500T USD", "500,000,000,000,000 USD"), ("100T USD", "100,000,000,000,000 USD")])
        _check(page, "/portfolio/", ".pf-product", problems, expect=big)
        _check(page, "/portfolio/digest/", ".pf-digest", problems, expect=big)
        page.goto(f"/kpis/{s}/")
        page.locator("#kpi-range-area .card-grid").screenshot(path=os.path.join(artifacts_dir, f"kpi-cards-{width}.png"))
    assert not problems, "\n".join(problems)

    # The 24-character unit on a 1280-px card (the narrowest card): the number shows whole,
    # the unit ends in "…" inside the card, and the title says it all.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/kpis/{s}/")
    card = page.locator('#kpi-range-area .kpi-card[data-kpi="load"]')
    value = card.locator(".kpi-value .figure")
    assert value.get_attribute("title") == f"-999,999,999,999,999 {LONG_UNIT}"
    assert value.text_content() == f"-999.9T {LONG_UNIT}"
    number_fits = page.evaluate("""(f) => {
      const range = document.createRange();
      range.setStart(f.firstChild, 0);
      range.setEnd(f.firstChild, '-999.9T'.length);
      return range.getBoundingClientRect().right <= f.getBoundingClientRect().right;
    }""", value.element_handle())
    assert number_fits


def test_digest_email_table_fits_a_narrow_mail_pane(page, huge):
    """The e-mail itself, as a mail client shows it (no stylesheet of ours): at 480 px the KPI
    table fits, every number stays on one line, and the numeric cells are right-aligned.

    Units as people write them: a 24-character unit is cut with "…" by the pages' stylesheet
    (checked above on the digest's preview), which an e-mail does not have."""
    from portfolio import services

    product, pm, kpis = huge
    kpis["load"].unit = "req/s"
    kpis["load"].save(update_fields=["unit"])
    digest = services.digest_build(user=pm, base_url="http://pmhub.example/")
    for width in (720, 480):
        page.set_viewport_size({"width": width, "height": 900})
        page.set_content(digest.html)
        state = page.evaluate("""() => {
          const table = document.querySelector('table.digest-kpis');
          const figures = [...table.querySelectorAll('.figure')].map(f => {
            const range = document.createRange();
            range.selectNodeContents(f);
            return {text: f.textContent,
                    lines: new Set([...range.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size,
                    align: getComputedStyle(f.closest('td')).textAlign};
          });
          return {right: table.getBoundingClientRect().right, width: window.innerWidth,
                  scroll: document.documentElement.scrollWidth, figures};
        }""")
        assert state["scroll"] <= state["width"] and state["right"] <= state["width"], state
        assert len(state["figures"]) >= 8, state
        for f in state["figures"]:
            assert f["lines"] == 1 and f["align"] == "right", (width, f)
