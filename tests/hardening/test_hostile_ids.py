"""IDs of another product, in any URL or payload, are refused and change nothing.

Two products, alpha and bravo, each with one of everything (tests/hardening/hostile_data.py).
Alpha's PM is no member of bravo. Every page route (from the URLconf) and every API operation
(from the OpenAPI schema) is called with bravo's ids, alone and mixed with alpha's slug; every
body field that names another object is given bravo's object on an alpha write. Each answer is
a refusal (404 for what the caller may not know exists; 400/403 where the product is theirs),
and both products, with everything that belongs to them, are byte for byte as before.
"""
import json

import pytest
from django.core import serializers
from django.urls import reverse

from kpis.ml.mlflow.models import MlflowRun
from kpis.models import Alert
from products.models import Membership
from products.transfer import collect
from tests.hardening.hostile_data import hostile_product
from tests.hardening.test_hostile_pages import PAGE_ARGS, pages

pytestmark = pytest.mark.django_db

# Routes opened by a secret token, not by membership: the token is the permission.
TOKEN_ROUTES = {"feedback-public", "roadmap:shared"}


def snapshot(product) -> str:
    """Everything that belongs to product (as product export finds it), serialised."""
    parts = []
    for model, pks in sorted(collect(product).items(), key=lambda kv: kv[0]._meta.label):
        rows = model.objects.filter(pk__in=pks).order_by("pk")
        parts.append(serializers.serialize("json", rows))
    return "\n".join(parts)


def _unchanged(request, checked):
    alpha, bravo = hostile_product("alpha"), hostile_product("bravo")
    products = {"alpha": alpha.product, "bravo": bravo.product}
    before = {name: snapshot(products[name]) for name in checked}
    yield alpha, bravo
    for name in checked:
        was, now = before[name], snapshot(products[name])
        if was != now:
            import difflib

            diff = "\n".join(list(difflib.unified_diff(was.replace("}, {", "},\n{").splitlines(),
                                                       now.replace("}, {", "},\n{").splitlines(), lineterm=""))[:40])
            pytest.fail(f"{name} changed:\n{diff}")


@pytest.fixture
def two(db, request):
    """alpha and bravo; both must be unchanged at the end."""
    yield from _unchanged(request, ("alpha", "bravo"))


@pytest.fixture
def two_bravo_kept(db, request):
    """alpha and bravo; bravo must be unchanged at the end (alpha's own forms may save alpha's fields)."""
    yield from _unchanged(request, ("bravo",))


def test_pages_refuse_another_products_ids(client, two):
    alpha, bravo = two
    client.force_login(alpha.pm)
    checked = 0
    for name in pages():
        if name in TOKEN_ROUTES:
            continue
        theirs = PAGE_ARGS[name](bravo)
        if not theirs:
            continue
        mixed = {k: (alpha.product.slug if k == "slug" else v) for k, v in theirs.items()}
        for kwargs in (theirs, mixed) if mixed != {"slug": alpha.product.slug} else (theirs,):
            url = reverse(name, kwargs=kwargs)
            get = client.get(url)
            assert get.status_code in (404, 405), f"GET {url}: {get.status_code}"
            post = client.post(url, {"name": "x", "title": "x", "status": "done", "horizon": "now", "reach": "1",
                                     "role": "viewer", "username": alpha.pm.username, "enabled": "1"})
            assert post.status_code == 404, f"POST {url}: {post.status_code}"
            checked += 1
    assert checked > 50


def _api_path_values(alpha, bravo):
    b = bravo
    return {
        "alerts": Alert.objects.filter(product=b.product).first().pk, "feedback": b.feedback.pk, "kpis": b.kpi.pk,
        "model-versions": b.version.pk, "models": b.aimodel.pk, "roadmap-items": b.item.pk, "sprints": b.sprint.pk,
        "work-items": b.work_item.pk, "members": Membership.objects.filter(product=b.product).first().pk,
        "sources": b.source.pk, "feedback-themes": b.theme.pk,
    }


