"""Demo AI models: two per demo product, three or four versions each, with training curves
over a few hundred steps and evaluation metrics; one version of each in production.

Idempotent: a model that exists is left alone. Fast on SQLite: each version's metrics
go in as one batch through the same service the API uses.
"""
import math
import random
from datetime import timedelta

from django.utils import timezone

from kpis.ml.models import AIModel, ModelVersion, StageTransition

STEPS = 300
EVERY = 2  # log the training curve every other step: 150 points per key and version

# product slug -> models: (name, task, description, primary metric, higher is better, extra eval metrics, versions)
# versions: (label, params, quality 0..1, notes)
DEMO_MODELS = {
    "smart-reply": [
        ("reply-generator", "generation", "Fine-tuned language model that drafts replies to support tickets.",
         "acceptance_rate", True, ["rougeL", "toxicity_rate"],
         [("1", {"base": "small-1b", "lr": 3e-4, "epochs": 2}, 0.35, "First fine-tune on 40k tickets."),
          ("2", {"base": "small-1b", "lr": 1e-4, "epochs": 3}, 0.5, "Lower learning rate, one more epoch."),
          ("3", {"base": "medium-3b", "lr": 1e-4, "epochs": 3}, 0.7, "Bigger base model."),
          ("4", {"base": "medium-3b", "lr": 5e-5, "epochs": 4, "dpo": True}, 0.8, "Preference-tuned on agent edits.")]),
        ("reply-ranker", "ranking", "Ranks the drafted replies before an agent sees them.",
         "ndcg@3", True, ["mrr"],
         [("1", {"model": "bm25+lr"}, 0.3, "Baseline."),
          ("2", {"model": "cross-encoder", "layers": 6}, 0.6, ""),
          ("3", {"model": "cross-encoder", "layers": 12}, 0.55, "Deeper but overfits.")]),
    ],
    "churn-radar": [
        ("churn-gbm", "classification", "Gradient-boosted trees scoring 30-day churn risk per account.",
         "auc", True, ["precision@10pct", "recall@10pct"],
         [("1", {"trees": 200, "depth": 4}, 0.4, "Usage features only."),
          ("2", {"trees": 400, "depth": 6}, 0.6, "Adds support-ticket features."),
          ("3", {"trees": 600, "depth": 6, "billing": True}, 0.75, "Adds billing events.")]),
        ("seats-forecast", "forecasting", "Forecasts seat count per account for the next quarter.",
         "mape", False, ["rmse"],
         [("1", {"model": "ets"}, 0.3, ""),
          ("2", {"model": "prophet"}, 0.5, ""),
          ("3", {"model": "lightgbm", "lags": 12}, 0.7, ""),
          ("4", {"model": "lightgbm", "lags": 24}, 0.72, "Longer history; not yet validated on Q3.")]),
    ],
    "search-ranking": [
        ("ltr-lambdamart", "ranking", "LambdaMART ranker behind catalogue search.",
         "ndcg@10", True, ["mrr", "latency_p95_ms"],
         [("1", {"trees": 300, "leaves": 31}, 0.4, ""),
          ("2", {"trees": 500, "leaves": 63}, 0.6, "Adds click-through features."),
          ("3", {"trees": 800, "leaves": 63, "embeddings": True}, 0.78, "Query and product embeddings.")]),
        ("query-classifier", "classification", "Routes queries to a category before ranking.",
         "f1_macro", True, ["accuracy"],
         [("1", {"model": "fasttext"}, 0.45, ""),
          ("2", {"model": "distilbert"}, 0.7, ""),
          ("3", {"model": "distilbert", "augment": True}, 0.74, "Synthetic queries for rare categories.")]),
    ],
}


def _eval_value(key: str, quality: float, rng: random.Random) -> float:
    noise = rng.uniform(-0.01, 0.01)
    if key in ("mape",):
        return round(0.30 - 0.2 * quality + noise, 4)
    if key == "rmse":
        return round(40 - 25 * quality + 10 * noise, 3)
    if key == "toxicity_rate":
        return round(0.02 - 0.015 * quality + noise / 10, 5)
    if key == "latency_p95_ms":
        return round(30 + 25 * quality + 100 * noise, 1)
    if key == "acceptance_rate":
        return round(0.25 + 0.4 * quality + noise, 4)
    return round(0.55 + 0.4 * quality + noise, 4)


