import pytest
from django.db.models import F

from feedback import demo as feedback_demo
from feedback.models import Feedback, FeedbackLink
from pmhub import demo
from products.demo import seed_products

pytestmark = pytest.mark.django_db


def seed_all():
    ctx = demo.DemoContext()
    demo.seed_users(ctx)
    seed_products(ctx)
    try:
        from products import demo as products_demo
    except ImportError:
        products_demo = None
    if products_demo is not None:
        products_demo.seed(ctx)
    feedback_demo.seed(ctx)
    return ctx


def test_demo_feedback_is_believable_and_idempotent():
    seed_all()
    count = Feedback.objects.count()
    assert count >= 300
    assert Feedback.objects.values("channel").distinct().count() >= 6
    assert Feedback.objects.values("segment").distinct().count() == 4
    assert Feedback.objects.values("sentiment_label").distinct().count() == 3
    from products.roadmap.models import RoadmapItem

    if RoadmapItem.objects.exists():
        assert FeedbackLink.objects.count() > 50
        assert not FeedbackLink.objects.exclude(roadmap_item__product=F("feedback__product")).exists()
    ctx = seed_all()
    assert Feedback.objects.count() == count
    assert not [c for c in ctx.created if "feedback" in c]



def test_demo_products_have_themes_once():
    from feedback.themes.models import Theme, ThemeState

    ctx = seed_all()
    grouped = ThemeState.objects.filter(version=1, run_state="done").count()
    assert grouped == len(ctx.products) and Theme.objects.count() >= 3 * grouped
    feedback_demo.seed(ctx)
    assert ThemeState.objects.filter(version=1).count() == grouped  # not regrouped by a second seed
