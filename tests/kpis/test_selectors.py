"""KPI selectors: visibility, cards for many products in few queries, before/after markers."""
from datetime import timedelta

import pytest
from django.utils import timezone

from kpis.selectors.kpis import kpi_cards, kpi_list_for_user, kpi_markers
from products.roadmap.models import RoadmapItem
from tests.factories import ProductFactory, member
from tests.kpis.factories import add_points, make_kpi


@pytest.fixture
def portfolio(db):
    user = None
    products = []
    for n in range(4):
        product = ProductFactory()
        user = member(product, "viewer", "exec")
        for k in range(3):
            kpi = make_kpi(product, f"kpi-{k}", target=10, warning_threshold=5, headline=k < 2)
            add_points(kpi, [3 + (i % 10) for i in range(24 * 20)], start=timezone.now() - timedelta(days=20),
                       step=timedelta(hours=1))
        products.append(product)
    ProductFactory()  # not the user's
    return user, products


def test_headline_cards_for_many_products_in_four_queries(portfolio, django_assert_num_queries):
    user, products = portfolio
    with django_assert_num_queries(4):
        cards = kpi_cards(kpi_list_for_user(user=user, headline_only=True))
    by_product = {}
    for card in cards:
        by_product.setdefault(card.kpi.product_id, []).append(card)
    assert set(by_product) == {p.pk for p in products}
    assert all(len(c) == 2 for c in by_product.values())
    card = by_product[products[0].pk][0]
    assert card.value is not None and card.status in ("on_track", "at_risk", "off_track")
    assert card.change_pct is not None and len(card.spark) >= 19 and card.kpi.target == 10


def test_list_is_limited_to_visible_products(portfolio):
    user, products = portfolio
    assert kpi_list_for_user(user=user).count() == 12
    outsider = member(ProductFactory(), "pm", "someone-else")
    assert kpi_list_for_user(user=outsider).count() == 0


def test_markers_give_average_before_and_after_shipping(product):
    kpi = make_kpi(product, "conversion")
    shipped = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
    add_points(kpi, [2.0] * (24 * 10), start=shipped - timedelta(days=10), step=timedelta(hours=1))
    add_points(kpi, [3.0] * (24 * 10), start=shipped, step=timedelta(hours=1))
    item = RoadmapItem.objects.create(product=product, title="New ranker", status="shipped", shipped_at=shipped)
    kpi.roadmap_items.add(item)
    [marker] = kpi_markers(kpi)
    assert marker.before == 2.0 and marker.after == 3.0 and marker.change_pct == pytest.approx(50.0)
