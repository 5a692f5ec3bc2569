"""The browser sweep: every page reachable from the navigation, as each demo role, in a 1280-px window.

Demo data (`seed_demo`) plus hostile-but-valid data (tests/e2e/sweep_data.py: dates at
1900-01-01 and 2199-12-31, huge numbers, 200-character titles without a space, a model
version with 20 metric columns, an empty product). Starting from the home page, each
role follows every same-site link a page shows (navigation, product tabs, sub-navigation,
tables, cards), one page per kind of page and kind of product (demo / edge / empty), and
checks each page:
- it answers 200 (after redirects);
- no JavaScript error and no console error;
- the document is no wider than the window (1280 px): nothing to scroll sideways;
- every chart on it is drawn.
A full-page screenshot of every page visited is kept in test-artifacts/sweep/ (for a human to look).
"""
import os
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.e2e.sweep_data import edge_world
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1280, 900
ROLES = ("pm", "ds", "exec")
# PMHUB_SWEEP_ROLES=pm sweeps one role only (while fixing pages); the suite sweeps all three.
SWEEP_ROLES = tuple(os.environ.get("PMHUB_SWEEP_ROLES", ",".join(ROLES)).split(","))
# Links the sweep does not follow: not pages (API, downloads, health JSON), or pages of other tools.
SKIP = re.compile(r"^/(logout|admin|api/v1|api/schema|mlflow|healthz|static|media)(/|\?|$)"
                  r"|export|download|\.csv|format=")
KEEP_QUERY = {("range", "1y")}  # the longest range: the most ship notes and the widest axis
PAGE_STATE = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  charts: document.querySelectorAll('[data-figure]').length,
  drawn: document.querySelectorAll('[data-figure][data-drawn]').length,
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  wide: [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
           .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40)),
})"""


def _kind(path: str, slugs: dict) -> str:
    """What kind of page a path is: its shape with ids and product slugs replaced, plus its query keys."""
    parsed = urlparse(path)
    parts = []
    for segment in parsed.path.split("/"):
        if parts and parts[-1] == "k":  # /kpis/<product>/k/<kpi key>/
            parts.append("KEY")
        elif segment in slugs:
            parts.append(slugs[segment])
        elif re.fullmatch(r"\d+", segment):
            parts.append("N")
        elif len(segment) >= 16 and re.fullmatch(r"[\w-]+", segment) and any(c.isdigit() for c in segment):
            parts.append("TOKEN")
        else:
            parts.append(segment)
    keys = sorted(f"{k}={v}" for k, v in parse_qsl(parsed.query))
    return "/".join(parts) + ("?" + "&".join(keys) if keys else "")


def _local(href: str, current: str, base: str) -> str | None:
    """The link as a path of ours worth a visit, or None.

    Query strings are kept only for the longest range of a chart; other ranges, filters,
    sorting and paging show the same page with other rows.
    """
    if not href or href.startswith(("#", "mailto:", "javascript:")):
        return None
    parsed = urlparse(urljoin(current, href))
    if f"{parsed.scheme}://{parsed.netloc}" != base:
        return None
    path = parsed.path or "/"
    if SKIP.search(path + "?" + parsed.query):
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parsed.query) if (k, v) in KEEP_QUERY])
    return path + ("?" + query if query else "")


def _shot_name(role: str, path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "home"
    return f"{role}--{name[:120]}.png"


def _sweep(browser, base: str, role: str, seeds: list[str], slugs: dict, out: str, problems: list) -> int:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(20000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    login(page, role, settings.DEMO_PASSWORD)
    queue, seen_kinds, visited = ["/", *seeds], set(), 0
    seen_paths = set()
    while queue:
        path = queue.pop(0)
        kind = _kind(path, slugs)
        if path in seen_paths or (kind in seen_kinds and path not in seeds):
            continue
        seen_paths.add(path)
        seen_kinds.add(kind)
        errors.clear()
        response = page.goto(path, wait_until="load")
        visited += 1
        where = f"{role} {path}"
        if response is None or response.status != 200:
            problems.append(f"{where}: HTTP {response.status if response else 'none'}")
            continue
        if page.locator("[data-figure]").count():
            try:
                page.wait_for_function("() => document.querySelectorAll('[data-figure]').length"
                                       " === document.querySelectorAll('[data-figure][data-drawn]').length",
                                       timeout=15000)
            except Exception:  # noqa: BLE001 (reported below with the page's state)
                pass
        state = page.evaluate(PAGE_STATE)
        page.screenshot(path=os.path.join(out, _shot_name(role, path)), full_page=True)
        if state["drawn"] != state["charts"]:
            problems.append(f"{where}: {state['charts'] - state['drawn']} of {state['charts']} charts not drawn")
        if state["scrollWidth"] > state["innerWidth"]:
            problems.append(f"{where}: {state['scrollWidth']} px wide in a {state['innerWidth']}-px window;"
                            f" wide: {state['wide']}")
        if errors:
            problems.append(f"{where}: {errors[:3]}")
        for href in state["links"]:
            local = _local(href, page.url, base)
            if local and local not in seen_paths:
                queue.append(local)
    context.close()
    return visited


def test_every_page_as_every_role_fits_the_window_and_works(browser, live_server, artifacts_dir):
    from django.contrib.auth import get_user_model

    from products.models import Product

    call_command("seed_demo", verbosity=0)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=ROLES)}
    edge = edge_world(pm=users["pm"], ds=users["ds"], viewer=users["exec"])
    slugs = {p.slug: "DEMO" for p in Product.objects.all()}
    slugs.update({edge.product.slug: "EDGE", edge.empty.slug: "EMPTY"})
    s = edge.product.slug
    # The edge product's pages first: the pages of its kind then come from the demo and empty products.
    e = edge.empty.slug
    seeds = [f"/products/{s}/", f"/roadmap/{s}/", f"/roadmap/{s}/timeline/", f"/roadmap/{s}/matrix/",
             f"/roadmap/{s}/list/", f"/roadmap/{s}/items/{edge.item.pk}/", f"/kpis/{s}/",
             f"/kpis/{s}/k/{edge.kpi.key}/", f"/kpis/{s}/k/{edge.kpi.key}/?range=1y", f"/models/{s}/",
             f"/models/{s}/{edge.aimodel.pk}/", f"/feedback/{s}/", f"/feedback/{s}/{edge.feedback.pk}/",
             f"/sprints/{s}/", f"/sprints/{s}/{edge.long_sprint.pk}/", f"/sources/{s}/", f"/sources/{s}/{edge.source.pk}/",
             f"/products/{e}/", f"/roadmap/{e}/timeline/", f"/kpis/{e}/"]
    out = os.path.join(artifacts_dir, "sweep")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    problems, counts = [], {}
    for role in SWEEP_ROLES:
        counts[role] = _sweep(browser, live_server.url, role, seeds, slugs, out, problems)
    print(f"sweep: pages visited per role {counts}; screenshots in {out}")
    assert all(n > 20 for n in counts.values()), counts
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
