"""export_product / import_product: one product and all that belongs to it, round trip."""
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kpis.models import KPI, Objective
from kpis.services.kpis import kpi_create, kpi_points_ingest, objective_create
from kpis.timeseries.models import Point, Series
from kpis.timeseries.services import PointIn
from pmhub.audit import audit_record
from pmhub.models import AuditEvent
from products.models import Membership, Product
from products.roadmap.models import RoadmapItem
from tests import factories

pytestmark = pytest.mark.django_db

UTC = timezone.utc


def snapshot(product):
    """Everything a user would see of the product, without database ids."""
    kpis = []
    for kpi in KPI.objects.filter(product=product).order_by("key"):
        points = list(Point.objects.filter(series=kpi.series).order_by("ts").values_list("ts", "step", "value"))
        kpis.append((kpi.key, kpi.name, kpi.target, kpi.objective.title if kpi.objective else None,
                     sorted(i.title for i in kpi.roadmap_items.all()), points, kpi.created_at))
    return {
        "product": (product.name, product.description, product.business_objective, product.status, product.created_at),
        "members": sorted(Membership.objects.filter(product=product).values_list("user__username", "role")),
        "roadmap": sorted(RoadmapItem.objects.filter(product=product).values_list(
            "title", "description", "horizon", "reach", "owner__username", "created_at")),
        "objectives": sorted(Objective.objects.filter(product=product).values_list("title", "start_date", "end_date")),
        "kpis": kpis,
    }


@pytest.fixture
def full_product(product_factory):
    product = product_factory(name="Smart <Reply>", slug="smart-reply", description="Drafts replies.\nTwo lines.")
    pm = factories.member(product, "pm", username="priya")
    factories.member(product, "viewer", username="eve")
    item = RoadmapItem.objects.create(product=product, title="Tone control", owner=pm, reach=1200, horizon="now")
    RoadmapItem.objects.create(product=product, title="Multilingual", horizon="later")
    objective = objective_create(actor=pm, product=product, title="Adoption", start_date=date(2026, 1, 1),
                                 end_date=date(2026, 3, 31))
    kpi = kpi_create(actor=pm, product=product, name="Acceptance rate", key="acceptance", target=0.4,
                     objective=objective, roadmap_items=[item])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    kpi_points_ingest(kpi=kpi, points=[PointIn(ts=start + timedelta(hours=i, microseconds=i), value=i / 10) for i in range(500)],
                      evaluate=False)
    kpi_create(actor=pm, product=product, name="Empty one", key="empty")
    audit_record(actor=pm, action="membership.added", product=product, target=product)
    # Another product must stay out of the export.
    other = product_factory(slug="other")
    other_kpi = kpi_create(actor=factories.member(other, "pm"), product=other, name="Other", key="other")
    kpi_points_ingest(kpi=other_kpi, points=[PointIn(ts=start, value=1.0)], evaluate=False)
    return product


def test_export_then_import_after_deletion_restores_everything(full_product, tmp_path):
    before = snapshot(full_product)
    path = tmp_path / "smart-reply.jsonl"
    call_command("export_product", "smart-reply", str(path))
    text = path.read_text()
    assert '"slug": "other"' not in text and '"key": "other"' not in text

    series_ids = list(KPI.objects.filter(product=full_product).values_list("series_id", flat=True))
    full_product.delete()
    Series.objects.filter(pk__in=series_ids).delete()
    assert Point.objects.count() == 1  # the other product's point

    out = io.StringIO()
    call_command("import_product", str(path), stdout=out)
    assert "Imported product 'smart-reply'" in out.getvalue()
    restored = Product.objects.get(slug="smart-reply")
    assert snapshot(restored) == before
    assert Point.objects.count() == 501


def test_import_as_a_copy_next_to_the_original(full_product, tmp_path):
    path = tmp_path / "export.jsonl"
    call_command("export_product", "smart-reply", str(path))
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="exists"):
        call_command("import_product", str(path))
    assert Product.objects.count() == 2  # nothing written by the refused import

    call_command("import_product", str(path), "--slug", "smart-reply-copy")
    copy = Product.objects.get(slug="smart-reply-copy")
    original, duplicate = snapshot(full_product), snapshot(copy)
    assert duplicate == original
    # The copy has series of its own: changing one never changes the other.
    assert not set(KPI.objects.filter(product=copy).values_list("series_id", flat=True)) & set(
        KPI.objects.filter(product=full_product).values_list("series_id", flat=True))
    assert AuditEvent.objects.count() == events


def test_import_creates_missing_users_inactive(full_product, tmp_path):
    from django.contrib.auth import get_user_model

    path = tmp_path / "export.jsonl"
    call_command("export_product", "smart-reply", str(path))
    full_product.delete()
    get_user_model().objects.filter(username="eve").delete()
    call_command("import_product", str(path))
    eve = get_user_model().objects.get(username="eve")
    assert not eve.is_active and not eve.has_usable_password()
    assert Membership.objects.get(user=eve).role == "viewer"


def test_import_refuses_a_file_that_is_not_an_export(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(CommandError, match="not a pmhub product export"):
        call_command("import_product", str(path))


def test_export_of_unknown_product_fails(tmp_path):
    with pytest.raises(CommandError, match="No product"):
        call_command("export_product", "nope", str(tmp_path / "x.jsonl"))
