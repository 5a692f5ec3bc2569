"""The first README command's stack: SQLite, file-system broker, web + worker + beat."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings

from tests.fixtures_live import free_port, stop

pytestmark = pytest.mark.slow


def test_embedded_stack_serves_logs_in_and_runs_beat_tasks(tmp_path):
    """Also: its log stays quiet and readable, and Ctrl-C stops every process cleanly."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PMHUB_VAR_DIR=str(tmp_path / "var"), PORT=str(port), PMHUB_HEARTBEAT_INTERVAL="1",
               PYTHONUNBUFFERED="1")
    log = open(tmp_path / "stack.log", "wb")
    proc = subprocess.Popen([sys.executable, "manage.py", "runstack"], cwd=settings.BASE_DIR, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "stack.log").read_text()
            try:
                health = requests.get(f"{base}/healthz", timeout=2).json()
                if health["worker"] == "ok":
                    break
            except (requests.ConnectionError, requests.Timeout, ValueError):
                pass
            time.sleep(0.5)
        assert health and health["worker"] == "ok", (health, (tmp_path / "stack.log").read_text()[-3000:])
        assert health["database"] == "ok" and health["broker"] == "ok"
        assert (tmp_path / "var" / "pmhub.sqlite3").exists()
        output = (tmp_path / "stack.log").read_text()
        assert "Demo logins" in output and "exec" in output

        session = requests.Session()
        login_page = session.get(f"{base}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        response = session.post(f"{base}/login/", data={
            "username": "pm", "password": settings.DEMO_PASSWORD, "csrfmiddlewaretoken": token,
        }, headers={"Referer": f"{base}/login/"}, timeout=5)
        assert response.status_code == 200 and "Smart Reply" in response.text
        products = session.get(f"{base}/api/v1/products/", timeout=5).json()
        assert {p["slug"] for p in products["results"]} >= {"smart-reply", "churn-radar", "search-ranking"}
        session.get(f"{base}/static/vendor/pico.min.css", timeout=5)
        time.sleep(3)  # a few heartbeats and beat ticks

        proc.send_signal(signal.SIGINT)  # what the terminal's Ctrl-C sends (children have their own sessions)
        assert proc.wait(timeout=45) == 0, (tmp_path / "stack.log").read_text()[-3000:]
    finally:
        stop(proc, timeout=20)
    output = (tmp_path / "stack.log").read_text()
    assert "stopped" in output.splitlines()[-1], output[-2000:]
    # No worker needed killing, no pool process was signalled behind Celery's back.
    for noise in ("SIGKILL", "signal 15", "killed", "Traceback", "No hostname was supplied",
                  "Task pmhub.tasks.heartbeat", "Sending due task", "GET /static/", "GET /healthz"):
        assert noise not in output, (noise, output[-3000:])
    assert '"GET /api/v1/products/ HTTP/1.1" 200' in output  # pages and API calls are logged
    assert "heartbeat" not in output
