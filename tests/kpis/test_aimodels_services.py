"""AI models: creation, versions, promotion (and its races), metric logging and its refusals."""
import math
import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404

from kpis.ml import selectors, services
from kpis.ml.models import AIModel, ModelMetric, ModelVersion, StageTransition
from kpis.timeseries.models import Point, Series
from pmhub.models import AuditEvent
from tests import factories
from tests.kpis.aimodel_helpers import T0, log, make_model, make_version

pytestmark = pytest.mark.django_db
Stage = ModelVersion.Stage


def test_data_scientist_registers_model_and_versions(product, data_scientist):
    model = make_model(product, data_scientist, name="  reply-ranker ")
    assert model.name == "reply-ranker" and model.created_by == data_scientist
    v1 = make_version(model, data_scientist, "1", params={"lr": 0.01}, notes="baseline")
    assert v1.stage == Stage.DEVELOPMENT and v1.params == {"lr": 0.01}
    assert list(v1.transitions.values_list("from_stage", "to_stage")) == [("", "development")]

    with pytest.raises(ValidationError) as exc:
        make_model(product, data_scientist, name="reply-ranker")
    assert "already has a model" in str(exc.value.message_dict["name"])
    with pytest.raises(ValidationError) as exc:
        make_version(model, data_scientist, "1")
    assert "already has a version" in exc.value.message_dict["version"][0]
    with pytest.raises(ValidationError) as exc:
        make_version(model, data_scientist, "2", stage="production")
    assert "promote" in exc.value.message_dict["stage"][0]
    with pytest.raises(ValidationError):
        services.aimodel_create(actor=data_scientist, product=product, name="x", task="astrology")
    assert AIModel.objects.count() == 1 and ModelVersion.objects.count() == 1


def test_viewer_and_outsider_cannot_write(product, data_scientist, viewer, outsider):
    model = make_model(product, data_scientist)
    v1 = make_version(model, data_scientist, "1")
    with pytest.raises(PermissionDenied):
        make_model(product, viewer, name="other")
    with pytest.raises(PermissionDenied):
        make_version(model, viewer, "2")
    with pytest.raises(PermissionDenied):
        services.model_version_promote(actor=viewer, version=v1)
    with pytest.raises(PermissionDenied):
        log(v1, viewer, {"accuracy": 0.9})
    with pytest.raises(Http404):
        log(v1, outsider, {"accuracy": 0.9})
    assert Point.objects.count() == 0 and ModelVersion.objects.get().stage == Stage.DEVELOPMENT


def test_promote_archives_previous_in_one_step_and_records_history(product, data_scientist, pm):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2", stage="staging")
    services.model_version_promote(actor=data_scientist, version=v1, note="first release")
    services.model_version_promote(actor=pm, version=v2)
    v1.refresh_from_db(), v2.refresh_from_db()
    assert (v1.stage, v2.stage) == (Stage.ARCHIVED, Stage.PRODUCTION)
    history = [(t.version.version, t.from_stage, t.to_stage, t.actor.username) for t in selectors.stage_history(model=model)]
    assert history[:3] == [("2", "staging", "production", pm.username), ("1", "production", "archived", pm.username),
                           ("1", "development", "production", data_scientist.username)]
    events = list(AuditEvent.objects.filter(action="model_version.promoted").order_by("id"))
    assert [e.data["version"] for e in events] == ["1", "2"] and events[1].data["previous"] == "1"
    assert events[1].product_id == product.pk

    # Promoting the production version again changes nothing.
    services.model_version_promote(actor=pm, version=v2)
    assert AuditEvent.objects.filter(action="model_version.promoted").count() == 2
    # A stale expectation is refused and changes nothing.
    with pytest.raises(services.PromotionConflict):
        services.model_version_promote(actor=pm, version=v1, expected_production=v1)
    v2.refresh_from_db()
    assert v2.stage == Stage.PRODUCTION
    # Archiving the production version leaves none.
    services.model_version_stage_set(actor=pm, version=v2, stage="archived")
    assert not ModelVersion.objects.filter(stage=Stage.PRODUCTION).exists()


def test_database_refuses_two_production_versions(product, data_scientist):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    services.model_version_promote(actor=data_scientist, version=v1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=v2.pk).update(stage=Stage.PRODUCTION)


