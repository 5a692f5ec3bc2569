"""Ingest throughput through the real HTTP API: gunicorn + PostgreSQL.

Batches of 1,000 and 10,000 points, 1 and 4 concurrent clients (processes,
bodies encoded before the clock starts). Prints points per second.

With REDIS_URL set, it runs like production: Redis as broker and cache, and a
Celery worker (one process) taking the KPI evaluations that ingest queues, on
the same cores. Without it, evaluations run inside each request (eager).
The API rate limit is raised for the run (API_THROTTLE_RATE): one token sends
more than the default 1,200 requests a minute here.

    .venv/bin/python bench/kpis_ingest.py [--seconds 8] [--workers 4]
"""
import argparse
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import _kpis_common as common


def client(args):
    url, token, bodies, seconds = args
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent = requests_done = 0
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline and i < len(bodies):
        body, n = bodies[i]
        r = session.post(url, data=body, headers=headers, timeout=120)
        if r.status_code != 200:  # a raise would hang Pool.map; report instead
            return sent, requests_done, f"HTTP {r.status_code}: {r.text[:300]}"
        sent += n
        requests_done += 1
        i += 1
    return sent, requests_done, None


def bodies_for(client_no, batch, count, start):
    out = []
    for b in range(count):
        # Clients write 300,000-minute apart ranges (all in the past: the API refuses the future).
        base = start + timedelta(minutes=(client_no * 300_000 + b * batch))
        points = [{"ts": (base + timedelta(minutes=i)).isoformat(), "value": 50.0 + (i % 17)} for i in range(batch)]
        out.append((json.dumps({"points": points}), batch))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--only", default="", choices=["", "1000x1", "1000x4", "10000x1", "10000x4"],
                        help="run one configuration (batch x clients)")
    parser.add_argument("--cpu", action="store_true", help="print where the CPU time went in each run")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_GUNICORN_WORKERS", "4")))
    opts = parser.parse_args()
    common.setup_django()
    user, product = common.bench_user_and_product()
    token = common.token_for(user)
    env = dict(os.environ)
    env.setdefault("API_THROTTLE_RATE", "1000000/min")
    bindir = os.path.dirname(sys.executable)
    worker = None
    if env.get("REDIS_URL"):
        env["CELERY_TASK_ALWAYS_EAGER"] = "0"
        log = open(os.path.join(common.ROOT, "var", "bench-ingest-worker.log"), "w")
        worker = subprocess.Popen(
            [os.path.join(bindir, "celery"), "-A", "pmhub", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
            cwd=common.ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    proc, port = common.start_gunicorn(workers=opts.workers, env=env)
    try:
        # Warm every worker up (imports, connections) before any clock starts.
        warm = common.fresh_kpi(product, "ingest-warmup")
        warm_url = f"http://127.0.0.1:{port}/api/v1/kpis/{warm.pk}/points"
        with mp.Pool(4) as pool:
            pool.map(client, [(warm_url, token, bodies_for(c, 100, 6, datetime(2021, 1, 1, tzinfo=timezone.utc)), 60)
                              for c in range(4)])
        follow_up = "a Celery worker (Redis broker)" if worker else "in the request (eager, no Redis)"
        print(f"ingest through HTTP: gunicorn {opts.workers} sync workers, PostgreSQL, {os.cpu_count()} CPUs; "
              f"KPI evaluations: {follow_up}; load average before: {os.getloadavg()[0]:.2f}")
        print(f"{'batch':>7} {'clients':>7} {'requests':>8} {'points':>9} {'seconds':>7} {'points/s':>9}")
        start = datetime(2022, 1, 1, tzinfo=timezone.utc)
        for batch in (1000, 10_000):
            for clients in (1, 4):
                if opts.only and opts.only != f"{batch}x{clients}":
                    continue
                kpi = common.fresh_kpi(product, f"ingest-{batch}-{clients}")
                common.vacuum("kpis_point", "kpis_rollup")
                url = f"http://127.0.0.1:{port}/api/v1/kpis/{kpi.pk}/points"
                # Enough bodies for twice the aims, so no client runs out before the clock does.
                per_client = max(4, int(opts.seconds * (100_000 if batch == 1000 else 200_000) / batch / clients) + 2)
                work = [(url, token, bodies_for(c, batch, per_client, start), opts.seconds) for c in range(clients)]
                cpu_before = common.cpu_seconds()
                t = time.perf_counter()
                with mp.Pool(clients) as pool:
                    results = pool.map(client, work)
                elapsed = time.perf_counter() - t
                errors = [r[2] for r in results if r[2]]
                if errors:
                    raise SystemExit(f"a client failed: {errors[0]}")
                points = sum(r[0] for r in results)
                reqs = sum(r[1] for r in results)
                print(f"{batch:>7} {clients:>7} {reqs:>8} {points:>9} {elapsed:>7.2f} {points / elapsed:>9,.0f}")
                if opts.cpu:
                    print(f"        {common.cpu_report(cpu_before, common.cpu_seconds(), elapsed)}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        for p in (proc, worker):
            if p is not None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)


if __name__ == "__main__":
    main()
