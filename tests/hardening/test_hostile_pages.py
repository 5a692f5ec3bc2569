"""Script and HTML in every text field are shown escaped on every page and in every chart.

Pages are found by walking the URLconf, not listed by hand: a new page without an entry in
PAGE_ARGS below fails `test_every_page_is_walked` until it is covered here.
"""
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.hardening.hostile_data import XSS, hostile_product, raw_payloads_in, raw_payloads_in_figures

pytestmark = pytest.mark.django_db
ESCAPED = "&lt;script&gt;alert(1)"

# Routes that are not HTML pages showing stored text (checked elsewhere or nothing to show).
NOT_PAGES = {
    "logout": "POST only, redirects",
    "healthz": "JSON, no user text",
    "kpis:export": "CSV download (text/csv, never rendered as HTML)",
    "portfolio-export": "CSV download",
}
SKIPPED_PREFIXES = ("api/", "admin/", "mlflow/", "static/", "media/")

# url name -> function(h) giving the URL kwargs for the hostile product's objects.
PAGE_ARGS = {
    "home": lambda h: {},
    "login": lambda h: {},
    "profile": lambda h: {},
    "token-revoke": lambda h: {"pk": h.token.pk},
    "audit-log": lambda h: {},
    "products:list": lambda h: {},
    "products:create": lambda h: {},
    "products:detail": lambda h: {"slug": h.product.slug},
    "products:edit": lambda h: {"slug": h.product.slug},
    "products:member-add": lambda h: {"slug": h.product.slug},
    "products:member-remove": lambda h: {"slug": h.product.slug, "pk": h.membership.pk},
    "feedback:index": lambda h: {},
    "feedback:product": lambda h: {"slug": h.product.slug},
    "feedback:new": lambda h: {"slug": h.product.slug},
    "feedback:bulk": lambda h: {"slug": h.product.slug},
    "feedback:portal": lambda h: {"slug": h.product.slug},
    "feedback:import": lambda h: {"slug": h.product.slug},
    "feedback:import-job": lambda h: {"slug": h.product.slug, "pk": h.feedback_import.pk},
    "feedback:dashboard": lambda h: {"slug": h.product.slug},
    "feedback:most-requested": lambda h: {"slug": h.product.slug},
    "feedback:reach": lambda h: {"slug": h.product.slug, "item_pk": h.item.pk},
    "feedback:notify": lambda h: {"slug": h.product.slug, "item_pk": h.shipped_item.pk},
    "feedback:detail": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk},
    "feedback:themes": lambda h: {"slug": h.product.slug},
    "feedback:themes-regroup": lambda h: {"slug": h.product.slug},
    "feedback:themes-merge": lambda h: {"slug": h.product.slug},
    "feedback:theme": lambda h: {"slug": h.product.slug, "pk": h.theme.pk},
    "feedback:theme-rename": lambda h: {"slug": h.product.slug, "pk": h.theme.pk},
    "feedback:theme-split": lambda h: {"slug": h.product.slug, "pk": h.theme.pk},
    "feedback:theme-dismiss": lambda h: {"slug": h.product.slug, "pk": h.theme.pk},
    "feedback:theme-link": lambda h: {"slug": h.product.slug, "pk": h.theme.pk},
    "feedback:theme-unlink": lambda h: {"slug": h.product.slug, "pk": h.theme.pk, "item_pk": h.item.pk},
    "feedback:theme-move": lambda h: {"slug": h.product.slug, "feedback_pk": h.feedback.pk},
    "feedback:triage": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk},
    "feedback:link": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk},
    "feedback:unlink": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk, "link_pk": h.link.pk},
    "feedback:duplicate": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk},
    "feedback:delete": lambda h: {"slug": h.product.slug, "pk": h.feedback.pk},
    "feedback-public": lambda h: {"token": h.portal_token},
    "kpis:index": lambda h: {},
    "kpis:alerts-all": lambda h: {},
    "kpis:product": lambda h: {"slug": h.product.slug},
    "kpis:create": lambda h: {"slug": h.product.slug},
    "kpis:alerts": lambda h: {"slug": h.product.slug},
    "kpis:webhook-add": lambda h: {"slug": h.product.slug},
    "kpis:webhook-remove": lambda h: {"slug": h.product.slug, "pk": h.webhook.pk},
    "kpis:objective-create": lambda h: {"slug": h.product.slug},
    "kpis:objective-edit": lambda h: {"slug": h.product.slug, "pk": h.objective.pk},
    "kpis:detail": lambda h: {"slug": h.product.slug, "key": h.kpi.key},
    "kpis:edit": lambda h: {"slug": h.product.slug, "key": h.kpi.key},
    "kpis:delete": lambda h: {"slug": h.product.slug, "key": h.kpi.key},
    "kpis:import": lambda h: {"slug": h.product.slug, "key": h.kpi.key},
    "kpis:import-status": lambda h: {"slug": h.product.slug, "key": h.kpi.key, "pk": h.kpi_import.pk},
    "models:index": lambda h: {},
    "models:product": lambda h: {"slug": h.product.slug},
    "models:detail": lambda h: {"slug": h.product.slug, "pk": h.aimodel.pk},
    "models:promote": lambda h: {"slug": h.product.slug, "pk": h.aimodel.pk, "version_pk": h.version.pk},
    "portfolio": lambda h: {},
    "portfolio-digest": lambda h: {},
    "portfolio-digest-subscription": lambda h: {},
    "portfolio-digest-send": lambda h: {},
    "sources:list": lambda h: {"slug": h.product.slug},
    "sources:create": lambda h: {"slug": h.product.slug},
    "sources:detail": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "sources:edit": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "sources:delete": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "sources:pull": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "sources:test": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "sources:health": lambda h: {"slug": h.product.slug, "pk": h.source.pk},
    "roadmap:index": lambda h: {},
    "roadmap:shared": lambda h: {"token": h.share_token},
    "roadmap:product": lambda h: {"slug": h.product.slug},
    "roadmap:list": lambda h: {"slug": h.product.slug},
    "roadmap:timeline": lambda h: {"slug": h.product.slug},
    "roadmap:matrix": lambda h: {"slug": h.product.slug},
    "roadmap:create": lambda h: {"slug": h.product.slug},
    "roadmap:share": lambda h: {"slug": h.product.slug},
    "roadmap:item": lambda h: {"slug": h.product.slug, "pk": h.item.pk},
    "roadmap:edit": lambda h: {"slug": h.product.slug, "pk": h.item.pk},
    "roadmap:move": lambda h: {"slug": h.product.slug, "pk": h.item.pk},
    "roadmap:status": lambda h: {"slug": h.product.slug, "pk": h.item.pk},
    "roadmap:delete": lambda h: {"slug": h.product.slug, "pk": h.item.pk},
    "sprints:index": lambda h: {},
    "sprints:product": lambda h: {"slug": h.product.slug},
    "sprints:create": lambda h: {"slug": h.product.slug},
    "sprints:backlog": lambda h: {"slug": h.product.slug},
    "sprints:detail": lambda h: {"slug": h.product.slug, "pk": h.sprint.pk},
    "sprints:edit": lambda h: {"slug": h.product.slug, "pk": h.sprint.pk},
    "sprints:start": lambda h: {"slug": h.product.slug, "pk": h.sprint.pk},
    "sprints:close": lambda h: {"slug": h.product.slug, "pk": h.sprint.pk},
    "sprints:move": lambda h: {"slug": h.product.slug, "pk": h.work_item.pk},
    "sprints:item-edit": lambda h: {"slug": h.product.slug, "pk": h.work_item.pk},
}
# Pages that must render (200) for the product's PM; the others answer a GET with 405 or a redirect.
MUST_RENDER = {
    "home", "profile", "audit-log", "products:list", "products:detail", "products:edit", "feedback:index",
    "feedback:product", "feedback:new", "feedback:dashboard", "feedback:most-requested", "feedback:detail",
    "feedback:reach", "feedback:notify", "feedback:import-job", "feedback-public", "kpis:index", "kpis:alerts-all",
    "kpis:product", "kpis:alerts", "kpis:detail", "kpis:edit", "kpis:objective-edit", "models:index",
    "models:product", "models:detail", "portfolio", "portfolio-digest", "sources:list",
    "sources:detail", "sources:edit", "roadmap:index", "roadmap:shared", "roadmap:product", "roadmap:list",
    "roadmap:timeline", "roadmap:matrix", "roadmap:item", "roadmap:edit", "sprints:index", "sprints:product",
    "sprints:backlog", "sprints:detail", "sprints:edit", "sprints:item-edit",
}
# Query parameters pages read (search boxes, filters, ranges, return paths): reflected values must be escaped too.
HOSTILE_QUERY = "&".join(f"{name}={quote(XSS)}" for name in (
    "q", "search", "tag", "theme", "status", "channel", "segment", "sentiment", "item", "range", "period", "from",
    "to", "start", "end", "next", "kpi", "action", "user", "product", "sort", "order", "view", "version", "key",
    "compare", "page"))