def _race(n, target):
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_racing_promotes_never_leave_two_production_versions():
    product = factories.ProductFactory()
    ds = factories.member(product, "data_scientist")
    model = make_model(product, ds)
    versions = [make_version(model, ds, str(i)) for i in range(4)]

    # Without expectation: they serialise on the model's row lock; the last one wins.
    results = _race(4, lambda i: services.model_version_promote(actor=ds, version=versions[i]))
    assert all(isinstance(r, ModelVersion) for r in results), results
    stages = sorted(ModelVersion.objects.values_list("stage", flat=True))
    assert stages == ["archived", "archived", "archived", "production"]
    assert StageTransition.objects.filter(to_stage="production").count() == 4

    # Each expecting the current production version: exactly one wins, the others get a conflict.
    current = ModelVersion.objects.get(stage="production")
    others = [v for v in versions if v.pk != current.pk]
    results = _race(3, lambda i: services.model_version_promote(actor=ds, version=others[i],
                                                                 expected_production=current))
    winners = [r for r in results if isinstance(r, ModelVersion)]
    conflicts = [r for r in results if isinstance(r, services.PromotionConflict)]
    assert len(winners) == 1 and len(conflicts) == 2, results
    assert list(ModelVersion.objects.filter(stage="production").values_list("pk", flat=True)) == [winners[0].pk]
    assert AuditEvent.objects.filter(action="model_version.promoted").count() == 5


def test_metrics_are_stored_per_key_and_retries_duplicate_nothing(product, data_scientist):
    model = make_model(product, data_scientist)
    v1 = make_version(model, data_scientist, "1")
    entries = [{"key": "loss", "value": 1.0 / (s + 1), "step": s, "ts": (T0 + timedelta(seconds=s)).isoformat()}
               for s in range(100)]
    entries.append({"key": "accuracy", "value": 0.91})
    assert services.model_metrics_log(actor=data_scientist, version=v1, entries=entries) == 101
    assert services.model_metrics_log(actor=data_scientist, version=v1, entries=entries[:100]) == 100
    assert Point.objects.count() == 101
    assert set(ModelMetric.objects.values_list("key", flat=True)) == {"loss", "accuracy"}
    assert set(Series.objects.values_list("kind", flat=True)) == {"metric"}
    final = selectors.final_values(version_ids=[v1.pk])
    assert final[(v1.pk, "loss")].value == pytest.approx(0.01) and final[(v1.pk, "loss")].step == 99
    assert final[(v1.pk, "accuracy")].value == 0.91 and final[(v1.pk, "accuracy")].step == 0
    # The same (key, step, ts) twice in one batch: the last wins.
    log(v1, data_scientist, {"f1": 0.5}, step=3)
    services.model_metrics_log(actor=data_scientist, version=v1, entries=[
        {"key": "f1", "value": 0.6, "step": 3, "ts": (T0 + timedelta(seconds=3)).isoformat()},
        {"key": "f1", "value": 0.7, "step": 3, "ts": (T0 + timedelta(seconds=3)).isoformat()},
    ])
    assert selectors.final_value(version=v1, key="f1").value == 0.7


@pytest.mark.parametrize("entry, field, message", [
    ({"key": "loss", "value": math.nan}, "value", "finite"),
    ({"key": "loss", "value": math.inf}, "value", "finite"),
    ({"key": "loss", "value": 10**400}, "value", "finite"),
    ({"key": "loss", "value": "0.5"}, "value", "number"),
    ({"key": "loss", "value": True}, "value", "number"),
    ({"key": "loss"}, "value", "required"),
    ({"key": "", "value": 1}, "key", "empty"),
    ({"value": 1}, "key", "required"),
    ({"key": "x" * 251, "value": 1}, "key", "250"),
    ({"key": "bad\x00key", "value": 1}, "key", "printable"),
    ({"key": "tab\tkey", "value": 1}, "key", "printable"),
    ({"key": 7, "value": 1}, "key", "string"),
    ({"key": "loss", "value": 1, "step": 1.5}, "step", "integer"),
    ({"key": "loss", "value": 1, "step": "3"}, "step", "integer"),
    ({"key": "loss", "value": 1, "ts": "yesterday"}, "ts", "ISO 8601"),
    ({"key": "loss", "value": 1, "ts": "2999-01-01T00:00:00Z"}, "ts", "between"),
])
def test_one_bad_entry_refuses_the_whole_batch(product, data_scientist, entry, field, message):
    v1 = make_version(make_model(product, data_scientist), data_scientist, "1")
    entries = [{"key": "ok", "value": i, "step": i} for i in range(5)] + [entry]
    with pytest.raises(ValidationError) as exc:
        services.model_metrics_log(actor=data_scientist, version=v1, entries=entries)
    errors = exc.value.message_dict
    assert list(errors) == [f"metrics[5].{field}"], errors
    assert message in errors[f"metrics[5].{field}"][0]
    assert Point.objects.count() == 0 and ModelMetric.objects.count() == 0


