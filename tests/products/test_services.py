import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from pmhub.models import AuditEvent
from products import services
from products.models import Membership

pytestmark = pytest.mark.django_db


def test_role_change_is_audited(product, pm, user_factory):
    user = user_factory(username="dana")
    services.membership_set(actor=pm, product=product, user=user, role="viewer")
    services.membership_set(actor=pm, product=product, user=user, role="data_scientist")
    events = list(AuditEvent.objects.filter(product=product).order_by("id").values_list("action", "data"))
    assert events[-2][0] == "membership.added"
    assert events[-1] == ("membership.role_changed", {"user": "dana", "from": "viewer", "to": "data_scientist"})


def test_viewer_cannot_change_roles(product, viewer, pm):
    with pytest.raises(PermissionDenied):
        services.membership_set(actor=viewer, product=product, user=viewer, role="pm")
    assert Membership.objects.get(product=product, user=viewer).role == "viewer"


def test_outsider_gets_404_not_403(product, outsider):
    with pytest.raises(Http404):
        services.product_update(actor=outsider, product=product, name="x")


def test_update_rejects_unknown_fields(product, pm):
    with pytest.raises(ValidationError):
        services.product_update(actor=pm, product=product, id=99)


def test_delete_is_audited(product, pm):
    slug = product.slug
    services.product_delete(actor=pm, product=product)
    assert AuditEvent.objects.get(action="product.deleted").data == {"slug": slug}


def test_delete_takes_the_products_kpi_and_model_series_along(product, pm):
    """KPIs and model metrics protect their series: deleting the product must not leave points behind."""
    from datetime import datetime, timezone

    from kpis.ml.services import aimodel_create, model_metrics_log_simple, model_version_create
    from kpis.services.kpis import kpi_create, kpi_points_ingest
    from kpis.timeseries.models import Point, Rollup, Series
    from kpis.timeseries.services import PointIn

    kpi = kpi_create(actor=pm, product=product, name="CSAT")
    kpi_points_ingest(kpi=kpi, points=[PointIn(ts=datetime(2026, 1, 1, tzinfo=timezone.utc), value=4.5)])
    model = aimodel_create(actor=pm, product=product, name="ranker")
    version = model_version_create(actor=pm, model=model, version="v1")
    model_metrics_log_simple(actor=pm, version=version, metrics={"auc": 0.9})
    other = Series.objects.create(kind="kpi", key="someone-else")
    assert Series.objects.count() == 3 and Point.objects.count() == 2

    services.product_delete(actor=pm, product=product)
    assert list(Series.objects.all()) == [other]
    assert not Point.objects.exists() and not Rollup.objects.exists()
