"""The store's write path alone (no HTTP): what one upsert costs as a series grows, and writers of one day.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pmhub_bench_ts .venv/bin/python bench/timeseries_write.py

Runs in-process against DATABASE_URL (default: a scratch PostgreSQL database
pmhub_bench_ts, dropped and recreated; BENCH_TS_DB to change it). Prints, with
the load average:
- a one-point upsert into an empty series and into one holding 100,000 points
  of today (p50 / p90 over 300 writes each, interleaved);
- a 1,000-point batch (new steps) into one series, 1 writer;
- 4 threads writing new 1,000-point batches into one series and one day at once.
"""
from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _kpis_common import recreate_database  # noqa: E402

DB = os.environ.get("BENCH_TS_DB", "pmhub_bench_ts")
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def main():
    if "DATABASE_URL" not in os.environ:
        recreate_database(PG_URL, DB)
        os.environ["DATABASE_URL"] = f"{PG_URL}/{DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    from kpis.timeseries.models import Series
    from kpis.timeseries.services import PointIn, series_points_upsert

    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    full = Series.objects.create(kind="metric", key="full")
    empty = Series.objects.create(kind="metric", key="empty")
    for start in range(0, 100_000, 10_000):  # 100,000 points of today, a step each
        series_points_upsert(series=full.pk, points=[PointIn(today + timedelta(milliseconds=i), float(i), i)
                                                     for i in range(start, start + 10_000)])
    now = datetime.now(timezone.utc)
    times = {"empty": [], "full": []}
    for i in range(300):
        for name, sid in (("empty", empty.pk), ("full", full.pk)):
            t = time.perf_counter()
            series_points_upsert(series=sid, points=[PointIn(now + timedelta(microseconds=i), float(i), 200_000 + i)])
            times[name].append(time.perf_counter() - t)
    for name, ts in times.items():
        q = statistics.quantiles(ts, n=10)
        print(f"one-point upsert into {'an empty series' if name == 'empty' else '100,000 points of today':24s}: "
              f"p50 {statistics.median(ts) * 1000:6.2f} ms, p90 {q[8] * 1000:6.2f} ms", flush=True)
    ratio = statistics.median(times["full"]) / statistics.median(times["empty"])
    print(f"  p50 ratio full/empty: {ratio:.2f}x", flush=True)

    batch_series = Series.objects.create(kind="metric", key="batch")
    took = []
    for r in range(20):
        pts = [PointIn(now + timedelta(milliseconds=r * 1000 + i), float(i), r * 1000 + i) for i in range(1000)]
        t = time.perf_counter()
        series_points_upsert(series=batch_series.pk, points=pts)
        took.append(time.perf_counter() - t)
    print(f"1,000-point batch, 1 writer: p50 {statistics.median(took) * 1000:6.1f} ms "
          f"= {1000 / statistics.median(took):,.0f} points/s", flush=True)

    shared = Series.objects.create(kind="metric", key="shared")
    rounds, errors = 10, []
    barrier = threading.Barrier(4)

    def writer(w):
        try:
            barrier.wait()
            for r in range(rounds):
                base = (w * rounds + r) * 1000
                series_points_upsert(series=shared.pk, points=[PointIn(now + timedelta(milliseconds=base + i), 1.0,
                                                                       base + i) for i in range(1000)])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.perf_counter() - t
    if errors:
        raise errors[0]
    print(f"4 writers, one series and day, 1,000-point batches: {4 * rounds * 1000 / took:,.0f} points/s", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