def test_batch_limits(product, data_scientist):
    v1 = make_version(make_model(product, data_scientist), data_scientist, "1")
    too_many = [{"key": "loss", "value": 0.1, "step": i} for i in range(10_001)]
    with pytest.raises(ValidationError) as exc:
        services.model_metrics_log(actor=data_scientist, version=v1, entries=too_many)
    assert "At most 10,000" in exc.value.message_dict["metrics"][0]
    with pytest.raises(ValidationError):
        services.model_metrics_log(actor=data_scientist, version=v1, entries=[])
    many_bad = [{"key": "", "value": 1}] * 200
    with pytest.raises(ValidationError) as exc:
        services.model_metrics_log(actor=data_scientist, version=v1, entries=many_bad)
    assert len(exc.value.message_dict) == 51 and "nothing was stored" in exc.value.message_dict["metrics"][0]
    assert services.model_metrics_log(actor=data_scientist, version=v1, entries=too_many[:10_000]) == 10_000
    assert Point.objects.count() == 10_000


def test_production_summaries_show_change_since_previous_production(product, data_scientist, django_assert_num_queries):
    other = factories.ProductFactory()
    ds2 = factories.member(other, "data_scientist")
    model = make_model(product, data_scientist, primary_metric="loss", higher_is_better=False)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    log(v1, data_scientist, {"loss": 0.5}, step=10)
    log(v2, data_scientist, {"loss": 0.4}, step=10)
    services.model_version_promote(actor=data_scientist, version=v1)
    services.model_version_promote(actor=data_scientist, version=v2)
    unreleased = make_model(product, data_scientist, name="draft")
    other_model = make_model(other, ds2, name="solo")
    services.model_version_promote(actor=ds2, version=make_version(other_model, ds2, "a"))
    with django_assert_num_queries(5):
        summaries = selectors.production_summaries(products=[product, other])
    by_name = {s.model.name: s for rows in summaries.values() for s in rows}
    s = by_name["ranker"]
    assert (s.version.version, s.value, s.previous_version.version, s.previous_value) == ("2", 0.4, "1", 0.5)
    assert s.change == pytest.approx(-0.1) and s.improved is True
    assert by_name["draft"].version is None and by_name["solo"].value is None
    assert [x.model.name for x in summaries[other.pk]] == ["solo"]
    assert unreleased in [x.model for x in summaries[product.pk]]
    # A user sees only the products they are a member of.
    visible = selectors.production_summaries_for_user(user=ds2)
    assert list(visible) == [other.pk]


def test_model_comparison_marks_best_and_builds_curves(product, data_scientist):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    for v, scale in ((v1, 1.0), (v2, 0.8)):
        entries = [{"key": "loss", "value": scale / (s + 1), "step": s, "ts": (T0 + timedelta(seconds=s)).isoformat()}
                   for s in range(2500)]
        entries.append({"key": "accuracy", "value": 0.8 if v is v1 else 0.85})
        services.model_metrics_log(actor=data_scientist, version=v, entries=entries)
    cmp = selectors.model_comparison(model=model, curve_points=500)
    assert cmp.keys == ["accuracy", "loss"]
    assert cmp.best == {"accuracy": {v2.pk}, "loss": {v2.pk}}
    assert cmp.higher_is_better == {"accuracy": True, "loss": False}
    assert list(cmp.curves) == ["loss"]
    (first, buckets1), (second, _) = cmp.curves["loss"]
    assert (first, second) == (v1, v2) and len(buckets1) <= 500 and buckets1[-1].step == 2499
