"""Demo metric sources: paused, with history, never pulled; seeding twice changes nothing."""
import pytest
from django.core.management import call_command

from kpis.sources.models import MetricSource, PullRun
from kpis.sources.services import sources_dispatch_due

pytestmark = pytest.mark.django_db


def test_demo_sources_are_paused_have_runs_and_seed_idempotently(client, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--quiet")
    sources = list(MetricSource.objects.select_related("kpi__product").order_by("kind"))
    assert [s.kind for s in sources] == ["http_json", "prometheus", "sql"]
    assert {s.kpi.product.slug for s in sources} == {"smart-reply", "churn-radar", "search-ranking"}
    assert all(not s.enabled and s.next_run_at is None and s.health == "ok" for s in sources)
    assert all(".acme.example" in (s.config.get("url") or "warehouse.acme.example") for s in sources)
    assert PullRun.objects.count() == 8 * len(sources)
    assert PullRun.objects.filter(status="failed").count() == 2
    assert all(s.last_success_at and s.last_run_at for s in sources)
    counts = (MetricSource.objects.count(), PullRun.objects.count())

    call_command("seed_demo", "--quiet")
    assert (MetricSource.objects.count(), PullRun.objects.count()) == counts

    with django_capture_on_commit_callbacks(execute=True):
        assert sources_dispatch_due() == 0  # paused: nothing is ever queued, no network call
    assert PullRun.objects.count() == counts[1]

    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="pm"))
    page = client.get("/kpis/smart-reply/k/first-response-time/").content.decode()
    assert "Helpdesk analytics API" in page and "Paused" in page
    assert "Connecting to helpdesk.acme.example timed out" in page  # the failed run in the history
    assert "demo-helpdesk-token" not in page
    api = client.get("/api/v1/sources/", {"product": "churn-radar"}).json()
    assert api["count"] == 1
    assert api["results"][0]["secrets"] == {"dsn": "postgres://pmhub_reader:••••••@warehouse.acme.example:5432/crm"}