def test_api_refuses_another_products_ids_in_urls(api, two):
    alpha, bravo = two
    api.as_user(alpha.pm)
    schema = json.loads(api.get("/api/schema/?format=json").content)
    ids = _api_path_values(alpha, bravo)
    checked = 0
    for template, operations in schema["paths"].items():
        if "{" not in template:
            continue
        resource = "members" if "/members/" in template else template.split("/")[3]
        variants = []
        theirs = template.replace("{id}", str(ids[resource])) if "{id}" in template else template
        theirs = theirs.replace("{slug}", bravo.product.slug).replace("{product_slug}", bravo.product.slug)
        theirs = theirs.replace("{product}", bravo.product.slug).replace("{key}", bravo.kpi.key)
        variants.append(theirs)
        if ("{product_slug}" in template and "{id}" in template) or "{product}" in template:
            variants.append(theirs.replace(f"/{bravo.product.slug}/", f"/{alpha.product.slug}/"))
        for path in variants:
            for method in operations:
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                body = {"name": "x", "title": "x", "text": "x", "role": "viewer", "status": "done", "stage": "staging",
                        "points": [{"ts": "2026-11-01T00:00:00Z", "value": 1}], "metrics": [], "roadmap_item": alpha.item.pk,
                        "horizon": "now", "kpi": alpha.kpi.pk, "metric_key": "x", "version": "x"}
                if method in ("get", "delete"):
                    response = getattr(api, method)(path)
                else:
                    response = getattr(api, method)(path, body, format="json")
                assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code} {response.content[:200]}"
                checked += 1
    assert checked > 40


def test_api_lists_never_show_another_products_objects(api, two):
    alpha, bravo = two
    api.as_user(alpha.pm)
    for path in ("alerts", "feedback", "kpis", "model-versions", "models", "roadmap-items", "sprints", "work-items",
                 "products", "sources", "feedback-themes"):
        for query in ("", f"?product={bravo.product.slug}", f"?product={bravo.product.pk}", f"?model={bravo.aimodel.pk}",
                      f"?sprint={bravo.sprint.pk}", "?search=bravo"):
            response = api.get(f"/api/v1/{path}/{query}")
            assert response.status_code in (200, 400), f"{path}{query}: {response.status_code}"
            assert "bravo" not in response.content.decode(), f"{path}{query} shows bravo's objects"


def test_api_refuses_another_products_objects_in_payloads(api, two):
    alpha, bravo = two
    a, b = alpha, bravo
    api.as_user(a.pm)
    kpi = {"product": a.product.slug, "name": "New", "key": "new-kpi", "direction": "higher"}
    item = {"product": a.product.slug, "title": "New", "horizon": "now"}
    work = {"product": a.product.slug, "title": "New", "points": 1}
    sprint = {"product": a.product.slug, "name": "S", "start_date": "2026-12-01", "end_date": "2026-12-10"}
    calls = [
        # Creating in their product.
        ("post", "/api/v1/kpis/", {**kpi, "product": b.product.slug}),
        ("post", "/api/v1/roadmap-items/", {**item, "product": b.product.slug}),
        ("post", "/api/v1/work-items/", {**work, "product": b.product.slug}),
        ("post", "/api/v1/sprints/", {**sprint, "product": b.product.slug}),
        ("post", "/api/v1/models/", {"product": b.product.slug, "name": "m"}),
        ("post", "/api/v1/feedback/", {"product": b.product.slug, "text": "x"}),
        ("post", "/api/v1/model-versions/", {"model": b.aimodel.pk, "version": "9"}),
        ("post", f"/api/v1/models/{a.aimodel.pk}/versions/", {"model": b.aimodel.pk, "version": "9"}),
        # Their objects referenced from ours.
        ("post", "/api/v1/kpis/", {**kpi, "objective": b.objective.pk}),
        ("post", "/api/v1/kpis/", {**kpi, "roadmap_items": [a.item.pk, b.item.pk]}),
        ("patch", f"/api/v1/kpis/{a.kpi.pk}/", {"objective": b.objective.pk}),
        ("patch", f"/api/v1/kpis/{a.kpi.pk}/", {"roadmap_items": [b.item.pk]}),
        ("patch", f"/api/v1/kpis/{a.kpi.pk}/", {"product": b.product.slug}),
        ("post", "/api/v1/work-items/", {**work, "sprint": b.sprint.pk}),
        ("post", "/api/v1/work-items/", {**work, "roadmap_item": b.item.pk}),
        ("patch", f"/api/v1/work-items/{a.work_item.pk}/", {"sprint": b.sprint.pk}),
        ("patch", f"/api/v1/work-items/{a.work_item.pk}/", {"roadmap_item": b.item.pk}),
        ("patch", f"/api/v1/work-items/{a.work_item.pk}/", {"product": b.product.slug}),
        ("patch", f"/api/v1/work-items/{a.work_item.pk}/", {"assignee": b.pm.username}),
        ("post", f"/api/v1/work-items/{a.work_item.pk}/move/", {"sprint": b.sprint.pk, "status": "todo"}),
        ("patch", f"/api/v1/roadmap-items/{a.item.pk}/", {"product": b.product.slug}),
        ("patch", f"/api/v1/roadmap-items/{a.item.pk}/", {"owner": b.pm.username}),
        ("patch", f"/api/v1/sprints/{a.sprint.pk}/", {"product": b.product.slug}),
        ("post", f"/api/v1/sprints/{a.sprint.pk}/close/", {"unfinished_to": b.closed_sprint.pk}),
        ("post", f"/api/v1/feedback/{a.feedback.pk}/links/", {"roadmap_item": b.item.pk, "importance": 2}),
        ("post", f"/api/v1/feedback-themes/{a.theme.pk}/merge/", {"into": b.theme.pk}),
        ("post", f"/api/v1/feedback-themes/{a.theme.pk}/links/", {"roadmap_item": b.item.pk, "importance": 2}),
        ("post", "/api/v1/feedback-themes/move/", {"feedback": a.feedback.pk, "theme": b.theme.pk}),
        ("post", "/api/v1/feedback-themes/move/", {"feedback": b.feedback.pk, "theme": a.theme.pk}),
        ("post", "/api/v1/feedback-themes/regroup/", {"product": b.product.slug}),
        ("post", f"/api/v1/models/{a.aimodel.pk}/kpi-feed/", {"kpi": b.kpi.pk, "metric_key": "x"}),
        ("post", f"/api/v1/model-versions/{a.version.pk}/promote/", {"expected_production": b.version.pk}),
        ("post", "/api/v1/sources/", {"kpi": b.kpi.pk, "name": "s", "kind": "http_json",
                                      "config": {"url": "https://example.com/m"}}),
        ("patch", f"/api/v1/sources/{a.source.pk}/", {"kpi": b.kpi.pk}),
    ]
    for method, path, body in calls:
        response = getattr(api, method)(path, body, format="json")
        assert response.status_code in (400, 403, 404), f"{method.upper()} {path} {body}: {response.status_code}"
        assert "detail" in response.json(), response.content