def walk(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            yield prefix + str(p.pattern), namespace + p.name


def pages():
    return sorted({name for route, name in walk() if not route.startswith(SKIPPED_PREFIXES) and name not in NOT_PAGES})


def test_every_page_is_walked():
    missing = [name for name in pages() if name not in PAGE_ARGS]
    assert not missing, f"pages the hostile-input walk does not cover (add them to PAGE_ARGS): {missing}"


@pytest.fixture
def hostile(db):
    return hostile_product()


def _check(response, where):
    html = response.content.decode(errors="replace")
    leaks = raw_payloads_in(html)
    assert not leaks, f"{where} ({response.status_code}) shows {leaks} unescaped"
    figure_leaks = raw_payloads_in_figures(html)
    assert not figure_leaks, f"{where}: chart text carries raw HTML: {figure_leaks[:5]}"


def test_every_page_shows_hostile_text_escaped(client, hostile, staff):
    from django.urls import reverse

    rendered, shown, statuses = set(), set(), {}
    for name in pages():
        url = reverse(name, kwargs=PAGE_ARGS[name](hostile))
        for user in (hostile.pm, staff):
            client.force_login(user)
            for path in (url, f"{url}?{HOSTILE_QUERY}"):
                for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                    response = client.get(path, **headers)
                    statuses[name] = response.status_code
                    _check(response, f"GET {path[:90]} as {user.username} {headers}")
                    if response.status_code == 200 and path == url:
                        rendered.add(name)
                        if ESCAPED in response.content.decode():
                            shown.add(name)
    not_rendered = {n: statuses.get(n) for n in MUST_RENDER - rendered}
    assert not not_rendered, f"pages that did not render for the PM or staff: {not_rendered}"
    # The text is there, escaped (not dropped): the check above is not vacuous.
    assert MUST_RENDER - shown == set(), f"pages not showing the hostile text at all: {MUST_RENDER - shown}"


def test_form_errors_and_messages_show_hostile_input_escaped(client, hostile):
    """Every POST route given hostile values in every usual field: re-rendered forms, error messages
    and flash messages on the page it redirects to show them escaped. Deleting routes go last."""
    from django.urls import reverse

    fields = ("name", "title", "description", "goal", "theme", "unit", "text", "stakeholder_name", "organisation",
              "tags", "note", "notes", "version", "reach", "status", "horizon", "username", "role", "url", "key",
              "business_objective", "importance", "roadmap_item", "duplicate_of", "sprint", "points", "target",
              "start_date", "end_date", "json_path", "query", "sql", "headers", "enabled", "next", "stage", "kpi",
              "email", "value", "rating", "channel", "segment", "interval_seconds", "timeout_seconds", "method")
    data = {f: XSS for f in fields}
    client.force_login(hostile.pm)
    names = sorted(pages(), key=lambda n: any(w in n for w in ("delete", "remove", "revoke", "unlink", "close")))
    posted = 0
    for name in names:
        url = reverse(name, kwargs=PAGE_ARGS[name](hostile))
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(url, data, follow=True, **headers)
            posted += response.status_code != 405
            _check(response, f"POST {url} {headers}")
    assert posted > 40


def test_dashboard_ranges_and_filters_show_hostile_text_escaped(client, hostile):
    client.force_login(hostile.pm)
    slug, key = hostile.product.slug, hostile.kpi.key
    for path in (f"/kpis/{slug}/?range=90d", f"/kpis/{slug}/?range=1y", f"/kpis/{slug}/k/{key}/?range=90d",
                 f"/kpis/{slug}/?range=custom&from=2026-01-01&to=2026-12-31", f"/feedback/{slug}/dashboard/?period=365",
                 f"/feedback/{slug}/?tag={hostile.feedback.tags.get().pk}", f"/feedback/{slug}/?item={hostile.item.pk}",
                 f"/models/{slug}/{hostile.aimodel.pk}/?compare=all"):
        response = client.get(path)
        assert response.status_code == 200, path
        _check(response, path)



@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\\/evil.example/",
                                    "javascript:alert(1)", " /\\evil.example"])
def test_return_paths_never_lead_to_another_site(client, hostile, target):
    client.force_login(hostile.pm)
    slug = hostile.product.slug
    response = client.post(f"/feedback/{slug}/{hostile.feedback.pk}/triage/", {"status": "reviewed", "next": target})
    assert response.status_code == 302 and response["Location"] == f"/feedback/{slug}/{hostile.feedback.pk}/"
    page = client.get(f"/feedback/{slug}/roadmap/{hostile.item.pk}/reach/", {"next": target}).content.decode()
    assert f'href="/feedback/{slug}/most-requested/"' in page
    assert not any(bad in page for bad in ('href="//', 'href="/\\', 'href="https://evil', 'href="javascript', 'href=" '))


def test_digest_email_shows_hostile_text_escaped(hostile):
    """The one HTML e-mail (the weekly digest) is escaped like the pages; its plain-text part is text."""
    from portfolio.services import digest_build

    digest = digest_build(user=hostile.pm, base_url="https://pmhub.example/")
    assert ESCAPED in digest.html and not raw_payloads_in(digest.html)
    assert "<script>alert(1)" in digest.text  # plain text: shown as typed, never rendered
