"""API fuzzing: schemathesis against our own /api/schema/, over HTTP to a real gunicorn.

Every operation of the schema, once as a product manager and once as a viewer
(API tokens), with ids and slugs of real objects the users can reach (and of
one they cannot) drawn into path parameters and bodies most of the time.
Checks on every response: no 5xx, the status code is documented, the body and
headers match the schema; for the viewer, no write is ever accepted and the
database is unchanged. Derandomized: the same cases on every run.
"""
import collections
import os

import pytest
import schemathesis
from django.db import connection
from django.conf import settings as django_settings
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from pmhub.services import api_token_create
from tests.fixtures_live import BIN, _log_path, free_port, process_env, spawn, stop, wait_for_port
from tests.hardening.fuzz_world import World, build_world

# django_db: each test reads the database (in a transaction it rolls back); the data itself is
# committed by the module fixture, where gunicorn sees it.
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

MAX_EXAMPLES = 12
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
HTTP_METHODS = WRITES | {"GET"}
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "ignored_auth"]
# Not negative_data_rejection: DRF and django-filter are lenient with query strings by design (an invalid
# page_size falls back to the default, an empty filter filters nothing), which that check calls a failure.

# (path, methods or None for all, {parameter: dictionary}); the dictionary names are World.ids keys.
BINDINGS = [
    ("/api/v1/products/{slug}/", ["GET", "PUT", "PATCH"], {"path.slug": "product_slugs"}),
    ("/api/v1/products/{slug}/", ["DELETE"], {"path.slug": "doomed_product_slugs"}),
    ("/api/v1/products/{product_slug}/members/", None, {"path.product_slug": "product_slugs"}),
    ("/api/v1/products/{product_slug}/members/{id}/", ["GET", "PUT", "PATCH"],
     {"path.product_slug": "product_slugs", "path.id": "membership_ids"}),
    ("/api/v1/products/{product_slug}/members/{id}/", ["DELETE"],
     {"path.product_slug": "product_slugs", "path.id": "doomed_membership_ids"}),
    ("/api/v1/alerts/{id}/", None, {"path.id": "alert_ids"}),
    ("/api/v1/kpis/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "kpi_ids"}),
    ("/api/v1/kpis/{id}/", ["DELETE"], {"path.id": "doomed_kpi_ids"}),
    ("/api/v1/kpis/{id}/points/", None, {"path.id": "kpi_ids"}),
    ("/api/v1/kpis/{product}/{key}/points/", None, {"path.product": "product_slugs", "path.key": "kpi_keys"}),
    ("/api/v1/feedback/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "feedback_ids"}),
    ("/api/v1/feedback/{id}/", ["DELETE"], {"path.id": "doomed_feedback_ids"}),
    ("/api/v1/feedback/{id}/links/", None, {"path.id": "feedback_ids"}),
    ("/api/v1/models/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "model_ids"}),
    ("/api/v1/models/{id}/", ["DELETE"], {"path.id": "doomed_model_ids"}),
    ("/api/v1/models/{id}/kpi-feed/", None, {"path.id": "model_ids"}),
    ("/api/v1/models/{id}/versions/", None, {"path.id": "model_ids"}),
    ("/api/v1/model-versions/{id}/", None, {"path.id": "model_version_ids"}),
    ("/api/v1/model-versions/{id}/metrics/", None, {"path.id": "model_version_ids"}),
    ("/api/v1/model-versions/{id}/promote/", None, {"path.id": "model_version_ids"}),
    ("/api/v1/model-versions/{id}/stage/", None, {"path.id": "model_version_ids"}),
    ("/api/v1/roadmap-items/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "roadmap_item_ids"}),
    ("/api/v1/roadmap-items/{id}/", ["DELETE"], {"path.id": "doomed_roadmap_item_ids"}),
    ("/api/v1/roadmap-items/{id}/move/", None, {"path.id": "roadmap_item_ids"}),
    ("/api/v1/roadmap-items/{id}/status/", None, {"path.id": "roadmap_item_ids"}),
    ("/api/v1/sprints/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "sprint_ids"}),
    ("/api/v1/sprints/{id}/", ["DELETE"], {"path.id": "doomed_sprint_ids"}),
    ("/api/v1/sprints/{id}/burndown/", None, {"path.id": "sprint_ids"}),
    ("/api/v1/sprints/{id}/close/", None, {"path.id": "sprint_ids"}),
    ("/api/v1/sprints/{id}/start/", None, {"path.id": "sprint_ids"}),
    ("/api/v1/work-items/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "work_item_ids"}),
    ("/api/v1/work-items/{id}/", ["DELETE"], {"path.id": "doomed_work_item_ids"}),
    ("/api/v1/work-items/{id}/move/", None, {"path.id": "work_item_ids"}),
    ("/api/v1/sources/{id}/", ["GET", "PUT", "PATCH"], {"path.id": "source_ids"}),
    ("/api/v1/sources/{id}/", ["DELETE"], {"path.id": "doomed_source_ids"}),
    ("/api/v1/sources/{id}/runs/", None, {"path.id": "source_ids"}),
    ("/api/v1/feedback-themes/{id}/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/feedback/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/merge/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/split/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/dismiss/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/restore/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/links/", None, {"path.id": "theme_ids"}),
    ("/api/v1/feedback-themes/{id}/links/{item_id}/", None,
     {"path.id": "theme_ids", "path.item_id": "roadmap_item_ids"}),
    # Always the probe source (see fuzz_world): these two would reach the source's URL.
    ("/api/v1/sources/{id}/pull-now/", None, {"path.id": "probe_source_ids"}),
    ("/api/v1/sources/{id}/test-connection/", None, {"path.id": "probe_source_ids"}),
]
# References inside bodies and query strings, in every operation that has them.
GLOBAL_BINDINGS = {
    "query.product": "product_slugs", "body.product": "product_slugs", "body.username": "usernames",
    "body.objective": "objective_ids", "body.roadmap_item": "roadmap_item_ids", "body.sprint": "sprint_ids",
    "body.model": "model_ids", "body.kpi": "kpi_ids", "body.roadmap_items[*]": "roadmap_item_ids",
    "body.unfinished_to": "sprint_ids", "body.into": "theme_ids", "body.theme": "theme_ids",
    "body.feedback": "feedback_ids",
}
PROBABILITY = 0.8  # the rest of the time the value is generated: unknown ids, wrong types
ALWAYS_BOUND = {"probe_source_ids"}  # never a generated id (see fuzz_world's sources)


def fuzz_config(world: World, token: str) -> schemathesis.Config:
    def bind(mapping, probability):
        return {key: {"dictionary": name, "probability": 1.0 if name in ALWAYS_BOUND else probability}
                for key, name in mapping.items()}

    # By name ("GET /path"): include filters of one entry are OR-ed, so path and method apart would
    # match every operation of that method.
    operations = [{"include-name": [f"{method} {path}" for method in methods or sorted(HTTP_METHODS)],
                   "parameters": bind(mapping, 1.0 if methods == ["DELETE"] else PROBABILITY)}
                  for path, methods, mapping in BINDINGS]
    return schemathesis.Config.from_dict({
        "seed": 20261127,
        "headers": {"Authorization": f"Bearer {token}"},
        "dictionaries": {name: {"values": values} for name, values in world.ids.items()},
        "parameters": bind(GLOBAL_BINDINGS, PROBABILITY),
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "allow-x00": False},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"stateful": {"enabled": False}},
        "operations": operations,
    })


def _schema_operations() -> list[str]:
    """The operations of our schema, read in-process at collection (one test each, per role)."""
    from drf_spectacular.generators import SchemaGenerator

    raw = SchemaGenerator().get_schema(request=None, public=True)
    return [f"{method.upper()} {path}" for path, ops in raw["paths"].items() for method in ops
            if method in ("get", "put", "post", "patch", "delete")]


OPERATIONS = _schema_operations()
STATUSES = collections.defaultdict(collections.Counter)  # (role, operation) -> {status: responses}


def write_summary(path):
    """What the run did, per operation and role: how many answers of each status (test-artifacts/)."""
    lines = [f"{'operation':<58} {'role':<7} statuses"]
    for (role, label), counts in sorted(STATUSES.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(f"{label:<58} {role:<7} " + " ".join(f"{code}x{n}" for code, n in sorted(counts.items())))
    total = collections.Counter()
    for counts in STATUSES.values():
        total.update({f"{code // 100}xx": n for code, n in counts.items()})
    lines.append(f"total: {sum(total.values())} requests, " + ", ".join(f"{k}: {v}" for k, v in sorted(total.items())))
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def fuzz_env(django_db_setup, django_db_blocker):
    """Committed data for both roles, a gunicorn on the test database, the schema loaded from it per role.

    Module-scoped (one server and one set of data for every operation); the
    tables are flushed at the end, as a transactional test would.
    """
    with django_db_blocker.unblock():
        # Empty tables and sequences restarted: the same ids on every run, whatever ran before, so a
        # generated id hits the same object each time and the run is repeatable.
        call_command("flush", verbosity=0, interactive=False, database="default", reset_sequences=True)
        worlds = {"pm": build_world("pm"), "viewer": build_world("viewer")}
        tokens = {"pm": api_token_create(user=worlds["pm"].pm, name="fuzz")[1],
                  "viewer": api_token_create(user=worlds["viewer"].viewer, name="fuzz")[1]}
    port = free_port()
    cmd = [f"{BIN}/gunicorn", "pmhub.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "2", "--threads", "2", "--timeout", "60"]
    # Production settings (DEBUG=0: error pages are ours, not Django's debug pages); API throttling
    # raised, since the fuzzer is one very busy client.
    env = process_env(DEBUG="0", SECRET_KEY="fuzz-tests-" + "k" * 40, STATIC_MANIFEST="0",
                      API_THROTTLE_RATE="100000/min", PMHUB_PULL_ALLOWED_HOSTS="")
    proc = spawn(cmd, env, _log_path("fuzz-gunicorn"))
    try:
        wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        schemas = {
            role: schemathesis.openapi.from_url(f"{base}/api/schema/?format=json",
                                                config=fuzz_config(worlds[role], tokens[role]), timeout=30)
            for role in worlds
        }
        yield schemas
    finally:
        stop(proc)
        os.makedirs(os.path.join(django_settings.BASE_DIR, "test-artifacts"), exist_ok=True)
        write_summary(os.path.join(django_settings.BASE_DIR, "test-artifacts", "api-fuzz-summary.txt"))
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False, database="default")


def database_fingerprint() -> dict:
    """A digest of every row of pmhub's own tables (sessions and token bookkeeping left out)."""
    skip = {"django_session", "pmhub_apitoken", "django_migrations"}
    digests = {}
    with connection.cursor() as cur:
        for table in sorted(connection.introspection.table_names()):
            if table in skip:
                continue
            cur.execute(f'SELECT md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{table}" t')
            digests[table] = cur.fetchone()[0]
    return digests


FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(HealthCheck), print_blob=False)


def _fuzz(schema, label, on_case):
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the schema the server serves"
    strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case):
        on_case(case)

    run()


def call_and_validate(role, label, case):
    response = case.call(timeout=30)
    STATUSES[(role, label)][response.status_code] += 1
    case.validate_response(response)
    return response


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_as_product_manager(fuzz_env, label):
    _fuzz(fuzz_env["pm"], label, lambda case: call_and_validate("pm", label, case))


@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_as_viewer(fuzz_env, django_db_blocker, label):
    def on_case(case):
        method = case.method.upper()
        if method not in WRITES:
            call_and_validate("viewer", label, case)
            return
        with django_db_blocker.unblock():
            before = database_fingerprint()
        response = call_and_validate("viewer", label, case)
        assert not 200 <= response.status_code < 300, (
            f"a viewer's {method} {case.formatted_path} was accepted: {response.status_code}")
        with django_db_blocker.unblock():
            after = database_fingerprint()
        changed = sorted(t for t in after if after[t] != before.get(t))
        assert not changed, f"a viewer's {method} {case.formatted_path} changed {changed}"

    _fuzz(fuzz_env["viewer"], label, on_case)


def test_database_fingerprint_sees_a_write(fuzz_env, django_db_blocker):
    """The viewer's "nothing changed" check would pass vacuously if the fingerprint missed writes."""
    from products.models import Product

    with django_db_blocker.unblock():
        before = database_fingerprint()
        product = Product.objects.get(slug="viewer-main")
        Product.objects.filter(pk=product.pk).update(description=product.description + " (changed)")
        try:
            after = database_fingerprint()
        finally:
            Product.objects.filter(pk=product.pk).update(description=product.description)
    assert [t for t in after if after[t] != before[t]] == ["products_product"]
