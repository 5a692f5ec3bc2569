"""pmhub's MLflow endpoint and KPI API side by side with a real MLflow tracking server.

    .venv/bin/python bench/mlflow_log_batch.py [--scale 1.0] [--skip-mlflow]

Both servers run at once, on the same PostgreSQL (PG_URL, default
postgres://postgres@127.0.0.1:5432), each on a scratch database it creates:
pmhub under gunicorn 3 workers x 4 threads (as docker-compose runs it), with
Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/1) for the rate limit
and the evaluation queue; MLflow as `mlflow server` (4 workers) from a separate
virtualenv the benchmark builds itself under var/bench/mlflow-venv
(mlflow==MLFLOW_VERSION, psycopg2-binary). The scratch databases are
pmhub_bench_mlflow and mlflow_bench (BENCH_PMHUB_DB, BENCH_MLFLOW_DB to change
them): a run drops and recreates them.

One interleaved run: each row of the table runs against MLflow, pmhub's /mlflow
and pmhub's KPI API back to back, then the next row. Rows:
- log-batch of 1,000 metrics (10 keys x 100 new steps) at 1 client, at 4
  clients on one run (the same keys, other steps), at 4 clients on a run each
  (KPI API: 1,000 points a request into one KPI, or a KPI each);
- log-metric one at a time at 1 and at 8 clients (KPI API: one-point POSTs);
- log-metric into a key already holding 100,000 points of today, against a
  fresh key, interleaved (p50 and p90 of each);
- get-history of a 100,000-point metric (KPI API: the same series bucketed).
Prints each figure, the ratio pmhub/MLflow and the load average. The log-batch
and log-metric rows also run against an empty WSGI app (bench/_empty_wsgi.py)
under the same gunicorn: the most any server could reach with this client on
this machine, and so the highest ratio to MLflow the row allows.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
MLFLOW_VERSION = "3.17.2"
VENV = ROOT / "var" / "bench" / "mlflow-venv"
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# Scratch databases, dropped and recreated by each run: give each person running it their own.
PMHUB_DB = os.environ.get("BENCH_PMHUB_DB", "pmhub_bench_mlflow")
MLFLOW_DB = os.environ.get("BENCH_MLFLOW_DB", "mlflow_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
METRICS_PER_REQUEST = 1000
KEYS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see its log under var/bench/")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise TimeoutError(url)


def recreate_db(name: str):
    parsed = urlparse(PG_URL)
    conn = psycopg2.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                            password=parsed.password, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def spawn(cmd, env, name):
    log = open(ROOT / "var" / "bench" / f"{name}.log", "wb")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def start_pmhub():
    recreate_db(PMHUB_DB)
    env = dict(os.environ, DATABASE_URL=f"{PG_URL}/{PMHUB_DB}", DJANGO_SETTINGS_MODULE="pmhub.settings",
               DEBUG="0", SECRET_KEY="bench-" + "x" * 50, ALLOWED_HOSTS="127.0.0.1,localhost",
               REDIS_URL=REDIS_URL, API_THROTTLE_RATE="100000000/min")  # the rate limit runs, never refuses
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    setup = (
        "from django.contrib.auth import get_user_model\n"
        "from products.models import Product, Membership\n"
        "from pmhub.services import api_token_create\n"
        "u = get_user_model().objects.create_user('bench-ds')\n"
        "p = Product.objects.create(name='Bench', slug='bench')\n"
        "Membership.objects.create(user=u, product=p, role='data_scientist')\n"
        "print('TOKEN', api_token_create(user=u, name='bench')[1])\n"
        "from kpis.models import KPI\n"
        "from kpis.timeseries.services import series_create\n"
        "for i in range(8):\n"
        "    KPI.objects.create(product=p, key=f'k{i}', name=f'K{i}', series=series_create(kind='kpi', key=f'k{i}'))\n"
        "print('KPIS', ','.join(str(k.pk) for k in KPI.objects.filter(product=p).order_by('key')))\n"
    )
    out = subprocess.run([py, "manage.py", "shell", "-c", setup], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    token = out.split("TOKEN ", 1)[1].split()[0]
    global KPI_IDS
    KPI_IDS = [int(x) for x in out.split("KPIS ", 1)[1].split()[0].split(",")]
    port = free_port()
    proc = spawn([str(ROOT / ".venv" / "bin" / "gunicorn"), "pmhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
                  "--workers", "3", "--threads", "4", "--keep-alive", "15", "--timeout", "120"], env, "pmhub")
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}


def start_empty():
    """The same gunicorn as pmhub's, serving bench/_empty_wsgi.py: the harness's ceiling."""
    port = free_port()
    proc = spawn([str(ROOT / ".venv" / "bin" / "gunicorn"), "_empty_wsgi:application", "--chdir", str(ROOT / "bench"),
                  "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "4", "--keep-alive", "15"],
                 dict(os.environ), "empty")
    wait_http(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}"


def mlflow_venv() -> Path:
    mlflow_bin = VENV / "bin" / "mlflow"
    if not mlflow_bin.exists():
        print(f"building {VENV} with mlflow=={MLFLOW_VERSION} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "--quiet", f"mlflow=={MLFLOW_VERSION}",
                        "psycopg2-binary"], check=True)
    return mlflow_bin


def start_mlflow():
    mlflow_bin = mlflow_venv()
    recreate_db(MLFLOW_DB)
    port = free_port()
    pg = urlparse(PG_URL)
    store = f"postgresql+psycopg2://{pg.username or 'postgres'}@{pg.hostname}:{pg.port or 5432}/{MLFLOW_DB}"
    artifacts = ROOT / "var" / "bench" / "mlflow-artifacts"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    proc = spawn([str(mlflow_bin), "server", "--backend-store-uri", store, "--artifacts-destination", str(artifacts),
                  "--host", "127.0.0.1", "--port", str(port), "--workers", "4"], env, "mlflow-server")
    wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=240)
    return proc, f"http://127.0.0.1:{port}", {}


KPI_IDS: list[int] = []


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Target:
    """One side of a row: MLflow's REST API (MLflow or pmhub's /mlflow), or pmhub's KPI API."""

    def __init__(self, name, base, headers, prefix):
        self.name, self.base, self.headers, self.api = name, base, headers, base + prefix

    def session(self):
        s = requests.Session()
        s.headers.update({**self.headers, "Content-Type": "application/json"})
        return s

    def call(self, session, endpoint, body):
        resp = session.post(f"{self.api}/{endpoint}", data=json.dumps(body), timeout=300)
        if resp.status_code != 200:
            raise RuntimeError(f"{self.name} {endpoint}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def runs(self, label, n):
        s = self.session()
        exp = self.call(s, "experiments/create", {"name": f"bench/{label}-{time.time_ns()}"})["experiment_id"]
        return [self.call(s, "runs/create", {"experiment_id": exp, "run_name": f"c{i}",
                                             "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]
                for i in range(n)]


def in_threads(clients, work) -> float:
    """Run work(i) in `clients` threads at once; the wall time."""
    errors = []

    def wrapped(i):
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    if errors:
        raise errors[0]
    return took


def post_all(session, url, bodies_):
    for body in bodies_:
        resp = session.post(url, data=body, timeout=300)
        if resp.status_code != 200:
            raise RuntimeError(f"{url}: {resp.status_code} {resp.text[:200]}")


def batch_bodies(run_id: str, n: int, first_step: int, ts0: int) -> list[str]:
    """n log-batch bodies of 1,000 metrics (10 keys x 100 steps), new steps every request (pre-encoded)."""
    steps = METRICS_PER_REQUEST // KEYS
    return [json.dumps({"run_id": run_id, "metrics": [
        {"key": f"metric_{k}", "value": (r * steps + s) / 1000, "timestamp": ts0 + r * steps + s,
         "step": first_step + r * steps + s}
        for s in range(steps) for k in range(KEYS)]}) for r in range(n)]


def kpi_bodies(n: int, per: int, first_ms: int) -> list[str]:
    """n KPI ingest bodies of `per` points, one millisecond apart, all distinct."""
    def iso(ms):
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()
    return [json.dumps({"points": [{"ts": iso(first_ms + r * per + i), "value": (r * per + i) % 97}
                                   for i in range(per)]}) for r in range(n)]


def row_batches(targets, clients, per_client, one_run, kpi_ids, results, label):
    ts0 = int(time.time() * 1000) - 3_600_000
    for t in targets:
        if t.name == "empty":
            payloads = [batch_bodies("0" * 32, per_client, c * 1_000_000, ts0) for c in range(clients)]
            urls = [t.base + "/"] * clients
        elif t.name == "kpi":
            ids = [kpi_ids[0]] * clients if one_run else kpi_ids[:clients]
            payloads = [kpi_bodies(per_client, 1000, ts0 - 86_400_000 + c * 10_000_000) for c in range(clients)]
            urls = [f"{t.base}/api/v1/kpis/{kid}/points" for kid in ids]
        else:
            runs = t.runs(label, 1 if one_run else clients)
            run_of = [runs[0] if one_run else runs[c] for c in range(clients)]
            payloads = [batch_bodies(run_of[c], per_client, c * 1_000_000, ts0) for c in range(clients)]
            urls = [f"{t.api}/runs/log-batch"] * clients
            s = t.session()
            for run_id in set(run_of):  # warm-up outside the timing (creates the keys)
                t.call(s, "runs/log-batch", {"run_id": run_id, "metrics": [
                    {"key": f"metric_{k}", "value": 0.0, "timestamp": ts0, "step": 999_999_999} for k in range(KEYS)]})
        sessions = [t.session() for _ in range(clients)]
        took = in_threads(clients, lambda c: post_all(sessions[c], urls[c], payloads[c]))
        rate = clients * per_client * METRICS_PER_REQUEST / took
        results[(label, t.name)] = rate
        print(f"  {t.name:7s} {rate:9,.0f} metrics/s ({took / per_client * 1000:6.1f} ms per request per client)"
              f"  load {load()}", flush=True)


def row_log_metric(targets, clients, per_client, kpi_id, results, label):
    for t in targets:
        if t.name == "empty":
            payloads = [[json.dumps({"run_id": "0" * 32, "key": "loss", "value": 1.0 / (i + 1), "timestamp": i,
                                     "step": c * 1_000_000 + i}) for i in range(per_client)] for c in range(clients)]
            url = t.base + "/"
        elif t.name == "kpi":
            first = int(time.time() * 1000) - 2 * 86_400_000 + clients * per_client * 7 * (label == "metric8")
            payloads = [kpi_bodies(per_client, 1, first + c * 1_000_000) for c in range(clients)]
            url = f"{t.base}/api/v1/kpis/{kpi_id}/points"
        else:
            run_id = t.runs(label, 1)[0]
            ts0 = int(time.time() * 1000)
            payloads = [[json.dumps({"run_id": run_id, "key": "loss", "value": 1.0 / (i + 1), "timestamp": ts0 + i,
                                     "step": c * 1_000_000 + i}) for i in range(per_client)] for c in range(clients)]
            url = f"{t.api}/runs/log-metric"
            t.call(t.session(), "runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.0,
                                                    "timestamp": ts0, "step": 999_999_999})
        sessions = [t.session() for _ in range(clients)]
        took = in_threads(clients, lambda c: post_all(sessions[c], url, payloads[c]))
        rate = clients * per_client / took
        results[(label, t.name)] = rate
        print(f"  {t.name:7s} {rate:9,.0f} requests/s  load {load()}", flush=True)


def fill_key(t, run_id, key, n, ts0):
    """n points of `key` in a run, through log-batch (1,000 a request)."""
    s = t.session()
    for r in range(n // 1000):
        t.call(s, "runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": key, "value": (r * 1000 + i) % 101, "timestamp": ts0 + r * 1000 + i, "step": r * 1000 + i}
            for i in range(1000)]})


