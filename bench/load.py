"""Load benchmark: gunicorn + PostgreSQL + Redis under concurrent ingest and reads.

    python bench/load.py [--duration 60] [--ingest 32] [--readers 16] [--batch 100]

Creates a scratch database on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432; dropped afterwards), starts a private
redis-server, gunicorn and a Celery worker, and then, for --duration seconds:
- each ingest client posts batches of --batch points to a KPI of its own
  (POST /api/v1/kpis/<product>/<key>/points, a token each), every timestamp new;
- each reader cycles through the API (KPI list, bucketed points) and the
  dashboard pages (logged-in session).
It prints failed requests, the exact number of points stored against the
number acknowledged, and p50/p99 latency per endpoint. Loopback only.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
PASSWORD = "bench-password-123"

SETUP = """
from django.contrib.auth import get_user_model
from kpis.services.kpis import kpi_create
from pmhub.services import api_token_create
from products.services import product_create
User = get_user_model()
pm = User.objects.create_user("bench-pm", password=%(password)r, is_staff=False)
pm.user_permissions.add(__import__("django.contrib.auth.models", fromlist=["Permission"]).Permission.objects.get(codename="add_product"))
product = product_create(actor=pm, name="Bench", slug="bench")
for i in range(%(kpis)d):
    kpi_create(actor=pm, product=product, name=f"Load {i}", key=f"load-{i}", warning_threshold=-1.0)
for i in range(%(tokens)d):
    print("TOKEN=" + api_token_create(user=pm, name=f"bench {i}")[1])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing on port {port}")


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


# --- clients (run in child processes, so the load generator is not one GIL) --------------------

def _error(exc) -> str:
    """What went wrong, short: the exception type and its message (requests wraps urllib3's)."""
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def ingest_client(base, token, key, batch, stop_at, results, index):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    start = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=index)
    seq = 0
    while time.monotonic() < stop_at:
        points = [{"ts": (start + timedelta(seconds=seq * batch + j)).isoformat(), "value": float(j)}
                  for j in range(batch)]
        t0 = time.monotonic()
        try:
            r = session.post(f"{base}/api/v1/kpis/bench/{key}/points", json={"points": points}, timeout=30)
            status, stored = r.status_code, (r.json().get("stored", 0) if r.status_code == 200 else 0)
        except requests.RequestException as exc:
            status, stored = _error(exc), 0
        results.append(("POST /api/v1/kpis/<p>/<k>/points", time.monotonic() - t0, status, stored))
        seq += 1


def reader_client(base, token, kpi_ids, stop_at, results, index):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    web = requests.Session()
    page = web.get(f"{base}/login/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    web.post(f"{base}/login/", data={"username": "bench-pm", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
             headers={"Referer": f"{base}/login/"}, timeout=30)
    targets = [
        ("GET /api/v1/kpis/", api, "/api/v1/kpis/?product=bench"),
        ("GET /api/v1/kpis/<id>/points (auto buckets)", api, None),
        ("GET /kpis/<slug>/ (dashboard page)", web, "/kpis/bench/"),
        ("GET /kpis/<slug>/k/<key>/ (KPI page)", web, None),
        ("GET /api/v1/products/", api, "/api/v1/products/"),
    ]
    n = index
    while time.monotonic() < stop_at:
        label, session, path = targets[n % len(targets)]
        if path is None and "points" in label:
            path = f"/api/v1/kpis/{kpi_ids[n % len(kpi_ids)]}/points?from=2019-12-01T00:00:00Z&to=2021-01-01T00:00:00Z"
        elif path is None:
            path = f"/kpis/bench/k/load-{n % len(kpi_ids)}/"
        t0 = time.monotonic()
        try:
            r = session.get(f"{base}{path}", timeout=30, allow_redirects=False)
            status = r.status_code
        except requests.RequestException as exc:
            status = _error(exc)
        results.append((label, time.monotonic() - t0, status, 0))
        n += 1