def _curves(quality: float, rng: random.Random, start):
    """Training and validation loss, and a validation score, over STEPS steps."""
    entries = []
    floor = 0.9 - 0.6 * quality
    speed = 0.008 + 0.01 * quality
    for step in range(0, STEPS + 1, EVERY):
        ts = (start + timedelta(seconds=20 * step)).isoformat()
        train = floor + 1.6 * math.exp(-speed * step) + rng.gauss(0, 0.02)
        val = floor + 0.08 + 1.6 * math.exp(-speed * 0.85 * step) + rng.gauss(0, 0.025)
        score = (0.5 + 0.45 * quality) * (1 - math.exp(-speed * 1.2 * step)) + rng.gauss(0, 0.006)
        entries += [{"key": "train/loss", "value": round(train, 5), "step": step, "ts": ts},
                    {"key": "val/loss", "value": round(val, 5), "step": step, "ts": ts},
                    {"key": "val/score", "value": round(score, 5), "step": step, "ts": ts}]
    return entries


def seed(ctx):
    from kpis.ml.services import (
        aimodel_create,
        model_metrics_log,
        model_version_create,
        model_version_promote,
    )

    ds = ctx.users["ds"]
    now = timezone.now().replace(microsecond=0)
    for product in ctx.products:
        for i, (name, task, description, primary, higher, extra, versions) in enumerate(DEMO_MODELS.get(product.slug, [])):
            if AIModel.objects.filter(product=product, name=name).exists():
                continue
            rng = random.Random(f"{product.slug}/{name}")
            model = aimodel_create(actor=ds, product=product, name=name, task=task, description=description,
                                   primary_metric=primary, higher_is_better=higher)
            n = len(versions)
            # The next-to-last version is in production, after the one before it; the last is in staging.
            production_index = n - 2
            created = []
            for j, (label, params, quality, notes) in enumerate(versions):
                made_at = now - timedelta(days=12 * (n - j) + 3 * i)
                stage = "staging" if j == n - 1 else "development"
                mv = model_version_create(actor=ds, model=model, version=label, params=params, notes=notes, stage=stage)
                entries = _curves(quality, rng, made_at)
                eval_ts = (made_at + timedelta(hours=3)).isoformat()
                entries += [{"key": k, "value": _eval_value(k, quality, rng), "ts": eval_ts} for k in [primary, *extra]]
                model_metrics_log(actor=ds, version=mv, entries=entries)
                ModelVersion.objects.filter(pk=mv.pk).update(created_at=made_at, stage_changed_at=made_at)
                StageTransition.objects.filter(version=mv).update(at=made_at)
                created.append((mv, made_at))
            for k, j in enumerate(j for j in (production_index - 1, production_index) if j >= 0):
                mv, made_at = created[j]
                model_version_promote(actor=ds, version=mv, note="better on the holdout set" if k else "first release")
                promoted_at = made_at + timedelta(days=2)
                StageTransition.objects.filter(version__model=model, at__gte=now - timedelta(minutes=5)).update(
                    at=promoted_at)
                ModelVersion.objects.filter(model=model, stage_changed_at__gte=now - timedelta(minutes=5)).update(
                    stage_changed_at=promoted_at)
            ctx.note(f"model {product.slug}/{name} with {n} versions")
    seed_feeds(ctx)


# KPIs of category model (kpis/demo.py) that follow a demo model's production metric.
DEMO_FEEDS = [("churn-radar", "churn-model-auc", "churn-gbm", "auc"),
              ("search-ranking", "ndcg-10", "ltr-lambdamart", "ndcg@10")]


def seed_feeds(ctx):
    from kpis.ml.models import KpiModelFeed
    from kpis.models import KPI

    for slug, kpi_key, model_name, metric_key in DEMO_FEEDS:
        kpi = KPI.objects.filter(product__slug=slug, key=kpi_key, category=KPI.Category.MODEL).first()
        model = AIModel.objects.filter(product__slug=slug, name=model_name).first()
        if kpi is None or model is None or KpiModelFeed.objects.filter(kpi=kpi).exists():
            continue
        KpiModelFeed.objects.create(kpi=kpi, model=model, metric_key=metric_key)
        ctx.note(f"KPI {slug}/{kpi_key} follows {model_name} {metric_key}")
