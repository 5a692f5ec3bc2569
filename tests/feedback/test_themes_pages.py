"""Feedback themes pages: roles, empty data, long unbroken and hostile text, the PM's forms,
and the inbox's hints and search by meaning."""
import pytest
from django.test import Client

from feedback import services as feedback_services
from feedback.models import FeedbackLink
from feedback.themes import services
from feedback.themes.models import Theme, ThemeAssignment
from products.roadmap.models import RoadmapItem
from tests import factories
from tests.factories import PASSWORD
from tests.feedback.themes_helpers import grouped
from tests.utils import page_get

pytestmark = pytest.mark.django_db

EVIL = '<script>alert("pwned")</script>'
LONG = "x" * 3000


def _client(user):
    client = Client()
    client.login(username=user.username, password=PASSWORD)
    return client


def test_empty_product_says_what_to_expect(product, pm, viewer):
    for user in (pm, viewer):
        html = page_get(_client(user), f"/feedback/{product.slug}/themes/").content.decode()
        assert "Themes appear once the product has a few pieces of feedback (0 so far" in html
    assert "Regroup now" in page_get(_client(pm), f"/feedback/{product.slug}/themes/").content.decode()
    assert "Regroup now" not in page_get(_client(viewer), f"/feedback/{product.slug}/themes/").content.decode()


def test_list_and_theme_pages_show_figures_escaped(product, pm, viewer):
    grouped(product, pm, n=120)
    theme = Theme.objects.filter(product=product).order_by("-id").first()
    services.theme_rename(actor=pm, theme=theme, label=EVIL + "y" * 85)
    member = theme.assignments.first().feedback
    feedback_services.feedback_update(actor=pm, feedback=member, text=EVIL + " " + LONG, organisation=EVIL + LONG[:80])
    for user in (pm, viewer):
        client = _client(user)
        html = page_get(client, f"/feedback/{product.slug}/themes/").content.decode()
        assert EVIL not in html and "&lt;script&gt;" in html and 'data-figure="fig-themes-overview"' in html
        html = page_get(client, f"/feedback/{product.slug}/themes/{theme.pk}/").content.decode()
        assert EVIL not in html and 'data-testid="theme-size"' in html and "Pieces per week" in html
        assert ("Link the whole theme" in html) == (user == pm)


def test_other_products_themes_are_404_and_viewers_cannot_act(product, pm, viewer):
    grouped(product, pm, n=60)
    theme = Theme.objects.filter(product=product).first()
    outsider = factories.UserFactory(username="nosy")
    assert _client(outsider).get(f"/feedback/{product.slug}/themes/").status_code == 404
    assert _client(outsider).get(f"/feedback/{product.slug}/themes/{theme.pk}/").status_code == 404
    assert _client(outsider).post(f"/feedback/{product.slug}/themes/{theme.pk}/rename/", {"label": "x"}).status_code == 404
    assert _client(viewer).post(f"/feedback/{product.slug}/themes/{theme.pk}/rename/", {"label": "x"}).status_code == 403
    assert _client(viewer).post(f"/feedback/{product.slug}/themes/merge/", {"ids": [theme.pk]}).status_code == 403
    other = factories.ProductFactory()
    factories.member(other, "pm", username=pm.username + "x")
    assert _client(pm).get(f"/feedback/{product.slug}/themes/999999/").status_code == 404
    theme.refresh_from_db()
    assert not theme.label_pinned


