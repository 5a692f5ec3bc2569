"""A KPI of category model follows the production version's latest value of a metric key."""
import pytest
from django.core.exceptions import ValidationError

from kpis.ml import services
from kpis.models import KPI
from kpis.timeseries.models import Series
from kpis.timeseries.selectors import series_latest
from tests.kpis.aimodel_helpers import log, make_model, make_version

pytestmark = pytest.mark.django_db


def _kpi(product, category=KPI.Category.MODEL):
    series = Series.objects.create(kind=Series.Kind.KPI, key="reply-accuracy")
    return KPI.objects.create(product=product, series=series, name="Reply accuracy", key="reply-accuracy",
                              category=category, target=0.9)


def test_switching_production_version_moves_the_kpi(product, pm, data_scientist, django_capture_on_commit_callbacks):
    model = make_model(product, data_scientist)
    v1, v2 = make_version(model, data_scientist, "1"), make_version(model, data_scientist, "2")
    log(v1, data_scientist, {"accuracy": 0.81}, step=5)
    log(v2, data_scientist, {"accuracy": 0.88}, step=5)
    kpi = _kpi(product)
    with django_capture_on_commit_callbacks(execute=True):
        services.kpi_model_feed_set(actor=pm, kpi=kpi, model=model, metric_key="accuracy")
    assert series_latest(series_id=kpi.series_id) is None  # nothing in production yet

    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(actor=data_scientist, version=v1)
    assert series_latest(series_id=kpi.series_id)[2] == 0.81
    with django_capture_on_commit_callbacks(execute=True):
        services.model_version_promote(actor=data_scientist, version=v2)
    assert series_latest(series_id=kpi.series_id)[2] == 0.88
    # New values logged for the production version follow too; other versions' do not.
    with django_capture_on_commit_callbacks(execute=True):
        log(v1, data_scientist, {"accuracy": 0.99}, step=6)
    assert series_latest(series_id=kpi.series_id)[2] == 0.88
    with django_capture_on_commit_callbacks(execute=True):
        log(v2, data_scientist, {"accuracy": 0.9}, step=6)
    assert series_latest(series_id=kpi.series_id)[2] == 0.9


def test_feed_refusals(product, pm, data_scientist):
    model = make_model(product, data_scientist)
    with pytest.raises(ValidationError) as exc:
        services.kpi_model_feed_set(actor=pm, kpi=_kpi(product, KPI.Category.REVENUE), model=model, metric_key="")
    assert set(exc.value.message_dict) == {"kpi", "metric_key"}
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.kpi_model_feed_set(actor=data_scientist, kpi=KPI.objects.get(), model=model, metric_key="accuracy")


def test_feed_through_api_and_kpi_page_panel(api, client, product, pm, data_scientist, django_capture_on_commit_callbacks):
    model = make_model(product, data_scientist)
    v1 = make_version(model, data_scientist, "1")
    log(v1, data_scientist, {"accuracy": 0.83})
    services.model_version_promote(actor=data_scientist, version=v1)
    kpi = _kpi(product)
    api.as_user(data_scientist)
    r = api.post(f"/api/v1/models/{model.pk}/kpi-feed/", {"kpi": kpi.pk, "metric_key": "accuracy"}, format="json")
    assert r.status_code == 403  # KPIs are the PM's
    api.as_user(pm)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/models/{model.pk}/kpi-feed/", {"kpi": kpi.pk, "metric_key": "accuracy"}, format="json")
    assert r.status_code == 200 and r.json()["metric_key"] == "accuracy"
    assert series_latest(series_id=kpi.series_id)[2] == 0.83

    from django.test import RequestFactory

    from kpis.ml.panels import kpi_model_feed

    request = RequestFactory().get("/")
    request.user = pm
    html = kpi_model_feed(request, kpi)
    assert "Fed by a model" in html and "0.83" in html and model.name in html
    r = api.post(f"/api/v1/models/{model.pk}/kpi-feed/", {"kpi": kpi.pk, "metric_key": ""}, format="json")
    assert r.status_code == 200 and r.json()["model"] is None
    assert kpi_model_feed(request, kpi) == ""


def test_kpi_page_says_which_model_feeds_it(client, product, pm, data_scientist):
    from kpis.ml.models import KpiModelFeed

    model = make_model(product, data_scientist)
    kpi = _kpi(product)
    KpiModelFeed.objects.create(kpi=kpi, model=model, metric_key="accuracy")
    client.force_login(pm)
    html = client.get(f"/kpis/{product.slug}/k/{kpi.key}/").content.decode()
    assert "Fed by a model" in html and "No version in production yet" in html
