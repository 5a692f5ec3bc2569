"""What one single write costs inside the web worker: the SQL it sends, and its time.

    .venv/bin/python bench/write_profile.py [--requests 300] [--sql]

In process (Django's test client, the real middleware, PostgreSQL and Redis at
DATABASE_URL / REDIS_URL; default: a scratch database pmhub_bench_profile,
dropped and recreated, BENCH_PROFILE_DB to change it). For an MLflow
`runs/log-metric` and a one-point KPI ingest (`POST /api/v1/kpis/<id>/points`)
it prints the SQL statements of one warm request (--sql: the statements
themselves) and the p50 of --requests requests, with the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _kpis_common import recreate_database  # noqa: E402

DB = os.environ.get("BENCH_PROFILE_DB", "pmhub_bench_profile")
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request")
    parser.add_argument("--cprofile", action="store_true", help="print where 100 requests spend their time")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        recreate_database(PG_URL, DB)
        os.environ["DATABASE_URL"] = f"{PG_URL}/{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from kpis.models import KPI
    from pmhub.services import api_token_create
    from products.models import Membership, Product

    user = get_user_model().objects.create_user(f"profile-{time.time_ns()}")
    product = Product.objects.create(name="Profile", slug=f"profile-{time.time_ns()}")
    Membership.objects.create(user=user, product=product, role="data_scientist")
    token = api_token_create(user=user, name="profile")[1]
    kpi = KPI.objects.create(product=product, key="p", name="P", series=__import__(
        "kpis.timeseries.services", fromlist=["series_create"]).series_create(kind="kpi", key="p"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(path, body):
        resp = client.post(path, data=json.dumps(body), content_type="application/json")
        assert resp.status_code == 200, (path, resp.status_code, resp.content[:300])
        return resp.json()

    base = "/mlflow/api/2.0/mlflow/"
    exp = post(base + "experiments/create", {"name": f"{product.slug}/profile"})["experiment_id"]
    run = post(base + "runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})["run"]["info"]["run_id"]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    cases = {
        "mlflow runs/log-metric": lambda i: post(base + "runs/log-metric", {
            "run_id": run, "key": "loss", "value": 1.0 / (i + 1), "timestamp": int(time.time() * 1000), "step": i}),
        "KPI one-point ingest": lambda i: post(f"/api/v1/kpis/{kpi.pk}/points", {"points": [
            {"ts": f"2026-01-01T00:00:{i % 60:02d}.{i:06d}Z", "value": float(i)}]}),
    }
    for name, send in cases.items():
        for i in range(5):
            send(i)  # warm: the series exists, the token's last use is fresh
        with CaptureQueriesContext(connection) as ctx:
            send(5)
        statements = [q["sql"] for q in ctx.captured_queries]  # each request clears Django's query log
        print(f"{name}: {len(statements)} SQL statements per request", flush=True)
        if args.sql:  # each statement's median time (round trip, from the client) over 50 requests
            per = [[] for _ in statements]
            for i in range(50):
                timed = []

                def timer(execute, sql, params, many, context, timed=timed):
                    start = time.perf_counter()
                    try:
                        return execute(sql, params, many, context)
                    finally:
                        timed.append(time.perf_counter() - start)

                with connection.execute_wrapper(timer):
                    send(20_000 + i)
                for n, took in enumerate(timed[:len(per)]):
                    per[n].append(took)
            for sql, times in zip(statements, per):
                print(f"    {statistics.median(times) * 1000:6.3f} ms  {' '.join(sql.split())[:110]}")
        took = []
        for i in range(6, 6 + args.requests):
            t = time.perf_counter()
            send(i)
            took.append(time.perf_counter() - t)
        print(f"  p50 {statistics.median(took) * 1000:.2f} ms in process ({args.requests} requests)", flush=True)
        if args.cprofile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(10_000, 10_100):
                send(i)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(int(os.environ.get("PROFILE_LINES", "18")))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
