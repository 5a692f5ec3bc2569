"""Feedback figures: sentiment scoring, bulk API-style ingest, CSV import, inbox search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pmhub .venv/bin/python bench/feedback_ingest.py

Works on a scratch product it creates and deletes; prints one line per figure.
"""
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmhub.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from feedback import selectors, sentiment, services  # noqa: E402
from feedback.models import Feedback, ImportJob  # noqa: E402
from products.models import Membership, Product  # noqa: E402

WORDS = ("export slow broken love great tone formal reply search ranking alert score casual latency "
         "dashboard billing onboarding please need terrible excellent confusing fast useful").split()


def sentence(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))).capitalize() + "."


def timed(label, fn, n=None):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    rate = f" ({n / took:,.0f}/s)" if n else ""
    print(f"{label}: {took * 1000:,.0f} ms{rate}")
    return result


def main():
    rng = random.Random(7)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-feedback", defaults={"is_staff": False})
    product = Product.objects.create(name="Bench feedback", slug=f"bench-feedback-{os.getpid()}")
    Membership.objects.create(user=user, product=product, role="pm")
    print(f"database: {connection.vendor}")
    try:
        texts = [sentence(rng) for _ in range(2000)]
        timed("VADER score 2,000 short texts", lambda: [sentiment.score(t) for t in texts], 2000)
        items = [{"product": product, "text": t, "tags": [rng.choice(WORDS)], "channel": "api",
                  "stakeholder_email": f"p{i}@example.com"} for i, t in enumerate(texts[:1000])]
        timed("bulk create 1,000 (validate + sentiment + insert + tags)",
              lambda: services.feedback_bulk_create(actor=user, items=items), 1000)
        rows = "\n".join(f'"{sentence(rng)}",p{i}@example.com,Org {i % 50},customer,{1 + i % 5},"a;b"'
                         for i in range(10_000))
        content = ("text,email,organisation,segment,rating,tags\n" + rows + "\n").encode()
        job = ImportJob.objects.create(product=product, created_by=user, filename="bench.csv", content=content)
        timed("CSV import of 10,000 rows (one transaction)", lambda: services.import_job_run(job=job), 10_000)
        total = Feedback.objects.filter(product=product).count()
        if connection.vendor == "postgresql":  # as autovacuum would after a big import
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE feedback_feedback")
        filters = selectors.InboxFilters(q="export latency")
        timed(f"inbox search, common words, over {total:,} rows, first page",
              lambda: list(selectors.feedback_inbox(product=product, filters=filters)[:50]))
        rare = selectors.InboxFilters(q="zebra")
        timed(f"inbox search, a word in no row, over {total:,} rows",
              lambda: list(selectors.feedback_inbox(product=product, filters=rare)[:50]))
        timed("dashboard aggregates", lambda: selectors.dashboard_data(product=product))
    finally:
        product.delete()


if __name__ == "__main__":
    main()
