"""`.ci/start-services`, which `make test` runs first: it starts a local Redis or
PostgreSQL that does not answer, and says clearly what it cannot start."""
import os
import subprocess

import pytest
import redis
from django.conf import settings

from tests.fixtures_live import free_port

pytestmark = pytest.mark.slow
SCRIPT = os.path.join(settings.BASE_DIR, ".ci", "start-services")


def postgres_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_script(**env):
    return subprocess.run(["bash", SCRIPT], env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=60)


def test_a_stopped_local_redis_is_started_and_a_running_postgresql_left_alone():
    port = free_port()
    done = run_script(DATABASE_URL=postgres_url(), REDIS_URL=f"redis://127.0.0.1:{port}/0")
    try:
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"starting Redis on 127.0.0.1:{port}"
        assert redis.Redis(host="127.0.0.1", port=port).ping()
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)


def test_a_remote_server_that_does_not_answer_is_named_not_started():
    done = run_script(DATABASE_URL=postgres_url(), REDIS_URL="redis://192.0.2.1:6379/0")
    assert done.returncode == 1
    assert "Redis at 192.0.2.1:6379 does not answer" in done.stderr


def test_no_postgresql_cluster_on_the_port_is_said_plainly():
    port = free_port()
    done = run_script(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/pmhub", REDIS_URL=settings.REDIS_URL)
    assert done.returncode == 1
    assert f"no PostgreSQL cluster on port {port}" in done.stderr
