"""Feedback themes: grouping, assignment on arrival, the PM's decisions surviving regrouping,
theme links counted in roadmap demand, search by meaning, the schedule."""
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from feedback import selectors as feedback_selectors
from feedback import services as feedback_services
from feedback.models import FeedbackLink
from feedback.themes import selectors, services
from feedback.themes.corpus import purity
from feedback.themes.models import Theme, ThemeAssignment, ThemeLink, ThemeState
from products.roadmap.models import RoadmapItem
from tests import factories
from tests.feedback.themes_helpers import grouped, seed_corpus, theme_of

pytestmark = pytest.mark.django_db


def _themes(product):
    return list(Theme.objects.filter(product=product, status="active"))


def _by_truth(created, truth, name):
    return [fb for fb, t in zip(created, truth) if t == name]


def test_grouping_finds_the_known_themes_in_their_own_words(product, pm):
    created, truth = grouped(product, pm, n=200)
    state = ThemeState.objects.get(product=product)
    assert state.run_state == "done" and state.version == 1 and state.grouped_count == 200
    themes = _themes(product)
    assert 4 <= len(themes) <= 14
    by_fb = {a.feedback_id: a.theme_id for a in ThemeAssignment.objects.filter(product=product)}
    assert len(by_fb) == 200  # every piece has a vector, grouped or not
    predicted = [by_fb[fb.pk] if by_fb[fb.pk] else -1 for fb in created]
    assert purity(truth, predicted) >= 0.9
    # Most noise stays out of every theme; most themed pieces are in one.
    noise = [p for p, t in zip(predicted, truth) if t == "noise"]
    assert Counter(p == -1 for p in noise)[True] >= len(noise) * 0.6
    for theme in themes:
        members = list(theme.assignments.values_list("feedback__text", flat=True))
        assert theme.label and theme.keywords and theme.quote.text in members
        # The label is made of words its own pieces use (bigrams skip stop words: "crashing phone").
        words = theme.keywords[0].lower().split()
        assert any(all(w in m.lower() for w in words) for m in members), (theme.label, members[:3])


def test_new_feedback_joins_the_closest_theme_without_regrouping(product, pm, django_capture_on_commit_callbacks):
    created, truth = grouped(product, pm)
    crash_theme = Counter(theme_of(fb) for fb in _by_truth(created, truth, "mobile_crash")).most_common(1)[0][0]
    with django_capture_on_commit_callbacks(execute=True):  # the arrival task is queued after commit
        fb = feedback_services.feedback_create(actor=pm, product=product,
                                               text="The Android app crashes every time I upload a photo")
    a = ThemeAssignment.objects.get(feedback=fb)
    assert a.theme == crash_theme and a.similarity >= 0.3
    assert ThemeState.objects.get(product=product).version == 1  # no regrouping
    with django_capture_on_commit_callbacks(execute=True):
        other = feedback_services.feedback_create(actor=pm, product=product, text="Zebra quartz vineyard olive")
    assert ThemeAssignment.objects.get(feedback=other).theme is None


def test_a_repeated_piece_is_flagged_as_a_likely_duplicate(product, pm, django_capture_on_commit_callbacks):
    created, truth = grouped(product, pm)
    original = _by_truth(created, truth, "dark_mode")[0]
    with django_capture_on_commit_callbacks(execute=True):
        again = feedback_services.feedback_create(actor=pm, product=product, text=original.text)
    a = ThemeAssignment.objects.get(feedback=again)
    assert a.likely_duplicate_of_id == original.pk and a.duplicate_similarity > 0.9
    hints = selectors.inbox_hints(product=product, feedback_ids=[again.pk])
    assert hints[again.pk]["duplicate_of"] == original.pk
    assert hints[again.pk]["others"] == a.theme.assignments.count() - 1


