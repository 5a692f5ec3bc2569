"""Server time of the portfolio page: 20 products x 8 headline KPIs x a year of hourly data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pmhub_bench .venv/bin/python bench/portfolio.py

Migrates the database it is given, then creates (once; later runs reuse them)
20 products named bench-pf-NN with 8 KPIs each holding a point every hour for
365 days (8,760 points per KPI, 1.4 M in all) written through the store's bulk
upsert (which keeps the hourly and daily rollups), a dozen roadmap items per
product and a few open alerts. It then renders /portfolio/ for a viewer of all
20 products through Django's request handler (what gunicorn would run, without
the network), for each period, and prints the median and p95 server time, the
number of SQL queries, the CSV export and the digest build. Use a database of
its own: it leaves the data there for the next run.
"""
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-that-is-long-enough-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATIC_MANIFEST", "0")  # no collectstatic needed

import warnings  # noqa: E402

import django  # noqa: E402

warnings.filterwarnings("ignore", message="No directory at")

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

PRODUCTS, KPIS, DAYS = 20, 8, 365
RUNS = int(os.environ.get("BENCH_RUNS", "20"))


def seed():
    from django.contrib.auth import get_user_model

    from kpis.models import KPI
    from kpis.services.alerts import alert_open
    from kpis.timeseries.services import PointIn, series_create, series_points_upsert
    from products.models import Membership, Product
    from products.roadmap.models import RoadmapItem

    user, _ = get_user_model().objects.get_or_create(username="bench-exec", defaults={"email": "bench@example.com"})
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    rng = random.Random(8)
    made = 0
    started = time.perf_counter()
    for p in range(PRODUCTS):
        product, created = Product.objects.get_or_create(
            slug=f"bench-pf-{p:02d}", defaults={"name": f"Bench product {p:02d}",
                                                "business_objective": "Grow the number that matters by 10% this year."})
        Membership.objects.get_or_create(user=user, product=product, defaults={"role": "viewer"})
        if not created and KPI.objects.filter(product=product).count() == KPIS:
            continue
        for k in range(KPIS):
            key = f"kpi-{k}"
            if KPI.objects.filter(product=product, key=key).exists():
                continue
            series = series_create(kind="kpi", key=key)
            base = rng.uniform(10, 1000)
            kpi = KPI.objects.create(product=product, series=series, name=f"KPI {k}", key=key, unit="%" if k % 2 else "",
                                     target=base * 1.1, warning_threshold=base * 0.95, critical_threshold=base * 0.85)
            hours = DAYS * 24
            points, value = [], base
            for h in range(hours):
                value += rng.gauss(0, base * 0.004)
                points.append(PointIn(ts=now - timedelta(hours=hours - h), value=value))
            for i in range(0, len(points), 10_000):
                series_points_upsert(series=series, points=points[i:i + 10_000])
            made += len(points)
            if k == 0 and p % 4 == 0:
                alert_open(kpi=kpi, kind="threshold", severity="warning", message="Below the warning threshold.")
        today = date.today()
        for i in range(12):
            status = ["shipped", "in_progress", "planned", "idea"][i % 4]
            RoadmapItem.objects.get_or_create(
                product=product, title=f"Item {i}",
                defaults={"status": status, "shipped_at": now - timedelta(days=i * 5) if status == "shipped" else None,
                          "target_date": today + timedelta(days=i * 7 - 30)},
            )
    if made:
        print(f"seeded {made:,} points in {time.perf_counter() - started:.1f} s")
    return user


def timed(client, url, runs=RUNS):
    client.get(url)  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(ctx.captured_queries), len(response.content)


def main():
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database of its own (it keeps the bench data).")
    call_command("migrate", verbosity=0)
    user = seed()
    from kpis.models import KPI
    from kpis.timeseries.models import Point
    from products.selectors import product_list_for_user

    print(f"{product_list_for_user(user=user).count()} products, {KPI.objects.filter(product__slug__startswith='bench-pf-').count()} KPIs, "
          f"{Point.objects.filter(series__kpi__product__slug__startswith='bench-pf-').count():,} points")
    client = Client()
    client.force_login(user)
    print(f"{'what':<34}{'median ms':>10}{'p95 ms':>9}{'queries':>9}{'KiB':>7}")
    for period in ("week", "month", "quarter"):
        med, p95, queries, size = timed(client, f"/portfolio/?period={period}")
        print(f"{'portfolio page, ' + period:<34}{med:>10.1f}{p95:>9.1f}{queries:>9}{size / 1024:>7.0f}")
    med, p95, queries, size = timed(client, "/portfolio/export.csv?period=month")
    print(f"{'CSV export, month':<34}{med:>10.1f}{p95:>9.1f}{queries:>9}{size / 1024:>7.0f}")
    from portfolio.services import digest_build

    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        digest_build(user=user)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"{'digest build (HTML + text), week':<34}{statistics.median(times):>10.1f}{times[int(len(times) * 0.95) - 1]:>9.1f}")


if __name__ == "__main__":
    main()