def test_pm_forms_merge_rename_link_move(product, pm):
    grouped(product, pm, n=120)
    client = _client(pm)
    a, b = sorted(Theme.objects.filter(product=product), key=lambda t: -t.assignments.count())[:2]
    size = a.assignments.count() + b.assignments.count()
    r = client.post(f"/feedback/{product.slug}/themes/merge/", {"ids": [a.pk, b.pk]}, follow=True)
    assert f"Merged 2 themes into “{a.label}”." in r.content.decode()
    assert a.assignments.count() == size and not Theme.objects.filter(pk=b.pk).exists()
    r = client.post(f"/feedback/{product.slug}/themes/merge/", {"ids": [a.pk]}, follow=True)
    assert "Select at least two themes to merge." in r.content.decode()
    r = client.post(f"/feedback/{product.slug}/themes/{a.pk}/rename/", {"label": ""}, follow=True)
    assert "Give the theme a name." in r.content.decode()
    item = RoadmapItem.objects.create(product=product, title="Fix it")
    r = client.post(f"/feedback/{product.slug}/themes/{a.pk}/link/", {"roadmap_item": item.pk, "importance": "2"},
                    follow=True)
    assert f"all {size} pieces of this theme now count toward its demand" in r.content.decode()
    assert FeedbackLink.objects.filter(roadmap_item=item, via_theme=a).count() == size
    r = client.post(f"/feedback/{product.slug}/themes/{a.pk}/link/", {"roadmap_item": "abc"}, follow=True)
    assert "Choose a roadmap item of the same product." in r.content.decode()
    piece = a.assignments.first().feedback_id
    r = client.post(f"/feedback/{product.slug}/themes/move/{piece}/", {"theme": "none"}, follow=True)
    assert f"Feedback #{piece} taken out of its theme." in r.content.decode()
    assert ThemeAssignment.objects.get(feedback_id=piece).theme is None
    assert FeedbackLink.objects.filter(roadmap_item=item, via_theme=a).count() == size - 1


def test_inbox_shows_similar_counts_duplicates_and_searches_by_meaning(product, pm, django_capture_on_commit_callbacks):
    from feedback.models import Feedback
    from feedback.themes.selectors import semantic_search

    grouped(product, pm, n=120)
    dark = Feedback.objects.get(pk=semantic_search(product=product, query="dark theme at night")[0][0])
    with django_capture_on_commit_callbacks(execute=True):
        again = feedback_services.feedback_create(actor=pm, product=product, text=dark.text)
    client = _client(pm)
    html = page_get(client, f"/feedback/{product.slug}/").content.decode()
    assert "others said something similar" in html and f"Likely duplicate of <a href=\"/feedback/{product.slug}/{dark.pk}/\">" in html
    html = page_get(client, f"/feedback/{product.slug}/?m=dark+theme+at+night").content.decode()
    assert 'name="m" value="dark theme at night"' in html and f"#{again.pk}" in html
    other = factories.ProductFactory()
    html = page_get(_client(factories.member(other, "pm", username="p2")), f"/feedback/{other.slug}/?m=anything").content.decode()
    assert "Search by meaning works once this product" in html


def test_theme_actions_go_back_where_they_came_from_and_a_refusal_changes_nothing(product, pm):
    """The actions' shared answer (pmhub/page_actions.py): a service's refusal is the page's error
    message and nothing changes; `next` is followed only to a path of this site."""
    grouped(product, pm, n=60)
    client = _client(pm)
    theme = Theme.objects.filter(product=product).first()
    label = theme.label
    r = client.post(f"/feedback/{product.slug}/themes/{theme.pk}/rename/", {"label": "  "})
    assert r.status_code == 302 and r.url == f"/feedback/{product.slug}/themes/{theme.pk}/"
    html = client.get(r.url).content.decode()
    assert "Give the theme a name." in html and "Renamed" not in html
    theme.refresh_from_db()
    assert theme.label == label and not theme.label_pinned

    piece = theme.assignments.first().feedback_id
    inbox = f"/feedback/{product.slug}/?status=new"
    for nxt, goes_to in ((inbox, inbox), ("//evil.example/x", f"/feedback/{product.slug}/themes/"),
                         ("/\\evil.example", f"/feedback/{product.slug}/themes/"),
                         ("https://evil.example/", f"/feedback/{product.slug}/themes/")):
        r = client.post(f"/feedback/{product.slug}/themes/move/{piece}/", {"theme": theme.pk, "next": nxt})
        assert r.status_code == 302 and r.url == goes_to, nxt
    r = client.post(f"/feedback/{product.slug}/themes/move/{piece}/", {"theme": "999999", "next": inbox}, follow=True)
    assert "Choose a theme of this product." in r.content.decode()
    assert ThemeAssignment.objects.get(feedback_id=piece).theme_id == theme.pk
