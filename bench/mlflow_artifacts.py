"""MLflow artifact upload and download (MB/s): pmhub's artifact proxy against a real
`mlflow server --serve-artifacts`, in the same run, on this machine.

    .venv/bin/python bench/mlflow_artifacts.py [--mb 100] [--skip-mlflow]

Servers as in bench/mlflow_log_batch.py (pmhub under gunicorn 2 workers x 4 threads, MLflow
`mlflow server` 2 workers, each on a scratch PostgreSQL database; the scratch databases are
pmhub_bench_artifacts and mlflow_bench_artifacts). pmhub stores on the file system under
var/ (its default); MLflow with --artifacts-destination on the same disk. Each client PUTs a
file of --mb MB of random bytes streamed from disk (as the MLflow client's log_artifact does)
and GETs it back streamed to disk; 1 and 4 clients at once. Prints MB/s (total across
clients) and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_PMHUB_DB", "pmhub_bench_artifacts")
os.environ.setdefault("BENCH_MLFLOW_DB", "mlflow_bench_artifacts")
import mlflow_log_batch as common  # noqa: E402

ROOT = common.ROOT


def mlflow_bin() -> Path:
    local = ROOT / ".venv" / "bin" / "mlflow"  # the full mlflow package of requirements-dev.txt
    return local if local.exists() else common.mlflow_venv()


def start_mlflow():
    common.recreate_db(common.MLFLOW_DB)
    port = common.free_port()
    pg = common.urlparse(common.PG_URL)
    store = f"postgresql+psycopg2://{pg.username or 'postgres'}@{pg.hostname}:{pg.port or 5432}/{common.MLFLOW_DB}"
    artifacts = ROOT / "var" / "bench" / "mlflow-artifacts"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    proc = common.spawn([str(mlflow_bin()), "server", "--backend-store-uri", store, "--serve-artifacts",
                         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
                         "--workers", "2"], env, "mlflow-artifacts-server")
    common.wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=240)
    return proc, f"http://127.0.0.1:{port}", {}


def start_pmhub():
    """pmhub under gunicorn as the log-batch benchmark starts it; its tracking URI is /mlflow."""
    proc, base, headers = common.start_pmhub()
    return proc, base + "/mlflow", headers


def new_run(base, headers, experiment):
    s = requests.Session()
    s.headers.update({**headers, "Content-Type": "application/json"})
    api = common.Target("tracking", base, headers, "/api/2.0/mlflow")
    found = s.get(f"{base}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment})
    if found.status_code == 200:
        exp_id = found.json()["experiment"]["experiment_id"]
    else:
        exp_id = api.call(s, "experiments/create", {"name": experiment})["experiment_id"]
    run = api.call(s, "runs/create", {"experiment_id": exp_id, "start_time": int(time.time() * 1000),
                                    "run_name": f"bench-{uuid.uuid4().hex[:8]}"})["run"]["info"]
    return run["artifact_uri"].replace("mlflow-artifacts:", "").lstrip("/")


def transfer(base, headers, root, path, clients):
    url = f"{base}/api/2.0/mlflow-artifacts/artifacts/{root}"
    size = os.path.getsize(path)
    errors = []

    def up(i):
        try:
            with open(path, "rb") as fh:
                r = requests.put(f"{url}/f{i}.bin", data=fh, headers=headers, timeout=600)
            r.raise_for_status()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def down(i):
        try:
            with requests.get(f"{url}/f{i}.bin", headers=headers, stream=True, timeout=600) as r:
                r.raise_for_status()
                with tempfile.TemporaryFile() as out:
                    got = 0
                    for chunk in r.iter_content(1 << 20):
                        out.write(chunk)
                        got += len(chunk)
            if got != size:
                errors.append(RuntimeError(f"downloaded {got} of {size} bytes"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    rates = {}
    for name, fn in (("upload", up), ("download", down)):
        threads = [threading.Thread(target=fn, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        if errors:
            raise RuntimeError(f"{name}: {errors[0]}")
        rates[name] = clients * size / 1e6 / elapsed
    return rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="bench-artifact-", dir=ROOT / "var" / "bench")
    with os.fdopen(fd, "wb") as fh:
        for _ in range(args.mb):
            fh.write(os.urandom(1 << 20))
    servers = [("pmhub", start_pmhub, "bench/artifacts")]
    if not args.skip_mlflow:
        servers.append(("mlflow", start_mlflow, "bench-artifacts"))
    results = {}
    try:
        for name, start, experiment in servers:
            proc, base, headers = start()
            try:
                for clients in (1, 4):
                    root = new_run(base, headers, experiment)
                    results[(name, clients)] = transfer(base, headers, root, path, clients)
                    r = results[(name, clients)]
                    print(f"{name:6s} {clients} client(s), {args.mb} MB each: upload {r['upload']:7.1f} MB/s, "
                          f"download {r['download']:7.1f} MB/s  (load average {os.getloadavg()[0]:.2f})",
                          flush=True)
            finally:
                common.stop(proc)
    finally:
        os.unlink(path)
    if not args.skip_mlflow:
        for clients in (1, 4):
            p, m = results[("pmhub", clients)], results[("mlflow", clients)]
            print(f"pmhub / mlflow at {clients} client(s): upload x{p['upload'] / m['upload']:.2f}, "
                  f"download x{p['download'] / m['download']:.2f}")
    print(json.dumps({f"{k[0]}-{k[1]}": v for k, v in results.items()}))


if __name__ == "__main__":
    main()
