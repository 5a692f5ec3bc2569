"""A PM connects a KPI to an HTTP source, sees its points arrive on schedule, sees
the endpoint break and the source marked failing, then sees it recover.

Real processes: the live server, a Celery worker and beat on Redis, a metrics
server on 127.0.0.1 (allowed by PMHUB_PULL_ALLOWED_HOSTS, as on premise).
"""
import pytest

from kpis.sources.models import MetricSource
from tests.factories import PASSWORD, member
from tests.fixtures_live import login
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ENV = {"PMHUB_PULL_ALLOWED_HOSTS": "127.0.0.1", "PMHUB_PULL_DISPATCH_INTERVAL": "1",
       "PMHUB_PULL_MAX_RETRIES": "1", "PMHUB_PULL_FAILING_AFTER": "2"}


def test_pm_adds_http_source_sees_points_failure_and_recovery(page, product_factory, metrics_server, settings,
                                                              celery_worker_process, celery_beat_process,
                                                              artifacts_dir):
    settings.PMHUB_PULL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PMHUB_PULL_MIN_INTERVAL = 2  # a demo-speed schedule; production keeps one minute
    product = product_factory(name="Smart Reply", slug="smart-reply")
    member(product, "pm", username="priya")
    make_kpi(product, "weekly-active-teams", "Weekly active teams")  # noqa: F405
    metrics_server.values["teams"] = 123.0
    celery_worker_process("w1", concurrency=2, **ENV)
    celery_beat_process(**ENV)

    login(page, "priya", PASSWORD)
    page.goto("/sources/smart-reply/")
    page.get_by_role("button", name="Add a source").click()
    page.get_by_label("KPI").select_option(label="Weekly active teams")
    page.get_by_label("Name").fill("Analytics API")
    page.get_by_label("Kind").select_option("http_json")
    assert not page.get_by_label("PromQL query").is_visible()  # only the chosen kind's fields
    page.get_by_label("Interval (seconds)").fill("3")
    page.get_by_label("Timeout (seconds)").fill("5")
    page.get_by_label("URL", exact=True).fill(f"{metrics_server.url}/value/teams")
    page.get_by_label("Headers (secret)").fill("Authorization: Bearer analytics-token-987")
    page.get_by_label("JSON path").fill("value")
    page.get_by_role("button", name="Add source").click()
    page.get_by_text("its first pull is queued").wait_for()

    health = page.locator(".source-health")
    health.get_by_text("Healthy").wait_for(timeout=30000)
    health.get_by_text("123").first.wait_for()
    assert "analytics-token" not in page.content()
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("Test succeeded").wait_for()
    page.screenshot(path=f"{artifacts_dir}/sources_journey_1_healthy.png", full_page=True)

    metrics_server.broken.add("/value/teams")  # the analytics endpoint breaks
    health.get_by_text("Failing").wait_for(timeout=45000)
    health.get_by_text("answered 500").first.wait_for()
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("Test failed").wait_for()
    page.screenshot(path=f"{artifacts_dir}/sources_journey_2_failing.png", full_page=True)
    assert MetricSource.objects.get().health == "failing"

    metrics_server.broken.clear()  # fixed
    metrics_server.values["teams"] = 150.0
    health.get_by_text("Healthy").wait_for(timeout=30000)
    health.get_by_text("150").first.wait_for()
    page.goto("/sources/smart-reply/")
    page.get_by_text("Analytics API").wait_for()
    assert page.locator(".badge.health-healthy").count() == 1
