"""Feedback themes figures: grouping 10,000 pieces, assigning one new piece, search by meaning,
and the grouping's quality on a synthetic corpus with known themes mixed with noise.

    .venv/bin/python bench/feedback_themes.py     (its own database, pmhub_bench_kpis, created and migrated;
                                                   BENCH_DATABASE_URL or DATABASE_URL name another)
    ... bench/feedback_themes.py --backend sentence-transformers --model-path /path/to/model --n 2000

Works on a scratch product it creates and deletes; prints one line per figure, the load
average before and after, and peak memory (resident set of this process).
"""
import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Pieces stored here are assigned by the figures below, not by a task run at each insert.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")

import _kpis_common  # noqa: E402

_kpis_common.setup_django()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from feedback import services as feedback_services  # noqa: E402
from feedback.models import Feedback  # noqa: E402
from feedback.themes import grouping, selectors, services  # noqa: E402
from feedback.themes.corpus import make_corpus, purity  # noqa: E402
from feedback.themes.models import ThemeAssignment  # noqa: E402
from feedback.themes.representation import new_representation  # noqa: E402
from products.models import Membership, Product  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def quality(texts, truth, backend) -> None:
    from sklearn.metrics import adjusted_rand_score

    rep = new_representation(backend)
    start = time.perf_counter()
    X = rep.fit_transform(texts)
    labels, C = grouping.group(X, assign_threshold=rep.assign_threshold, merge_similarity=rep.merge_similarity)
    took = time.perf_counter() - start
    themed = [i for i, t in enumerate(truth) if t != "noise"]
    noise = [i for i, t in enumerate(truth) if t == "noise"]
    ari_all = adjusted_rand_score(truth, labels)
    ari_themed = adjusted_rand_score([truth[i] for i in themed], [labels[i] for i in themed])
    true_k = len(set(truth) - {"noise"})
    print(f"quality ({rep.name}, {len(texts):,} pieces, {true_k} true themes + {len(noise) / len(texts):.0%} noise): "
          f"{len(C)} themes found in {took:.1f} s; adjusted Rand index {ari_all:.3f} (noise as its own label, "
          f"unassigned as one group), {ari_themed:.3f} on the themed pieces; purity {purity(truth, labels):.3f}; "
          f"noise left unassigned {np.mean([labels[i] == -1 for i in noise]):.0%}; themed pieces grouped "
          f"{np.mean([labels[i] >= 0 for i in themed]):.0%}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--backend", default="tfidf")
    parser.add_argument("--model-path", default="")
    parser.add_argument("--assignments", type=int, default=100)
    args = parser.parse_args()
    settings.FEEDBACK_THEMES_BACKEND = args.backend
    settings.FEEDBACK_THEMES_MODEL_PATH = args.model_path
    print(f"load average before: {load()} (2 cores, shared with other work); database: {connection.vendor}; "
          f"backend: {args.backend}")
    texts, truth = make_corpus(args.n, seed=11)
    quality(texts, truth, args.backend)
    print(f"peak memory after the in-memory grouping: {rss_mb():,.0f} MB resident")

    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-themes")
    product = Product.objects.create(name="Bench themes", slug=f"bench-themes-{os.getpid()}")
    Membership.objects.create(user=user, product=product, role="pm")
    try:
        start = time.perf_counter()
        for i in range(0, len(texts), 1000):
            feedback_services.feedback_bulk_create(actor=user, items=[
                {"product": product, "text": t, "organisation": f"Org {j % 40}"} for j, t in
                enumerate(texts[i:i + 1000], start=i)])
        print(f"stored {len(texts):,} pieces in {time.perf_counter() - start:.1f} s (setup, not measured)")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE feedback_feedback")
        rss_before = rss_mb()
        start = time.perf_counter()
        state = services.themes_regroup(product=product)
        took = time.perf_counter() - start
        print(f"grouping {len(texts):,} pieces (themes_regroup: read, represent, cluster, label, store vectors "
              f"and assignments): {took:.1f} s; {state.run_message}; peak memory {max(rss_mb(), rss_before):,.0f} MB")
        start = time.perf_counter()
        services.themes_regroup(product=product)
        print(f"regrouping with the previous themes as seeds: {time.perf_counter() - start:.1f} s")

        # One new piece, as on arrival: represent, compare with the centres, flag a duplicate, store.
        new = [Feedback.objects.create(product=product, text=t) for t in make_corpus(args.assignments + 1, seed=99)[0]]
        selectors.forget_space(product.pk)
        start = time.perf_counter()
        services.themes_assign(feedback_ids=[new[0].pk])
        cold = (time.perf_counter() - start) * 1000
        times = []
        for fb in new[1:]:
            start = time.perf_counter()
            services.themes_assign(feedback_ids=[fb.pk])
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        assigned = ThemeAssignment.objects.filter(feedback__in=new, theme__isnull=False).count()
        print(f"assigning one new piece (themes_assign, {len(times)} pieces one by one): p50 "
              f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms; first after a "
              f"grouping (loads the representation) {cold:.0f} ms; {assigned} of {len(new)} joined a theme")
        start = time.perf_counter()
        hits = selectors.semantic_search(product=product, query="the app crashes on my phone")
        print(f"search by meaning over {len(texts) + len(new):,} pieces: {(time.perf_counter() - start) * 1000:.0f} ms "
              f"({len(hits)} hits)")
    finally:
        product.delete()
    print(f"peak memory of the whole run: {rss_mb():,.0f} MB resident; load average after: {load()}")


if __name__ == "__main__":
    main()
