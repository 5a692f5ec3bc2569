"""The pulls journey on the embedded default: `manage.py runstack` (what `make run` runs)
on SQLite and the file-system broker, with its own worker, pulls worker and beat.

A PM adds an HTTP source to a demo KPI in the browser, sees its first points within
one interval, the endpoint breaks and the source is reported failing, it is fixed and
recovers. The endpoint is a real HTTP server on 127.0.0.1, allowed by
PMHUB_PULL_ALLOWED_HOSTS as an administrator would for an on-premise host.
Afterwards the stack's SQLite database shows every scheduled slot pulled once.
"""
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings

from tests.fixtures_live import free_port, stop
from tests.kpis.pull_servers import *  # noqa: F403 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

INTERVAL = 3


@pytest.fixture
def embedded_stack(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PMHUB_VAR_DIR=str(tmp_path / "var"), PORT=str(port), PYTHONUNBUFFERED="1",
               PMHUB_PULL_ALLOWED_HOSTS="127.0.0.1", PMHUB_PULL_DISPATCH_INTERVAL="1",
               PMHUB_PULL_MIN_INTERVAL="2", PMHUB_PULL_MAX_RETRIES="1", PMHUB_PULL_FAILING_AFTER="2")
    log_path = tmp_path / "stack.log"
    proc = subprocess.Popen([sys.executable, "manage.py", "runstack"], cwd=settings.BASE_DIR, env=env,
                            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base}/healthz", timeout=2).json().get("worker") == "ok":
                    break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"the stack did not come up: {log_path.read_text()[-3000:]}")
        yield {"url": base, "db": tmp_path / "var" / "pmhub.sqlite3", "log": log_path, "proc": proc}
    finally:
        stop(proc, timeout=20)
        log = log_path.read_text()
        dest = os.path.join(settings.BASE_DIR, "test-artifacts", "logs", "sources-embedded-stack.log")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(log)
    assert not (settings.BASE_DIR / "control").exists(), "the file broker wrote outside var/"


def test_pm_adds_a_source_on_the_embedded_stack_sees_points_failure_and_recovery(
        browser, embedded_stack, metrics_server, artifacts_dir):
    base = embedded_stack["url"]
    metrics_server.values["csat"] = 91.25
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/login/")
        page.get_by_label("Username").fill("pm")
        page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)

        page.goto("/sources/smart-reply/")
        page.get_by_role("button", name="Add a source").click()
        page.get_by_label("KPI").select_option(label="Support CSAT")
        page.get_by_label("Name").fill("Helpdesk CSAT API")
        page.get_by_label("Kind").select_option("http_json")
        page.get_by_label("Interval (seconds)").fill(str(INTERVAL))
        page.get_by_label("Timeout (seconds)").fill("5")
        page.get_by_label("URL", exact=True).fill(f"{metrics_server.url}/value/csat")
        page.get_by_label("Headers (secret)").fill("Authorization: Bearer helpdesk-token-4242")
        page.get_by_label("JSON path").fill("value")
        page.get_by_role("button", name="Add source").click()
        page.get_by_text("its first pull is queued").wait_for()
        added = time.monotonic()

        health = page.locator(".source-health")
        # The health block refreshes itself every 5 s (htmx); the first pull is due at once.
        health.get_by_text("Healthy").wait_for(timeout=30000)
        health.get_by_text("91.25").first.wait_for()
        first_points_after = time.monotonic() - added
        assert "helpdesk-token" not in page.content()
        page.screenshot(path=f"{artifacts_dir}/sources_embedded_1_healthy.png", full_page=True)

        metrics_server.broken.add("/value/csat")  # the endpoint breaks
        health.get_by_text("Failing").wait_for(timeout=45000)
        health.get_by_text("answered 500").first.wait_for()
        page.screenshot(path=f"{artifacts_dir}/sources_embedded_2_failing.png", full_page=True)

        metrics_server.broken.clear()  # fixed
        metrics_server.values["csat"] = 93.5
        health.get_by_text("Healthy").wait_for(timeout=30000)
        health.get_by_text("93.5").first.wait_for()
        page.screenshot(path=f"{artifacts_dir}/sources_embedded_3_recovered.png", full_page=True)

        # The KPI's own page shows the source and its health too.
        page.goto("/kpis/smart-reply/k/csat/")
        page.get_by_text("Helpdesk CSAT API").first.wait_for()
    finally:
        context.close()

    # The alert the failing source opened is resolved, and every scheduled slot was pulled
    # once: one beat, a prefork worker and a threads pulls worker on SQLite never double-pull.
    db = sqlite3.connect(embedded_stack["db"])
    try:
        source_id, created_at = db.execute(
            "SELECT id, created_at FROM kpis_metricsource WHERE name = 'Helpdesk CSAT API'").fetchone()
        runs = db.execute("SELECT slot, attempt, status, trigger FROM kpis_pullrun WHERE source_id = ?",
                          [source_id]).fetchall()
        first_run = db.execute("SELECT slot, status, finished_at FROM kpis_pullrun WHERE source_id = ? "
                               "ORDER BY started_at LIMIT 1", [source_id]).fetchone()
        alerts = db.execute("SELECT a.kind, a.resolved_at IS NOT NULL FROM kpis_alert a JOIN kpis_kpi k "
                            "ON a.kpi_id = k.id WHERE k.key = 'csat' AND a.kind = 'source_failing'").fetchall()
    finally:
        db.close()
    # The first slot is the moment the source was added, and its pull is the first run: the
    # PM's first points come within one interval, not after it.
    from datetime import datetime

    slot, status, finished_at = first_run
    assert status == "success"
    assert abs((datetime.fromisoformat(slot) - datetime.fromisoformat(created_at)).total_seconds()) < 1
    pulled_after = (datetime.fromisoformat(finished_at) - datetime.fromisoformat(created_at)).total_seconds()
    keys = [(slot, attempt) for slot, attempt, _status, _trigger in runs]
    assert len(keys) == len(set(keys)), "a slot was pulled twice"
    assert {status for *_, status, _t in runs} >= {"success", "failed"}
    assert metrics_server.hits["/value/csat"] == len(runs)  # one request per run, none unrecorded
    assert alerts and all(resolved for _kind, resolved in alerts), alerts
    print(f"first pull stored {pulled_after:.1f} s and shown {first_points_after:.1f} s after the source was "
          f"added (interval {INTERVAL} s, the page refreshes every 5 s)")
