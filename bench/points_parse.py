"""Bulk ingest validation alone: points_parse over one 10,000-point batch, in process.

The hot path of POST /api/v1/kpis/…/points checks every point without serializer
objects; this prints how long one batch takes (median of --repeat runs) and the
load average, so a change to the checks (such as the value bounds of
pmhub/limits.py) can be compared with the code before it:

    .venv/bin/python bench/points_parse.py [--repeat 30]
    PMHUB_CODE=/path/to/other/checkout .venv/bin/python bench/points_parse.py
"""
import argparse
import os
import statistics
import sys
import time

code = os.environ.get("PMHUB_CODE") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, code)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")

import django  # noqa: E402

django.setup()

from kpis.services.kpis import points_parse  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()
    base = 1_767_225_600  # 2026-01-01
    batches = {
        "iso strings": [{"ts": f"2026-01-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                         "value": i * 0.5} for i in range(args.points)],
        "unix seconds, int values": [{"ts": base + i, "value": i} for i in range(args.points)],
    }
    print(f"code: {code}")
    for name, items in batches.items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            points_parse(items)
            times.append(time.perf_counter() - start)
        med = statistics.median(times)
        print(f"{name:>26}: {args.points:,} points in {med * 1000:.2f} ms median "
              f"(min {min(times) * 1000:.2f} ms) = {args.points / med:,.0f} points/s")
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