def row_full_key(t, requests_, results):
    """log-metric into a key holding 100,000 points of today, and into fresh keys, alternately."""
    run_id = t.runs("full", 1)[0]
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    ts0 = int(today.timestamp() * 1000) + 1
    fill_key(t, run_id, "full", 100_000, ts0)
    s = t.session()
    times = {"full": [], "fresh": []}
    now = int(time.time() * 1000)
    for i in range(requests_):
        for key in ("full", "fresh"):
            body = json.dumps({"run_id": run_id, "key": key, "value": float(i), "timestamp": now + i,
                               "step": 200_000 + i})
            start = time.perf_counter()
            resp = s.post(f"{t.api}/runs/log-metric", data=body, timeout=60)
            times[key].append(time.perf_counter() - start)
            if resp.status_code != 200:
                raise RuntimeError(resp.text[:200])
    for key, ts in times.items():
        q = statistics.quantiles(ts, n=10)
        results[("full", t.name, key)] = (statistics.median(ts), q[8], len(ts) / sum(ts))
        print(f"  {t.name:7s} into {'100,000 points of today' if key == 'full' else 'a fresh key':24s} "
              f"p50 {statistics.median(ts) * 1000:6.1f} ms, p90 {q[8] * 1000:6.1f} ms, "
              f"{len(ts) / sum(ts):6.1f} req/s  load {load()}", flush=True)


