"""Helpers for the feedback themes tests: a product's feedback from the synthetic corpus."""
from feedback import services as feedback_services
from feedback.themes import services
from feedback.themes.corpus import make_corpus

ORGS = ["Acme", "Globex", "Initech", "Umbrella", ""]
SEGMENTS = ["customer", "prospect", "internal", "executive"]


def seed_corpus(product, actor, n=160, seed=7, themes=6):
    """n pieces with known themes (and noise); returns (feedback list, true labels)."""
    texts, truth = make_corpus(n, seed=seed, themes=themes)
    created = feedback_services.feedback_bulk_create(actor=actor, items=[
        {"product": product, "text": t, "organisation": ORGS[i % 5], "segment": SEGMENTS[i % 4],
         "received_at": f"2026-{(i % 5) + 7:02d}-{(i % 27) + 1:02d}T10:00:00Z"}
        for i, t in enumerate(texts)])
    return created, truth


def grouped(product, actor, **kw):
    created, truth = seed_corpus(product, actor, **kw)
    services.themes_regroup(product=product)
    return created, truth


def theme_of(feedback):
    from feedback.themes.models import ThemeAssignment

    return ThemeAssignment.objects.get(feedback=feedback).theme
