"""Fault: PostgreSQL restarted while gunicorn serves (private PostgreSQL, real gunicorn)."""
import time

import pytest
import requests

from tests.hardening.conftest import wait_until

pytestmark = pytest.mark.slow


def test_postgres_restart_gives_fast_503_json_then_serves_again(stack):
    base = stack.gunicorn()
    api = stack.session
    assert api.get(f"{base}/api/v1/products/", timeout=10).status_code == 200

    stack.pg.stop("fast")
    try:
        for path in ("/api/v1/products/", "/api/v1/products/faulty/", "/api/v1/products/faulty/members/"):
            started = time.monotonic()
            response = api.get(f"{base}{path}", timeout=10, allow_redirects=False)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert response.headers["Content-Type"] == "application/json"
            assert "database is unavailable" in response.json()["detail"]
            assert response.headers["Retry-After"] == "5"
            assert elapsed < 3, f"{path} took {elapsed:.2f}s to fail"
        # A write during the gap fails the same way, and the health check says why.
        response = api.patch(f"{base}/api/v1/products/faulty/", json={"description": "during outage"}, timeout=10)
        assert response.status_code == 503
        health = requests.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 503 and health.json()["database"] != "ok"
    finally:
        stack.pg.start()

    # Same gunicorn processes, no restart: every worker serves again.
    def all_ok():
        return all(api.get(f"{base}/api/v1/products/", timeout=10).status_code == 200 for _ in range(12))

    wait_until(all_ok, timeout=20, message="gunicorn to serve again after PostgreSQL came back")
    response = api.patch(f"{base}/api/v1/products/faulty/", json={"description": "after outage"}, timeout=10)
    assert response.status_code == 200
    assert stack.pg.scalar("SELECT description FROM products_product WHERE slug = 'faulty'") == "after outage"
