"""The demo executive reads the portfolio, switches the period, drills down, cannot edit."""
import re

import pytest
from django.conf import settings
from django.core.management import call_command

from products.models import Product
from tests.fixtures_live import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_exec_reads_portfolio_and_digest(page, live_server, artifacts_dir):
    call_command("seed_demo", "--quiet")
    login(page, "exec", settings.DEMO_PASSWORD)
    # a viewer's home is the portfolio
    page.wait_for_url("**/portfolio/")
    page.get_by_role("heading", name="Portfolio", exact=True).wait_for()
    for product in Product.objects.all():
        assert page.get_by_role("heading", name=product.name).is_visible()
    assert page.get_by_text("Cut median first-response time").is_visible()
    page.screenshot(path=f"{artifacts_dir}/portfolio_exec_month.png", full_page=True)

    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_url("**/portfolio/?period=week")
    page.get_by_text("Last 7 days", exact=False).first.wait_for()
    assert page.get_by_role("link", name="Week", exact=True).get_attribute("aria-current") == "true"
    page.screenshot(path=f"{artifacts_dir}/portfolio_exec_week.png", full_page=True)

    # drill down: a number on a product's card opens the page that explains it
    card = page.locator("article.pf-product").first
    slug = card.get_attribute("id").removeprefix("product-")
    card.get_by_test_id("roadmap-shipped").click()
    page.wait_for_url(lambda url: "/portfolio/" not in url)
    assert f"/{slug}" in page.url

    # no edit page is reachable: no edit controls, and the edit URLs refuse
    from django.urls import NoReverseMatch, reverse

    from kpis.models import KPI

    edit_pages = [f"/products/{slug}/edit/", "/products/new/"]
    kpi = KPI.objects.filter(product__slug=slug).first()
    for name, kwargs in [("kpis:create", {"slug": slug}), ("kpis:objective-create", {"slug": slug}),
                         ("kpis:edit", {"slug": slug, "key": kpi.key if kpi else "x"}),
                         ("roadmap:create", {"slug": slug}), ("sprints:create", {"slug": slug})]:
        try:
            edit_pages.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            pass
    for path in edit_pages:
        response = page.request.get(path)
        assert response.status in (403, 404), path
    page.goto("/portfolio/")
    for word in ("Edit", "New ", "Delete", "Remove", "Promote"):
        control = re.compile(rf"^\s*{word}", re.I)  # a control's label starts with the verb
        assert page.get_by_role("link", name=control).count() == 0
        assert page.get_by_role("button", name=control).count() == 0

    # it prints cleanly: no navigation, period switcher or buttons on paper
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible()
    assert not page.get_by_role("link", name="Export CSV").is_visible()
    assert page.locator("article.pf-product").first.is_visible()
    page.screenshot(path=f"{artifacts_dir}/portfolio_exec_print.png", full_page=True)
    page.emulate_media(media="screen")

    page.goto("/portfolio/digest/")
    page.get_by_role("heading", name="Weekly digest").wait_for()
    assert page.get_by_text("Subject:").is_visible()
    assert page.get_by_role("button", name="Send now to me").is_visible()
    page.get_by_role("button", name="Send now to me").click()
    page.get_by_text("on its way").wait_for()
