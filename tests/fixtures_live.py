"""Real processes for tests: a browser, a Celery worker, a gunicorn server.

They talk to the test database (transactional tests only: the data must be
committed to be seen by another process) and to Redis.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

CHROMIUM = os.environ.get("PMHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """DATABASE_URL of the database the tests are running against right now."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="pmhub.settings",
        PYTHONUNBUFFERED="1",
        DEBUG="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def spawn(cmd: list[str], env: dict, log_path: str) -> subprocess.Popen:
    log = open(log_path, "wb")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
                            start_new_session=True)


def _log_path(name: str) -> str:
    path = os.path.join(settings.BASE_DIR, "test-artifacts", "logs")
    os.makedirs(path, exist_ok=True)
    return os.path.join(path, f"{name}-{os.getpid()}-{time.monotonic_ns()}.log")


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker on Redis against the test database; yields a starter.

    `start(name="w1", concurrency=1, queues="celery,pulls", pool=None, **env)` returns
    the Popen; all are stopped at teardown. By default a worker consumes both queues
    (the default one and metric pulls'). Tasks are sent for real (not eagerly) meanwhile.
    """
    from pmhub.celery import app

    app.conf.task_always_eager = False
    procs = []

    def start(name="worker", concurrency=1, queues="celery,pulls", pool=None, **env):
        cmd = [os.path.join(BIN, "celery"), "-A", "pmhub", "worker", "--loglevel", "INFO", "--queues", queues,
               "--concurrency", str(concurrency), "--hostname", f"{name}@%h", "--without-mingle", "--without-gossip"]
        if pool:
            cmd += ["--pool", pool]
        proc = spawn(cmd, process_env(**env), _log_path(name))
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        stop(proc)
    app.conf.task_always_eager = True


@pytest.fixture
def gunicorn_server(transactional_db):
    """A real gunicorn serving pmhub on 127.0.0.1 against the test database; yields its base URL."""
    port = free_port()
    cmd = [os.path.join(BIN, "gunicorn"), "pmhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "2", "--threads", "4", "--timeout", "60", "--keep-alive", "15"]
    proc = spawn(cmd, process_env(), _log_path("gunicorn"))
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (.ci/run does it).")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server, request, artifacts_dir):
    """A fresh browser page; fails the test if the page asked anything of a host other than ours.

    A screenshot of the last state is saved under test-artifacts/ as evidence.
    """
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    ours = urlparse(live_server.url).netloc
    foreign = []
    pg.on("request", lambda req: foreign.append(req.url)
          if urlparse(req.url).scheme in ("http", "https", "ws", "wss") and urlparse(req.url).netloc != ours else None)
    console_errors = []
    pg.on("pageerror", lambda exc: console_errors.append(str(exc)))
    pg.on("console", lambda msg: console_errors.append(msg.text)
          if msg.type == "error" and "Content Security Policy" in msg.text else None)
    yield pg
    try:
        pg.screenshot(path=os.path.join(artifacts_dir, f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
    assert not foreign, f"pages requested external URLs: {foreign}"
    assert not console_errors, f"JavaScript errors on the page: {console_errors}"


def login(page, username, password):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