def row_history(targets, kpi_id, results):
    ts0 = int(time.time() * 1000) - 3 * 3_600_000
    for t in targets:
        if t.name == "kpi":
            s = t.session()
            first = int(time.time()) - 100_000 - 60  # one point a second, the last 28 hours
            for r in range(10):
                body = json.dumps({"points": [{"ts": first + r * 10_000 + i, "value": i % 97} for i in range(10_000)]})
                resp = s.post(f"{t.base}/api/v1/kpis/{kpi_id}/points", data=body, timeout=300)
                assert resp.status_code == 200, resp.text[:200]
            start_iso = datetime.fromtimestamp(first, tz=timezone.utc).isoformat()
            url, params = f"{t.base}/api/v1/kpis/{kpi_id}/points", {"from": start_iso}
        else:
            run_id = t.runs("history", 1)[0]
            fill_key(t, run_id, "hist", 100_000, ts0)
            url, params = f"{t.api}/metrics/get-history", {"run_id": run_id, "metric_key": "hist"}
        s = t.session()
        took = []
        for _ in range(3):
            start, got, token = time.perf_counter(), 0, None
            while True:
                resp = s.get(url, params={**params, **({"page_token": token} if token else {})}, timeout=300)
                assert resp.status_code == 200, resp.text[:200]
                data = resp.json()
                got += len(data.get("metrics", data.get("points", [])))
                token = data.get("next_page_token")
                if not token:
                    break
            took.append(time.perf_counter() - start)
        results[("history", t.name)] = statistics.median(took)
        print(f"  {t.name:7s} {statistics.median(took) * 1000:8.1f} ms for {got:,} "
              f"{'buckets' if t.name == 'kpi' else 'points'}  load {load()}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of requests")
    parser.add_argument("--skip-mlflow", action="store_true", help="only pmhub (no MLflow server to build)")
    args = parser.parse_args()
    n = lambda x: max(1, int(x * args.scale))  # noqa: E731
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {load()} (machine shared with other work: figures are noisy)", flush=True)
    procs = []
    try:
        proc, base, headers = start_pmhub()
        procs.append(proc)
        targets = [Target("pmhub", base, headers, "/mlflow/api/2.0/mlflow"), Target("kpi", base, headers, "")]
        if not args.skip_mlflow:
            proc, mbase, _ = start_mlflow()
            procs.append(proc)
            targets.insert(0, Target("mlflow", mbase, {}, "/api/2.0/mlflow"))
        proc, ebase = start_empty()
        procs.append(proc)
        targets.append(Target("empty", ebase, {}, ""))
        results = {}
        print("log-batch 1,000 metrics, 1 client", flush=True)
        row_batches(targets, 1, n(30), False, KPI_IDS[0:1], results, "batch1")
        print("log-batch 1,000, 4 clients, one run (KPI API: one KPI)", flush=True)
        row_batches(targets, 4, n(10), True, KPI_IDS[1:2], results, "batch4one")
        print("log-batch 1,000, 4 clients, a run each (KPI API: a KPI each)", flush=True)
        row_batches(targets, 4, n(10), False, KPI_IDS[2:6], results, "batch4each")
        print("log-metric one at a time, 1 client (KPI API: one-point POSTs)", flush=True)
        row_log_metric(targets, 1, n(300), KPI_IDS[6], results, "metric1")
        print("log-metric, 8 clients", flush=True)
        row_log_metric(targets, 8, n(60), KPI_IDS[6], results, "metric8")
        print("log-metric into a key already holding 100,000 points of today, against a fresh key (pmhub)", flush=True)
        row_full_key(targets[-3], n(200), results)
        print("get-history, 100,000 points (KPI API: the same, bucketed)", flush=True)
        row_history(targets[:-1], KPI_IDS[7], results)
    finally:
        for proc in procs:
            stop(proc)

    def ratio(row):
        if args.skip_mlflow:
            return ""
        return f"({results[(row, 'pmhub')] / results[(row, 'mlflow')]:.1f}x)"

    def ceiling(row):
        if args.skip_mlflow:
            return f"{results[(row, 'empty')]:,.0f}"
        return f"{results[(row, 'empty')]:,.0f} ({results[(row, 'empty')] / results[(row, 'mlflow')]:.1f}x)"

    print("\n| configuration | MLflow | pmhub /mlflow | pmhub KPI API | ceiling: an empty app |\n|---|---|---|---|---|")
    for row, title, unit in (("batch1", "log-batch 1,000 metrics, 1 client", "metrics/s"),
                             ("batch4one", "log-batch 1,000, 4 clients, one run", "metrics/s"),
                             ("batch4each", "log-batch 1,000, 4 clients, a run each", "metrics/s"),
                             ("metric1", "`log-metric` one at a time, 1 client", "req/s"),
                             ("metric8", "`log-metric`, 8 clients", "req/s")):
        m = f"{results[(row, 'mlflow')]:,.0f}" if not args.skip_mlflow else "-"
        print(f"| {title} ({unit}) | {m} | {results[(row, 'pmhub')]:,.0f} {ratio(row)} | {results[(row, 'kpi')]:,.0f} "
              f"| {ceiling(row)} |")
    full, fresh = results[("full", "pmhub", "full")], results[("full", "pmhub", "fresh")]
    print(f"| `log-metric` into a key holding 100,000 points of today | - | {full[2]:.0f} req/s, p50 {full[0] * 1000:.1f} ms "
          f"(fresh key: {fresh[2]:.0f} req/s, p50 {fresh[0] * 1000:.1f} ms; p50 ratio {full[0] / fresh[0]:.2f}x) | | |")
    h = results[("history", "pmhub")]
    m = f"{results[('history', 'mlflow')]:.2f} s" if not args.skip_mlflow else "-"
    hr = "" if args.skip_mlflow else f" ({results[('history', 'mlflow')] / h:.1f}x)"
    print(f"| get-history, 100,000 points | {m} | {h:.2f} s{hr} | bucketed: {results[('history', 'kpi')] * 1000:.0f} ms | |")
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
