"""Series reads and dashboards as the server sees them (Django test client, in process).

1. a bucketed GET of one KPI holding 100,000 points (auto bucket, and 1-hour and
   15-minute buckets), plus a raw GET of all 100,000;
2. the product KPI dashboard and the bucketed series endpoint for 8 KPIs holding
   1 k, 100 k and 1 M points each over one year.

    .venv/bin/python bench/kpis_read.py [--sizes 1000,100000,1000000]
"""
import argparse
from datetime import datetime, timedelta, timezone

import _kpis_common as common


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--kpis", type=int, default=8)
    opts = parser.parse_args()
    common.setup_django()
    from django.test import Client

    user, product = common.bench_user_and_product("bench-read")
    client = Client()
    client.force_login(user)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)

    # 1. one KPI, 100,000 minute points (about 69 days)
    kpi = common.fresh_kpi(product, "read-100k")
    common.fill_points_sql(kpi, count=100_000, start=now - timedelta(minutes=100_000), step_seconds=60)
    common.vacuum("kpis_point", "kpis_rollup")  # fresh statistics, as autovacuum would have them
    frm, to = (now - timedelta(minutes=100_000)).isoformat(), now.isoformat()
    url = f"/api/v1/kpis/{kpi.pk}/points"
    print("series read, one KPI holding 100,000 points (server time, median of 7):")
    for bucket in ("auto", "1h", "15m"):
        def get(bucket=bucket):
            r = client.get(url, {"from": frm, "to": to, "bucket": bucket})
            assert r.status_code == 200, r.content[:300]
            return r
        n = len(get().json()["points"])
        print(f"  bucket={bucket:<5} {n:>6} points returned  {common.median_ms(get):8.1f} ms")

    def raw():
        r = client.get(url, {"from": frm, "to": to, "bucket": "raw"})
        assert r.status_code == 200
    print(f"  bucket=raw   100000 points returned  {common.median_ms(raw, repeat=3, warmup=1):8.1f} ms")

    # 2. eight KPIs, one year, growing history
    print(f"\ndashboard, {opts.kpis} KPIs over one year (server time, median of 7):")
    print(f"{'points/KPI':>11} {'dashboard 1y':>13} {'dashboard 30d':>14} {'series GET 1y':>14}")
    for size in [int(s) for s in opts.sizes.split(",")]:
        slug = f"bench-dash-{size}"
        _, dash_product = common.bench_user_and_product(slug)
        from kpis.models import KPI

        kpis = list(KPI.objects.filter(product=dash_product))
        if len(kpis) != opts.kpis or not kpis[0].series.points.exists():
            kpis = []
            for i in range(opts.kpis):
                k = common.fresh_kpi(dash_product, f"kpi-{i}", target=55, warning_threshold=45, critical_threshold=40)
                common.fill_points_sql(k, count=size, start=now - timedelta(days=365),
                                       step_seconds=365 * 86400 / size)
                kpis.append(k)
            common.vacuum("kpis_point", "kpis_rollup")

        def dashboard(r="1y"):
            resp = client.get(f"/kpis/{slug}/", {"range": r})
            assert resp.status_code == 200

        def series_get():
            resp = client.get(f"/api/v1/kpis/{kpis[0].pk}/points",
                              {"from": (now - timedelta(days=365)).isoformat(), "to": now.isoformat()})
            assert resp.status_code == 200
        print(f"{size:>11,} {common.median_ms(dashboard):>10.1f} ms {common.median_ms(lambda: dashboard('30d')):>11.1f} ms "
              f"{common.median_ms(series_get):>11.1f} ms")


if __name__ == "__main__":
    main()
