"""MLflow log-batch throughput: pmhub's /mlflow endpoint against a real MLflow tracking server.

    .venv/bin/python bench/mlflow_log_batch.py [--requests 40] [--skip-mlflow]

Both servers run here, in the same run, on the same PostgreSQL (PG_URL, default
postgres://postgres@127.0.0.1:5432), each on a scratch database it creates:
pmhub under gunicorn (2 workers x 4 threads, as the test fixture), MLflow as
`mlflow server` (2 workers) from a separate virtualenv the benchmark builds
itself under var/bench/mlflow-venv (mlflow==MLFLOW_VERSION, psycopg2-binary).
The scratch databases are pmhub_bench_mlflow and mlflow_bench (BENCH_PMHUB_DB,
BENCH_MLFLOW_DB to change them): a run drops and recreates them.
Each client sends log-batch requests of 1,000 metrics (10 keys x 100 steps,
new steps every request) to its own run; 1 and 4 clients at once. Prints
metrics/s for each and the ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
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
               DEBUG="0", SECRET_KEY="bench-" + "x" * 50, ALLOWED_HOSTS="127.0.0.1,localhost")
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
    )
    out = subprocess.run([py, "manage.py", "shell", "-c", setup], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    token = out.split("TOKEN ", 1)[1].split()[0]
    port = free_port()
    proc = spawn([str(ROOT / ".venv" / "bin" / "gunicorn"), "pmhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
                  "--workers", "2", "--threads", "4", "--timeout", "120"], env, "pmhub")
    wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    return proc, f"http://127.0.0.1:{port}/mlflow", {"Authorization": f"Bearer {token}"}


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
                  "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], env, "mlflow-server")
    wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=240)
    return proc, f"http://127.0.0.1:{port}", {}


def call(session, base, endpoint, body):
    resp = session.post(f"{base}/api/2.0/mlflow/{endpoint}", data=json.dumps(body),
                        headers={"Content-Type": "application/json"}, timeout=120)
    if resp.status_code != 200:
        raise RuntimeError(f"{endpoint}: {resp.status_code} {resp.text[:300]}")
    return resp.json()


def bodies(run_id: str, n: int) -> list[str]:
    """n log-batch bodies of 1,000 metrics each, pre-encoded (the client's JSON cost is not measured)."""
    steps = METRICS_PER_REQUEST // KEYS
    ts0 = int(time.time() * 1000)
    return [json.dumps({"run_id": run_id, "metrics": [
        {"key": f"metric_{k}", "value": (r * steps + s) / 1000, "timestamp": ts0 + r * steps + s, "step": r * steps + s}
        for s in range(steps) for k in range(KEYS)]}) for r in range(n)]


def measure(base, headers, clients: int, per_client: int, label: str) -> float:
    session = requests.Session()
    session.headers.update(headers)
    experiment = call(session, base, "experiments/create", {"name": f"bench/{label}-{clients}-{time.time_ns()}"})
    runs = [call(session, base, "runs/create", {"experiment_id": experiment["experiment_id"],
                                                "run_name": f"c{i}", "start_time": int(time.time() * 1000)})
            ["run"]["info"]["run_id"] for i in range(clients)]
    payloads = [bodies(run_id, per_client) for run_id in runs]
    errors = []

    def worker(i):
        s = requests.Session()
        s.headers.update({**headers, "Content-Type": "application/json"})
        for body in payloads[i]:
            resp = s.post(f"{base}/api/2.0/mlflow/runs/log-batch", data=body, timeout=300)
            if resp.status_code != 200:
                errors.append(f"{resp.status_code} {resp.text[:200]}")
                return

    # one warm-up request per client outside the timing
    for run_id in runs:
        call(session, base, "runs/log-batch", {"run_id": run_id, "metrics": [
            {"key": "warmup", "value": 0.0, "timestamp": int(time.time() * 1000), "step": 0}]})
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{label}: {errors[0]}")
    rate = clients * per_client * METRICS_PER_REQUEST / took
    print(f"{label:7s} {clients} client(s): {clients * per_client:4d} requests x 1,000 metrics in {took:6.2f} s "
          f"= {rate:9,.0f} metrics/s ({took / per_client * 1000:6.1f} ms per request per client)", flush=True)
    return rate


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="log-batch requests per client")
    parser.add_argument("--skip-mlflow", action="store_true", help="only pmhub (no MLflow server to build)")
    args = parser.parse_args()
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    results = {}
    servers = [("pmhub", start_pmhub)] + ([] if args.skip_mlflow else [("mlflow", start_mlflow)])
    for name, start in servers:
        proc, base, headers = start()
        try:
            for clients in (1, 4):
                results[(name, clients)] = measure(base, headers, clients, args.requests, name)
        finally:
            stop(proc)
    if not args.skip_mlflow:
        for clients in (1, 4):
            ratio = results[("pmhub", clients)] / results[("mlflow", clients)]
            print(f"ratio pmhub/mlflow, {clients} client(s): {ratio:.1f}x")


if __name__ == "__main__":
    main()