def run_clients(kind, base, tokens, keys_or_ids, count, batch, stop_at, queue):
    results: list = []
    threads = []
    for i in range(count):
        if kind == "ingest":
            args = (base, tokens[i], keys_or_ids[i], batch, stop_at, results, i)
            target = ingest_client
        else:
            args = (base, tokens[i], keys_or_ids, stop_at, results, i)
            target = reader_client
        threads.append(threading.Thread(target=target, args=args, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(results)


# --- the stack ---------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--ingest", type=int, default=32)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--web-threads", type=int, default=8)
    parser.add_argument("--keep-alive", type=int, default=15, help="gunicorn's --keep-alive seconds (pmhub's default)")
    args = parser.parse_args()

    server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    dbname = f"pmhub_bench_{os.getpid()}"
    admin = dict(host=server.hostname or "127.0.0.1", port=server.port or 5432, user=server.username or "postgres",
                 password=server.password)
    db_url = f"postgres://{admin['user']}{':' + admin['password'] if admin['password'] else ''}@{admin['host']}:{admin['port']}/{dbname}"
    import psycopg2

    def admin_exec(sql):
        conn = psycopg2.connect(dbname="postgres", **admin)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
        conn.close()

    procs = []
    tmp = tempfile.mkdtemp(prefix="pmhub-bench-")
    redis_port, web_port = free_port(), free_port()
    env = dict(os.environ, DATABASE_URL=db_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", DEBUG="0",
               SECRET_KEY="bench-" + "s" * 40, STATIC_MANIFEST="0", PMHUB_VAR_DIR=tmp, LOG_LEVEL="WARNING",
               API_THROTTLE_RATE="1000000/min", DJANGO_SETTINGS_MODULE="pmhub.settings", PYTHONUNBUFFERED="1",
               SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0")  # plain HTTP on loopback

    def spawn(cmd, name):
        log = open(os.path.join(tmp, f"{name}.log"), "wb")
        p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(p)
        return p

    admin_exec(f'CREATE DATABASE "{dbname}"')
    try:
        spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
              "redis")
        wait_port(redis_port)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
        n_tokens = args.ingest + args.readers
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                              SETUP % {"password": PASSWORD, "kpis": args.ingest, "tokens": n_tokens}],
                             env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        tokens = [line[6:] for line in out.splitlines() if line.startswith("TOKEN=")]
        spawn([os.path.join(BIN, "gunicorn"), "pmhub.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
               "--workers", str(args.web_workers), "--threads", str(args.web_threads), "--timeout", "60",
               "--backlog", "2048", "--keep-alive", str(args.keep_alive)], "gunicorn")
        spawn([os.path.join(BIN, "celery"), "-A", "pmhub", "worker", "--queues", "celery,pulls", "--concurrency", "2", "--loglevel", "WARNING",
               "--without-mingle", "--without-gossip"], "worker")
        wait_port(web_port)
        base = f"http://127.0.0.1:{web_port}"
        ids = requests.get(f"{base}/api/v1/kpis/?product=bench&page_size=500",
                           headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30).json()["results"]
        kpi_ids = [k["id"] for k in ids]
        keys = [f"load-{i}" for i in range(args.ingest)]

        print(f"load: {args.ingest} ingest clients ({args.batch} points a request), {args.readers} readers, "
              f"{args.duration:.0f} s; gunicorn {args.web_workers}x{args.web_threads} threads, "
              f"keep-alive {args.keep_alive} s; "
              f"{os.cpu_count()} CPUs", flush=True)
        stop_at = time.monotonic() + args.duration
        queue = mp.Queue()
        clients = [
            mp.Process(target=run_clients, args=("ingest", base, tokens[:args.ingest], keys, args.ingest, args.batch,
                                                 stop_at, queue)),
            mp.Process(target=run_clients, args=("read", base, tokens[args.ingest:], kpi_ids, args.readers, 0,
                                                 stop_at, queue)),
        ]
        for c in clients:
            c.start()
        results = queue.get() + queue.get()
        for c in clients:
            c.join()

        conn = psycopg2.connect(dbname=dbname, **admin)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM kpis_point")
            stored = cur.fetchone()[0]
        conn.close()

        by_label = defaultdict(list)
        failures = defaultdict(int)
        acknowledged = 0
        for label, seconds, status, n in results:
            by_label[label].append(seconds)
            if status != 200:
                failures[(label, status)] += 1
            acknowledged += n
        total = len(results)
        print(f"requests: {total} in {args.duration:.0f} s ({total / args.duration:.0f}/s); "
              f"failed: {sum(failures.values())} {dict(failures) if failures else ''}")
        print(f"points acknowledged: {acknowledged}; points stored: {stored}; "
              f"{'exact' if acknowledged == stored else 'MISMATCH'}")
        print(f"{'endpoint':48} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, values in sorted(by_label.items()):
            print(f"{label:48} {len(values):9d} {percentile(values, 50) * 1000:8.1f} "
                  f"{percentile(values, 99) * 1000:8.1f} {max(values) * 1000:8.1f}")
        if failures:
            # The server's side of any failure: gunicorn's own log (worker timeouts, restarts).
            with open(os.path.join(tmp, "gunicorn.log"), errors="replace") as log:
                notes = [line.rstrip() for line in log if any(w in line for w in ("CRITICAL", "ERROR", "WARNING"))]
            print(f"gunicorn log: {len(notes)} warning/error lines" + "".join(f"\n  {n[:200]}" for n in notes[:10]))
        return 0 if not failures and acknowledged == stored else 1
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            admin_exec(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001
            print(f"could not drop {dbname}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