def test_pages_refuse_another_products_objects_in_forms(client, two_bravo_kept):
    a, b = two_bravo_kept
    client.force_login(a.pm)
    slug = a.product.slug
    posts = [
        (f"/kpis/{slug}/k/{a.kpi.key}/edit/", {"name": "n", "key": a.kpi.key, "category": "other", "direction": "higher",
                                                "pending_minutes": 0, "objective": b.objective.pk}),
        (f"/kpis/{slug}/k/{a.kpi.key}/edit/", {"name": "n", "key": a.kpi.key, "category": "other", "direction": "higher",
                                                "pending_minutes": 0, "roadmap_items": [b.item.pk]}),
        (f"/sprints/{slug}/items/{a.work_item.pk}/edit/", {"title": "t", "type": "story", "points": 1,
                                                            "roadmap_item": b.item.pk}),
        (f"/sprints/{slug}/items/{a.work_item.pk}/edit/", {"title": "t", "type": "story", "points": 1,
                                                            "assignee": b.pm.pk}),
        (f"/sprints/{slug}/items/{a.work_item.pk}/move/", {"sprint": b.sprint.pk, "status": "todo"}),
        (f"/sprints/{slug}/backlog/", {"action": "pull", "sprint": b.sprint.pk, "items": [a.work_item.pk]}),
        (f"/sprints/{slug}/backlog/", {"action": "pull", "sprint": a.sprint.pk, "items": [b.work_item.pk]}),
        (f"/sprints/{slug}/backlog/", {"action": "pull", "sprint": "x", "items": ["y"]}),
        (f"/sprints/{slug}/{a.sprint.pk}/close/", {"unfinished_to": str(b.closed_sprint.pk)}),
        (f"/feedback/{slug}/{a.feedback.pk}/links/", {"roadmap_item": b.item.pk, "importance": 1}),
        (f"/feedback/{slug}/{a.feedback.pk}/duplicate/", {"original": b.feedback.pk}),
        (f"/feedback/{slug}/bulk/", {"op": "link", "ids": [b.feedback.pk], "roadmap_item": a.item.pk}),
        (f"/feedback/{slug}/bulk/", {"op": "link", "ids": [a.feedback.pk], "roadmap_item": b.item.pk}),
        (f"/feedback/{slug}/bulk/", {"op": "status", "ids": [b.feedback.pk], "status": "done"}),
        (f"/feedback/{slug}/themes/merge/", {"ids": [a.theme.pk, b.theme.pk], "into": b.theme.pk}),
        (f"/feedback/{slug}/themes/{a.theme.pk}/link/", {"roadmap_item": b.item.pk, "importance": 1}),
        (f"/feedback/{slug}/themes/move/{a.feedback.pk}/", {"theme": b.theme.pk}),
        (f"/feedback/{slug}/themes/move/{b.feedback.pk}/", {"theme": a.theme.pk}),
        (f"/feedback/{slug}/themes/{a.theme.pk}/unlink/{b.item.pk}/", {}),
        (f"/models/{slug}/{a.aimodel.pk}/versions/{b.version.pk}/promote/", {"expected_production": "any"}),
        (f"/sources/{slug}/new/", {"kpi": b.kpi.pk, "name": "s", "kind": "http_json", "interval_seconds": 300,
                                   "timeout_seconds": 5, "url": "https://example.com/", "method": "GET",
                                   "json_path": "value", "enabled": "on"}),
        (f"/sources/{slug}/{a.source.pk}/edit/", {"kpi": b.kpi.pk, "name": "s", "kind": "http_json",
                                                  "interval_seconds": 300, "timeout_seconds": 5,
                                                  "url": "https://example.com/", "method": "GET", "json_path": "value"}),
        (f"/products/{slug}/members/{Membership.objects.filter(product=b.product).first().pk}/remove/", {}),
        (f"/kpis/{slug}/alerts/webhooks/{b.webhook.pk}/remove/", {}),
        (f"/feedback/{slug}/{a.feedback.pk}/links/{b.link.pk}/remove/", {}),
        (f"/profile/tokens/{b.token.pk}/revoke/", {}),
    ]
    for path, data in posts:
        response = client.post(path, data)
        assert response.status_code < 500, path
        if response.status_code == 200:  # the form again, with an error on the field
            assert b'errorlist' in response.content or b'aria-invalid="true"' in response.content, path
    # What the answers were does not matter as much as this: nothing of bravo's is now alpha's.
    a.kpi.refresh_from_db()
    assert a.kpi.objective_id == a.objective.pk
    assert not a.kpi.roadmap_items.filter(product=b.product).exists()
    a.work_item.refresh_from_db()
    assert a.work_item.sprint_id == a.sprint.pk and a.work_item.roadmap_item_id == a.item.pk
    assert a.work_item.assignee_id != b.pm.pk
    a.source.refresh_from_db()
    assert a.source.kpi_id == a.kpi.pk
    assert not a.product.kpis.model.objects.filter(product=a.product, sources__kpi__product=b.product).exists()
    from feedback.models import FeedbackLink
    from kpis.sources.models import MetricSource
    assert not FeedbackLink.objects.filter(feedback__product=a.product, roadmap_item__product=b.product).exists()
    assert not MetricSource.objects.filter(kpi__product=b.product, name="s").exists()
    from feedback.themes.models import Theme, ThemeAssignment, ThemeLink
    assert Theme.objects.filter(pk=b.theme.pk, product=b.product).exists()
    assert not ThemeAssignment.objects.exclude(theme__isnull=True).exclude(theme__product=a.product).filter(
        product=a.product).exists()
    assert not ThemeAssignment.objects.filter(product=b.product, theme__product=a.product).exists()
    assert not ThemeLink.objects.filter(theme__product=a.product, roadmap_item__product=b.product).exists()


