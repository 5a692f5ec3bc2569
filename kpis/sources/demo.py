"""Demo metric sources: one per demo product, of each kind, with a day of pull history.

They point at hosts under `.example`, a top-level domain reserved for
documentation that never resolves (RFC 2606), and are paused, so a demo makes
no network call (even "Test connection" on one stops at name resolution); the history is written as records
(PullRun rows and the source's health), not pulled, so the source health
panels have something to show. A PM can edit one to point at a real endpoint
and enable it. Idempotent: a source that exists (by KPI and name) is left alone.
"""
from datetime import timedelta

from django.utils import timezone

from kpis.models import KPI
from kpis.sources.models import MetricSource, PullRun
from kpis.sources.services import source_create

RUNS = 8  # hourly, the latest an hour before seeding
TIMEOUT_ERROR = "Connecting to {host} timed out"

# product slug, KPI key, name, kind, config, secrets, index of the failed run (None: all succeeded)
DEMO_SOURCES = [
    ("smart-reply", "first-response-time", "Helpdesk analytics API", "http_json",
     {"url": "https://helpdesk.acme.example/api/v2/stats/first-response", "method": "GET",
      "json_path": "data.median_minutes", "body": ""},
     {"headers": {"Authorization": "Bearer demo-helpdesk-token-not-real"}}, 5),
    ("churn-radar", "at-risk-contacted", "CRM warehouse", "sql",
     {"query": "SELECT date_trunc('hour', contacted_at) AS ts, 100.0 * avg(contacted::int) AS value "
               "FROM at_risk_accounts WHERE contacted_at > now() - interval '1 day' GROUP BY 1 ORDER BY 1"},
     {"dsn": "postgres://pmhub_reader:demo-password-not-real@warehouse.acme.example:5432/crm"}, None),
    ("search-ranking", "ndcg-10", "Ranking service Prometheus", "prometheus",
     {"url": "https://prometheus.acme.example", "query": "avg(avg_over_time(search_ndcg_at_10[1h]))",
      "mode": "instant"},
     {}, 2),
]


def seed(ctx):
    pm = ctx.users.get("pm")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for slug, key, name, kind, config, secrets, failed_index in DEMO_SOURCES:
        kpi = KPI.objects.filter(product__slug=slug, key=key, product__in=ctx.products).first()
        if kpi is None or MetricSource.objects.filter(kpi=kpi, name=name).exists():
            continue
        source = source_create(actor=pm, kpi=kpi, name=name, kind=kind, config=config, secrets=secrets,
                               interval_seconds=3600, timeout_seconds=10, enabled=False)
        host = config["url"].split("/")[2] if "url" in config else "warehouse.acme.example"
        runs = []
        for i in range(RUNS):
            slot = now - timedelta(hours=RUNS - i)
            started = slot + timedelta(seconds=1)
            failed = i == failed_index
            duration = 10_000 if failed else 180 + 37 * (i % 4)
            runs.append(PullRun(
                source=source, slot=slot, trigger=PullRun.Trigger.SCHEDULE, attempt=1,
                status=PullRun.Status.FAILED if failed else PullRun.Status.SUCCESS, started_at=started,
                finished_at=started + timedelta(milliseconds=duration), duration_ms=duration,
                points_written=0 if failed else (24 if kind == "sql" else 1),
                error=TIMEOUT_ERROR.format(host=host) if failed else ""))
        PullRun.objects.bulk_create(runs)
        last, last_error = runs[-1], next((r for r in reversed(runs) if r.error), None)
        MetricSource.objects.filter(pk=source.pk).update(
            health=MetricSource.Health.OK, consecutive_failures=0, last_run_at=last.finished_at,
            last_success_at=last.finished_at, last_error_at=last_error.finished_at if last_error else None,
            last_error=last_error.error if last_error else "")
        ctx.note(f"source {slug}/{key} ({kind}, paused) with {RUNS} runs")
