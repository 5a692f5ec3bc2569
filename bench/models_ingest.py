"""Model-metric ingest through the real HTTP API: gunicorn + PostgreSQL.

POST /api/v1/model-versions/{id}/metrics/ with batches of 1,000 and 10,000 entries
(three keys per step, every entry with step and ts, as the Python client sends them),
from 1 and 4 concurrent clients (processes; each logs to its own version, like
parallel training jobs; bodies encoded before the clock starts). Prints entries per
second and the median and worst request time.

    .venv/bin/python bench/models_ingest.py [--seconds 8] [--workers 4]

Uses its own database (BENCH_DATABASE_URL, default pmhub_bench_models), created and
migrated if missing.
"""
import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import time
from datetime import datetime, timedelta, timezone

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pmhub_bench_models")
import _kpis_common as common  # noqa: E402

KEYS = ("train/loss", "train/accuracy", "lr")


def client(args):
    url, token, bodies, seconds = args
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent, latencies = 0, []
    deadline = time.perf_counter() + seconds
    for body, n in bodies:
        if time.perf_counter() >= deadline:
            break
        t = time.perf_counter()
        r = session.post(url, data=body, headers=headers, timeout=120)
        latencies.append(time.perf_counter() - t)
        if r.status_code != 201:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:300]}")
        sent += n
    return sent, latencies


def bodies_for(batch, count, start):
    out, step = [], 0
    for _ in range(count):
        entries = []
        while len(entries) < batch:
            ts = (start + timedelta(seconds=step)).isoformat()
            for key in KEYS:
                if len(entries) < batch:
                    entries.append({"key": key, "value": 1.0 / (step + 1) + 0.01 * len(key), "step": step, "ts": ts})
            step += 1
        out.append((json.dumps({"metrics": entries}), batch))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_GUNICORN_WORKERS", "4")))
    opts = parser.parse_args()
    common.setup_django()
    from kpis.ml.models import AIModel
    from kpis.ml.services import aimodel_create, aimodel_delete, model_version_create

    user, product = common.bench_user_and_product(slug="bench-models")
    token = common.token_for(user)
    for old in AIModel.objects.filter(product=product, name="bench"):
        aimodel_delete(actor=user, model=old)  # with its metric series
    model = aimodel_create(actor=user, product=product, name="bench", primary_metric="train/accuracy")

    proc, port = common.start_gunicorn(workers=opts.workers)
    try:
        # Warm every worker up (imports, connections) before any clock starts.
        warm = model_version_create(actor=user, model=model, version="warm-up")
        warm_url = f"http://127.0.0.1:{port}/api/v1/model-versions/{warm.pk}/metrics/"
        with mp.Pool(4) as pool:
            pool.map(client, [(warm_url, token, bodies_for(30, 6, datetime(2025, 1, 1, tzinfo=timezone.utc)), 60)
                              for _ in range(4)])
        print(f"model metrics through HTTP: gunicorn {opts.workers} sync workers, PostgreSQL, {os.cpu_count()} CPUs")
        print(f"{'batch':>7} {'clients':>7} {'requests':>8} {'entries':>9} {'seconds':>7} {'entries/s':>10} "
              f"{'median ms':>9} {'max ms':>7}")
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        for batch in (1000, 10_000):
            for clients in (1, 4):
                # Enough bodies that no client runs out before the clock does.
                per_client = max(3, int(opts.seconds * (120_000 if batch == 1000 else 200_000) / batch / clients) + 2)
                work = []
                for c in range(clients):
                    version = model_version_create(actor=user, model=model, version=f"b{batch}-c{clients}-{c}")
                    url = f"http://127.0.0.1:{port}/api/v1/model-versions/{version.pk}/metrics/"
                    work.append((url, token, bodies_for(batch, per_client, start), opts.seconds))
                t = time.perf_counter()
                with mp.Pool(clients) as pool:
                    results = pool.map(client, work)
                elapsed = time.perf_counter() - t
                entries = sum(r[0] for r in results)
                latencies = [x for r in results for x in r[1]]
                print(f"{batch:>7} {clients:>7} {len(latencies):>8} {entries:>9} {elapsed:>7.2f} "
                      f"{entries / elapsed:>10,.0f} {statistics.median(latencies) * 1000:>9,.0f} "
                      f"{max(latencies) * 1000:>7,.0f}", flush=True)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