def test_mlflow_refuses_another_products_experiments_and_runs(client, two):
    from pmhub.services import api_token_create

    alpha, bravo = two
    _, token = api_token_create(user=alpha.pm, name="mlflow")
    run = MlflowRun.objects.get(version__model__product=bravo.product)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    base = "/mlflow/api/2.0/mlflow"
    gets = [f"{base}/experiments/get?experiment_id={bravo.aimodel.pk}", f"{base}/runs/get?run_id={run.run_uuid}",
            f"{base}/metrics/get-history?run_id={run.run_uuid}&metric_key=x"]
    for path in gets:
        response = client.get(path, **auth)
        assert response.status_code == 404 and response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", path
    posts = [
        ("runs/log-metric", {"run_id": run.run_uuid, "key": "x", "value": 1, "timestamp": 1, "step": 0}),
        ("runs/log-parameter", {"run_id": run.run_uuid, "key": "x", "value": "1"}),
        ("runs/set-tag", {"run_id": run.run_uuid, "key": "x", "value": "1"}),
        ("runs/log-batch", {"run_id": run.run_uuid, "metrics": [{"key": "x", "value": 1, "timestamp": 1, "step": 0}]}),
        ("runs/update", {"run_id": run.run_uuid, "status": "FINISHED"}),
        ("runs/delete", {"run_id": run.run_uuid}),
        ("runs/create", {"experiment_id": str(bravo.aimodel.pk), "run_name": "x"}),
        ("experiments/update", {"experiment_id": str(bravo.aimodel.pk), "new_name": "alpha/x"}),
    ]
    for endpoint, body in posts:
        response = client.post(f"{base}/{endpoint}", json.dumps(body), content_type="application/json", **auth)
        assert response.status_code == 404 and response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", endpoint
    search = client.post(f"{base}/runs/search", json.dumps({"experiment_ids": [str(bravo.aimodel.pk)]}),
                         content_type="application/json", **auth)
    assert search.status_code in (200, 404) and run.run_uuid not in search.content.decode()