def test_the_pms_choices_survive_regrouping(product, pm):
    created, truth = grouped(product, pm)
    themes = sorted(_themes(product), key=lambda t: -t.assignments.count())
    a, b, c = themes[0], themes[1], themes[2]
    services.theme_rename(actor=pm, theme=a, label="Crashes on phones")
    merged_members = set(a.assignments.values_list("feedback_id", flat=True)) | set(
        b.assignments.values_list("feedback_id", flat=True))
    services.theme_merge(actor=pm, source=b, target=a)
    assert not Theme.objects.filter(pk=b.pk).exists()
    new = services.theme_split(actor=pm, theme=c)
    c_members = set(c.assignments.values_list("feedback_id", flat=True))
    new_members = set(new.assignments.values_list("feedback_id", flat=True))
    assert c_members and new_members and not (c_members & new_members)
    d = [t for t in _themes(product) if t.pk not in (a.pk, c.pk, new.pk)][0]
    services.theme_set_dismissed(actor=pm, theme=d, dismissed=True)
    moved = next(fb for fb in created if theme_of(fb) not in (a, c, new, d, None))
    services.feedback_move(actor=pm, feedback=moved, theme=a)

    services.themes_regroup(product=product)
    a.refresh_from_db()
    assert a.label == "Crashes on phones" and a.label_pinned
    assert merged_members | {moved.pk} <= set(a.assignments.values_list("feedback_id", flat=True))
    assert set(c.assignments.values_list("feedback_id", flat=True)) >= c_members
    assert set(new.assignments.values_list("feedback_id", flat=True)) >= new_members
    d.refresh_from_db()
    assert d.status == "dismissed" and d.assignments.exists()
    assert ThemeAssignment.objects.get(feedback=moved).pinned
    # A dismissed theme gives no "others said something similar" hint.
    member = d.assignments.first().feedback_id
    assert selectors.inbox_hints(product=product, feedback_ids=[member])[member]["theme"] is None


def test_linking_a_theme_counts_all_its_feedback_in_the_items_demand(product, pm, django_capture_on_commit_callbacks):
    created, truth = grouped(product, pm)
    item = RoadmapItem.objects.create(product=product, title="Stable mobile app")
    theme = Counter(theme_of(fb) for fb in _by_truth(created, truth, "mobile_crash")).most_common(1)[0][0]
    size = theme.assignments.count()
    assert feedback_selectors.item_demand(item=item)["demand"] == 0
    services.theme_link(actor=pm, theme=theme, roadmap_item=item, importance=2)
    demand = feedback_selectors.item_demand(item=item)
    assert demand["feedback_count"] == size and demand["demand"] == 2 * size
    # A new piece that joins the theme counts at once; one moved out stops counting.
    with django_capture_on_commit_callbacks(execute=True):
        feedback_services.feedback_create(actor=pm, product=product, text="The iPhone app crashes on launch again")
    assert feedback_selectors.item_demand(item=item)["feedback_count"] == size + 1
    out = theme.assignments.first().feedback
    services.feedback_move(actor=pm, feedback=out, theme=None)
    assert feedback_selectors.item_demand(item=item)["feedback_count"] == size
    # It survives regrouping, and unlinking takes it all back.
    services.themes_regroup(product=product)
    assert feedback_selectors.item_demand(item=item)["feedback_count"] >= size - 2
    assert ThemeLink.objects.filter(theme=theme, roadmap_item=item).exists()
    services.theme_unlink(actor=pm, theme=theme, roadmap_item=item)
    assert feedback_selectors.item_demand(item=item)["demand"] == 0
    assert not FeedbackLink.objects.filter(roadmap_item=item).exists()


def test_a_hand_made_link_is_kept_when_the_theme_link_goes(product, pm):
    created, truth = grouped(product, pm)
    item = RoadmapItem.objects.create(product=product, title="Dark mode")
    piece = _by_truth(created, truth, "dark_mode")[0]
    feedback_services.feedback_link(actor=pm, feedback=piece, roadmap_item=item, importance=3)
    theme = theme_of(piece)
    services.theme_link(actor=pm, theme=theme, roadmap_item=item, importance=1)
    services.theme_unlink(actor=pm, theme=theme, roadmap_item=item)
    assert list(FeedbackLink.objects.filter(roadmap_item=item).values_list("feedback_id", "importance")) == [(piece.pk, 3)]


def test_search_by_meaning_ranks_the_pieces_about_it_first(product, pm):
    created, truth = grouped(product, pm)
    hits = selectors.semantic_search(product=product, query="dark theme for the night")
    assert hits
    top = {fb.pk: t for fb, t in zip(created, truth)}
    assert [top[pk] for pk, _ in hits[:5]] == ["dark_mode"] * 5
    # The inbox filter keeps that order.
    filters = feedback_selectors.InboxFilters.from_params({"m": "dark theme for the night"})
    rows = list(feedback_selectors.feedback_inbox(product=product, filters=filters)[:5])
    assert [r.pk for r in rows] == [pk for pk, _ in hits[:5]]


