"""Browser journey: a PM opens the KPI dashboard, switches the range, sees the chart change."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import PASSWORD, ProductFactory, member
from tests.fixtures_live import login
from tests.kpis.factories import add_points, make_kpi

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_range_switch_redraws_chart(page):
    product = ProductFactory(name="Voice Assistant", slug="voice-assistant")
    pm = member(product, "pm", "priya")
    kpi = make_kpi(product, "containment", name="Call containment", unit="%", target=40, warning_threshold=30,
                   critical_threshold=20)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    add_points(kpi, [32 + (i % 24) / 3 for i in range(24 * 60)], start=now - timedelta(days=60),
               step=timedelta(hours=1))

    login(page, pm.username, PASSWORD)
    page.get_by_role("link", name="KPIs", exact=True).first.click()
    page.get_by_role("link", name="Voice Assistant").click()
    page.get_by_role("heading", name="Last 30 days").wait_for()
    chart = page.locator(f'[data-figure="fig-kpi-{kpi.pk}"]')
    page.wait_for_selector(f'[data-figure="fig-kpi-{kpi.pk}"][data-drawn="true"]')
    assert page.get_by_text("Call containment").first.is_visible()
    before = chart.get_attribute("data-range-start")
    x_range_before = page.evaluate(f"document.querySelector('[data-figure=\"fig-kpi-{kpi.pk}\"]').layout.xaxis.range[0]")

    page.get_by_role("button", name="7 d").click()
    page.get_by_role("heading", name="Last 7 days").wait_for()
    page.wait_for_selector(f'[data-figure="fig-kpi-{kpi.pk}"][data-drawn="true"]')
    after = page.locator(f'[data-figure="fig-kpi-{kpi.pk}"]').get_attribute("data-range-start")
    x_range_after = page.evaluate(f"document.querySelector('[data-figure=\"fig-kpi-{kpi.pk}\"]').layout.xaxis.range[0]")
    assert before != after and x_range_before != x_range_after
    assert "range=7d" in page.url
    assert page.locator(".js-plotly-plot").count() >= 1

    page.get_by_role("link", name="Call containment").first.click()
    page.get_by_role("heading", name="Call containment").wait_for()
    page.wait_for_selector('[data-figure="fig-kpi"][data-drawn="true"]')
