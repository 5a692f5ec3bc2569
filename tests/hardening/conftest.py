"""Private PostgreSQL and Redis servers for fault tests.

Fault tests stop and start servers; the shared PostgreSQL (5432) and Redis
(6379) serve every other test, so these tests start their own on free ports:
a throwaway PostgreSQL cluster (initdb in a temporary directory, run as the
postgres user when the suite runs as root) and a redis-server that keeps
nothing on disk. gunicorn and Celery processes are pointed at them.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

import psycopg2
import pytest
import requests
from django.conf import settings

from tests.fixtures_live import BIN, _log_path, free_port, spawn, stop, wait_for_port

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1] if glob.glob("/usr/lib/postgresql/*/bin") else ""


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PrivatePostgres:
    """A PostgreSQL cluster of its own on a free port; start() and stop() at will."""

    def __init__(self):
        if not PG_BIN:
            pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.root = tempfile.mkdtemp(prefix="pmhub-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = free_port()
        self.log = _log_path("private-postgres")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o755)
        subprocess.run(_as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--no-sync"]), check=True, capture_output=True, timeout=120)
        self.start()
        subprocess.run(_as_postgres([f"{PG_BIN}/createdb" if os.path.exists(f"{PG_BIN}/createdb") else "createdb",
                                     "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "pmhub"]),
                       check=True, capture_output=True, timeout=60)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/pmhub"

    def start(self):
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "log"),
                                     "-w", "-t", "60", "start"]), check=True, capture_output=True, timeout=90)

    def stop(self, mode="fast"):
        subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"]),
                       capture_output=True, timeout=90)

    def is_running(self) -> bool:
        return subprocess.run(_as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "status"]),
                              capture_output=True).returncode == 0

    def connect(self):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="pmhub", connect_timeout=3)

    def scalar(self, sql, params=None):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no"], dict(os.environ), _log_path("private-redis"))
        wait_for_port(self.port, self.proc)

    def stop(self):
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


def stack_env(pg: PrivatePostgres, redis: PrivateRedis, **extra) -> dict:
    env = dict(os.environ)
    env.update(DATABASE_URL=pg.url, REDIS_URL=redis.url, DJANGO_SETTINGS_MODULE="pmhub.settings",
               PYTHONUNBUFFERED="1", DEBUG="0", SECRET_KEY="fault-tests-" + "k" * 40, STATIC_MANIFEST="0",
               DB_CONNECT_TIMEOUT="2", PMHUB_VAR_DIR=tempfile.mkdtemp(prefix="pmhub-var-"))
    env.update({k: str(v) for k, v in extra.items()})
    return env


def manage(env: dict, *args, timeout=300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


SETUP_SCRIPT = """
from django.contrib.auth import get_user_model
from products.models import Membership, Product
from pmhub.services import api_token_create
User = get_user_model()
pm, _ = User.objects.get_or_create(username="fault-pm")
product, _ = Product.objects.get_or_create(slug="faulty", defaults={"name": "Faulty"})
Membership.objects.get_or_create(user=pm, product=product, defaults={"role": "pm"})
print("TOKEN=" + api_token_create(user=pm, name="faults")[1])
"""


@pytest.fixture(scope="session")
def private_postgres():
    pg = PrivatePostgres()
    redis = PrivateRedis()
    try:
        manage(stack_env(pg, redis), "migrate", "--no-input")
        yield pg
    finally:
        redis.stop()
        pg.destroy()


@pytest.fixture
def pg(private_postgres):
    if not private_postgres.is_running():
        private_postgres.start()
    yield private_postgres
    if not private_postgres.is_running():
        private_postgres.start()


@pytest.fixture
def private_redis():
    redis = PrivateRedis()
    yield redis
    redis.stop()


@pytest.fixture
def stack(pg, private_redis):
    """Starters for gunicorn and Celery workers on the private servers; all stopped at teardown."""

    class Stack:
        def __init__(self):
            self.pg, self.redis, self.procs = pg, private_redis, []
            self.env = stack_env(pg, private_redis)
            out = manage(self.env, "shell", "-c", SETUP_SCRIPT)
            self.token = [line for line in out.splitlines() if line.startswith("TOKEN=")][0][6:]
            self.session = requests.Session()
            self.session.headers["Authorization"] = f"Bearer {self.token}"

        def gunicorn(self, workers=2, threads=4, **env):
            port = free_port()
            cmd = [os.path.join(BIN, "gunicorn"), "pmhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads), "--timeout", "60", "--keep-alive", "15"]
            proc = spawn(cmd, {**self.env, **{k: str(v) for k, v in env.items()}}, _log_path("gunicorn-faults"))
            self.procs.append(proc)
            wait_for_port(port, proc)
            return f"http://127.0.0.1:{port}"

        def worker(self, name="worker", concurrency=1, queues=None, **env):
            cmd = [os.path.join(BIN, "celery"), "-A", "pmhub", "worker", "--loglevel", "INFO",
                   "--concurrency", str(concurrency), "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip",
                   "-Q", queues or worker_queues()]
            proc = spawn(cmd, {**self.env, **{k: str(v) for k, v in env.items()}}, _log_path(f"celery-{name}"))
            self.procs.append(proc)
            return proc

        def beat(self, **env):
            schedule = os.path.join(tempfile.mkdtemp(prefix="pmhub-beat-"), "schedule")
            cmd = [os.path.join(BIN, "celery"), "-A", "pmhub", "beat", "--loglevel", "INFO", "--schedule", schedule]
            proc = spawn(cmd, {**self.env, **{k: str(v) for k, v in env.items()}}, _log_path("celery-beat"))
            self.procs.append(proc)
            return proc

        def close(self):
            for proc in self.procs:
                stop(proc)

    s = Stack()
    yield s
    s.close()


def worker_queues() -> str:
    """Every queue main's Celery configuration routes tasks to, for a worker's -Q (pulls may have their own)."""
    from pmhub.celery import app

    queues = {app.conf.task_default_queue or "celery"}
    routes = app.conf.task_routes or {}
    for route in (routes.values() if isinstance(routes, dict) else []):
        if isinstance(route, dict) and route.get("queue"):
            queues.add(route["queue"])
    return ",".join(sorted(queues))


def wait_until(predicate, timeout=30.0, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