def test_refusals_change_nothing(product, pm, viewer):
    grouped(product, pm)
    a, b = _themes(product)[:2]
    other = factories.ProductFactory()
    foreign = Theme.objects.create(product=other, label="Elsewhere")
    with pytest.raises(PermissionDenied):
        services.theme_rename(actor=viewer, theme=a, label="Mine")
    with pytest.raises(Http404):
        services.theme_merge(actor=viewer, source=a, target=foreign)
    with pytest.raises(ValidationError):
        services.theme_merge(actor=pm, source=foreign, target=a)
    with pytest.raises(ValidationError):
        services.theme_merge(actor=pm, source=a, target=a)
    with pytest.raises(ValidationError):
        services.theme_rename(actor=pm, theme=a, label="   ")
    with pytest.raises(ValidationError):
        services.theme_rename(actor=pm, theme=a, label="x" * 121)
    item = RoadmapItem.objects.create(product=other, title="Not yours")
    with pytest.raises(ValidationError):
        services.theme_link(actor=pm, theme=a, roadmap_item=item)
    mine = RoadmapItem.objects.create(product=product, title="Yours")
    with pytest.raises(ValidationError):
        services.theme_link(actor=pm, theme=a, roadmap_item=mine, importance=7)
    a.refresh_from_db()
    assert not a.label_pinned and Theme.objects.filter(pk=b.pk).exists() and not ThemeLink.objects.exists()


def test_too_little_feedback_makes_no_theme(product, pm):
    seed_corpus(product, pm, n=4)
    state = services.themes_regroup(product=product)
    assert state.run_state == "done" and not Theme.objects.filter(product=product).exists()
    assert selectors.themes_for_product(product=product) == []


def test_the_schedule_regroups_products_that_are_due(product, pm, django_capture_on_commit_callbacks):
    from pmhub.celery import app

    entry = app.conf.beat_schedule["feedback-themes-regroup-due"]
    assert entry["task"] == "feedback.themes.tasks.themes_regroup_due"
    assert entry["options"]["expires"] <= entry["schedule"]
    seed_corpus(product, pm, n=30)
    quiet = factories.ProductFactory()  # no feedback: not due
    with django_capture_on_commit_callbacks(execute=True):  # queued after commit, run eagerly
        due = services.themes_regroup_due(max_age_seconds=3600)
    assert due == [product.pk] and quiet.pk not in due
    # The eager task ran: the product is grouped, and not due again until new feedback and age.
    assert ThemeState.objects.get(product=product).run_state == "done"
    assert services.themes_regroup_due(max_age_seconds=3600) == []
    assert services.themes_regroup_due(max_age_seconds=0) == []


def test_the_task_groups_on_demand(product, pm):
    from feedback.themes.tasks import themes_regroup

    seed_corpus(product, pm, n=60)
    services.themes_regroup_request(actor=pm, product=product)  # queued after commit: eager here
    themes_regroup.apply(args=[product.pk])
    assert ThemeState.objects.get(product=product).version >= 1
    themes_regroup.apply(args=[999999])  # a deleted product: nothing to do


def test_a_grouped_product_exports_and_imports_with_its_themes(product, pm, django_capture_on_commit_callbacks):
    import io

    from products.transfer import product_export, product_import

    grouped(product, pm, n=60)
    theme = Theme.objects.filter(product=product).first()
    item = RoadmapItem.objects.create(product=product, title="Linked")
    services.theme_link(actor=pm, theme=theme, roadmap_item=item, importance=2)
    stream = io.StringIO()
    product_export(product=product, stream=stream)
    stream.seek(0)
    copy = product_import(stream=io.BytesIO(stream.getvalue().encode()), slug="copy-of-it")
    assert Theme.objects.filter(product=copy).count() == Theme.objects.filter(product=product).count()
    assert ThemeAssignment.objects.filter(product=copy).count() == 60
    assert ThemeAssignment.objects.filter(product=copy, theme__product=product).count() == 0
    copied_item = RoadmapItem.objects.get(product=copy, title="Linked")
    assert feedback_selectors.item_demand(item=copied_item)["demand"] == feedback_selectors.item_demand(item=item)["demand"]
    # The copy's themes work: search, and a new piece joins one of the copy's own themes.
    assert selectors.semantic_search(product=copy, query="dark mode at night")
    with django_capture_on_commit_callbacks(execute=True):
        fb = feedback_services.feedback_create(actor=pm, product=copy, text=theme.quote.text)
    assigned = ThemeAssignment.objects.get(feedback=fb).theme
    assert assigned is not None and assigned.product_id == copy.pk


def test_a_state_without_a_usable_representation_is_as_if_never_grouped(product, pm, django_capture_on_commit_callbacks):
    ThemeState.objects.create(product=product, backend="tfidf", version=3, representation=b"")
    assert selectors.semantic_search(product=product, query="anything") == []
    with django_capture_on_commit_callbacks(execute=True):
        fb = feedback_services.feedback_create(actor=pm, product=product, text="Dark mode please")
    assert not ThemeAssignment.objects.filter(feedback=fb).exists()
