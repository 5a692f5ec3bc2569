"""Scheduled pulls: how many sources one pulls worker pulls per minute.

    .venv/bin/python bench/pulls.py                 # the embedded default: SQLite + file-system broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pmhub REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/pulls.py [--sources 1500] [--pools threads:32,prefork:2]

Starts a local HTTP JSON endpoint that answers in 50 ms, creates a scratch
product with one KPI and one source per KPI (all due now), and for each pool
setting starts one Celery worker on the pulls queue, as `make run` does
(`--queues pulls --pool threads --concurrency 32` is its pulls worker), runs
the dispatcher once and times until every source has a successful PullRun.
Each pull is the real path: the task, the SSRF guard, the HTTP request, JSON
parsing, kpi_points_ingest, the KPI's evaluation and the PullRun. With no
DATABASE_URL/REDIS_URL it runs on a fresh SQLite database and file-system
broker under a temporary PMHUB_VAR_DIR, like `make run` with no variable set.
Prints one line per setting and the load average; deletes what it created.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
os.environ["PMHUB_PULL_ALLOWED_HOSTS"] = "127.0.0.1"
EMBEDDED = not os.environ.get("DATABASE_URL") and not os.environ.get("REDIS_URL")
if EMBEDDED:  # a scratch var/ of its own: never the developer's demo database
    import tempfile

    os.environ["PMHUB_VAR_DIR"] = tempfile.mkdtemp(prefix="pmhub-bench-pulls-")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from kpis.models import KPI  # noqa: E402
from kpis.sources.models import MetricSource, PullRun  # noqa: E402
from kpis.sources.services import sources_dispatch_due  # noqa: E402
from kpis.timeseries.models import Series  # noqa: E402
from products.models import Product  # noqa: E402

DELAY = 0.05


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(DELAY)
        body = json.dumps({"data": {"value": 42.0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def setup(n, url):
    product = Product.objects.create(name="bench pulls", slug=f"bench-pulls-{os.getpid()}")
    series = Series.objects.bulk_create([Series(kind="kpi", key=f"bench-{i}") for i in range(n)])
    kpis = KPI.objects.bulk_create([KPI(product=product, series=s, key=f"bench-{i}", name=f"Bench {i}")
                                    for i, s in enumerate(series)])
    sources = MetricSource.objects.bulk_create([
        MetricSource(kpi=k, name=f"bench {i}", kind="http_json", interval_seconds=3600, timeout_seconds=10,
                     config={"url": f"{url}/v/{i}", "method": "GET", "json_path": "data.value", "body": ""})
        for i, k in enumerate(kpis)])
    return product, [s.pk for s in series], [s.pk for s in sources]


def run(pool, concurrency, source_ids, timeout):
    PullRun.objects.filter(source_id__in=source_ids).delete()
    MetricSource.objects.filter(pk__in=source_ids).update(next_run_at=timezone.now(), enabled=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"bench-pulls-{pool}-{concurrency}.log", "wb")
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "pmhub", "worker", "--loglevel", "WARNING",
         "--queues", settings.PMHUB_PULL_QUEUE, "--pool", pool, "--concurrency", str(concurrency), "--without-mingle", "--without-gossip",
         "--hostname", f"bench-{pool}@%h"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        start_new_session=True)
    try:
        time.sleep(6)  # let the worker boot
        start = time.perf_counter()
        queued = 0
        while queued < len(source_ids):
            queued += sources_dispatch_due(limit=len(source_ids))
        done = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = PullRun.objects.filter(source_id__in=source_ids, status="success").count()
            if done >= len(source_ids):
                break
            time.sleep(0.25)
        took = time.perf_counter() - start
        failed = PullRun.objects.filter(source_id__in=source_ids).exclude(status="success").count()
        print(f"pulls, one worker --pool {pool} -c {concurrency}: {done} sources in {took:.1f} s = "
              f"{done / took * 60:,.0f} sources/min ({failed} failed runs); "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    finally:
        MetricSource.objects.filter(pk__in=source_ids).update(enabled=False, next_run_at=None)
        os.killpg(worker.pid, 15)
        worker.wait(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=1500)
    parser.add_argument("--pools", default="threads:32")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()
    if EMBEDDED:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    elif not settings.REDIS_URL or connection.vendor != "postgresql":
        sys.exit("Set both DATABASE_URL (PostgreSQL) and REDIS_URL, or neither (the embedded default).")
    where = "embedded default: SQLite + file-system broker" if EMBEDDED else "PostgreSQL + Redis"
    print(f"{where}; load average before {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"endpoint answers in {DELAY * 1000:.0f} ms; {args.sources} sources; {os.cpu_count()} CPU cores", flush=True)
    product, series_ids, source_ids = setup(args.sources, url)
    try:
        for setting in args.pools.split(","):
            pool, concurrency = setting.split(":")
            run(pool, int(concurrency), source_ids, args.timeout)
    finally:
        product.delete()
        Series.objects.filter(pk__in=series_ids).delete()
        server.shutdown()
        if EMBEDDED:
            import shutil

            shutil.rmtree(os.environ["PMHUB_VAR_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
