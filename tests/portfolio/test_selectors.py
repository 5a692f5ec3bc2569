from datetime import date, timedelta

import pytest
from django.utils import timezone

from kpis.selectors.portfolio import kpi_status_of
from portfolio.selectors import portfolio_for_user
from products.roadmap.models import RoadmapItem
from tests.factories import ProductFactory, member

from .helpers import make_kpi

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value,direction,expected", [
    (None, "higher", "no_data"),
    (95, "higher", "on_track"),
    (85, "higher", "at_risk"),  # misses the target, not past the warning threshold (issue 18.6)
    (79, "higher", "at_risk"),
    (70, "higher", "off_track"),
    (80, "higher", "at_risk"),  # on the warning threshold is not past it, but short of target
    (2.0, "lower", "on_track"),
    (3.5, "lower", "at_risk"),
    (5.0, "lower", "off_track"),
])
def test_kpi_status_follows_thresholds_and_direction(value, direction, expected):
    thresholds = {"higher": (90, 80, 75), "lower": (2.5, 3, 4)}[direction]
    target, warning, critical = thresholds
    assert kpi_status_of(value=value, direction=direction, target=target, warning=warning, critical=critical) == expected


def test_kpi_without_thresholds_is_at_risk_while_it_misses_target():
    assert kpi_status_of(value=9, direction="higher", target=10, warning=None, critical=None) == "at_risk"
    assert kpi_status_of(value=10, direction="higher", target=10, warning=None, critical=None) == "on_track"
    assert kpi_status_of(value=10, direction="higher", target=None, warning=None, critical=None) == "on_track"


def test_viewer_sees_only_products_they_are_a_member_of():
    mine = ProductFactory(name="Mine")
    ProductFactory(name="Not mine")
    viewer = member(mine, "viewer", username="eve")
    portfolio = portfolio_for_user(user=viewer)
    assert [row.product.name for row in portfolio.rows] == ["Mine"]


def test_cards_hold_latest_value_change_and_sparkline():
    product = ProductFactory()
    viewer = member(product, "viewer")
    make_kpi(product, "conversion", values=[10, 11, 12, 13, 14], unit="%", target=12, warning=11, critical=9)
    row = portfolio_for_user(user=viewer, period="month").rows[0]
    card = row.kpis[0]
    assert card.latest == 14
    assert card.start_value == 10
    assert card.change == 4
    assert card.change_pct == pytest.approx(40)
    assert card.status == "on_track" and card.start_status == "at_risk"
    assert len(card.spark) == 31 and card.spark_svg
    assert card.improved is True
    # the period summary says the KPI crossed a threshold, from the data
    assert any(line.kind == "threshold" and "Conversion went from at risk to on track" in line.text
               for line in portfolio_for_user(user=viewer, period="month").summary)


def test_week_period_change_uses_value_a_week_ago():
    product = ProductFactory()
    viewer = member(product, "viewer")
    make_kpi(product, "latency", values=list(range(31)), days=30, direction="lower", unit="ms")
    card = portfolio_for_user(user=viewer, period="week").rows[0].kpis[0]
    assert card.latest == 30
    assert card.start_value == pytest.approx(23, abs=1)
    assert card.improved is False


def test_products_needing_attention_come_first():
    calm = ProductFactory(name="Alpha calm")
    burning = ProductFactory(name="Zulu burning")
    empty = ProductFactory(name="Beta empty")
    user = member(calm, "viewer", username="exec")
    for p in (burning, empty):
        from products.models import Membership
        Membership.objects.create(user=user, product=p, role="viewer")
    make_kpi(calm, "csat", values=[4.5, 4.6], target=4.2, warning=4.0, critical=3.5)
    make_kpi(burning, "csat", values=[4.5, 3.0], target=4.2, warning=4.0, critical=3.5)
    rows = portfolio_for_user(user=user).rows
    assert [r.product.name for r in rows] == ["Zulu burning", "Alpha calm", "Beta empty"]
    assert rows[0].status == "off_track" and "1 KPI off track" in rows[0].reasons
    assert rows[1].status == "on_track"
    assert rows[2].status == "no_data" and rows[2].kpis == []


def test_roadmap_progress_counts_shipped_in_period_in_progress_and_slipping():
    product = ProductFactory()
    viewer = member(product, "viewer")
    now = timezone.now()
    RoadmapItem.objects.create(product=product, title="Tone control", status="shipped", shipped_at=now - timedelta(days=3))
    RoadmapItem.objects.create(product=product, title="Old launch", status="shipped", shipped_at=now - timedelta(days=60))
    RoadmapItem.objects.create(product=product, title="Doing", status="in_progress", target_date=date.today() + timedelta(days=5))
    RoadmapItem.objects.create(product=product, title="Late", status="planned", target_date=date.today() - timedelta(days=2))
    RoadmapItem.objects.create(product=product, title="Dropped late", status="dropped", target_date=date.today() - timedelta(days=2))
    portfolio = portfolio_for_user(user=viewer, period="week")
    row = portfolio.rows[0]
    assert row.roadmap == {"shipped": 1, "in_progress": 1, "slipping": 1}
    assert row.status == "at_risk"
    shipped = [line.text for line in portfolio.summary if line.kind == "shipped"]
    assert len(shipped) == 1 and "Tone control" in shipped[0]
    assert portfolio_for_user(user=viewer, period="quarter").rows[0].roadmap["shipped"] == 2


def test_queries_do_not_grow_with_products():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from products.models import Membership

    user = member(ProductFactory(), "viewer", username="exec")

    def add_products(n):
        for _ in range(n):
            product = ProductFactory()
            Membership.objects.create(user=user, product=product, role="viewer")
            for k in range(3):
                make_kpi(product, f"kpi-{k}", values=[1, 2, 3])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            portfolio = portfolio_for_user(user=user)
        return len(ctx.captured_queries), portfolio

    add_products(1)
    few, _ = count()
    add_products(5)
    many, portfolio = count()
    assert len(portfolio.rows) == 7 and sum(len(r.kpis) for r in portfolio.rows) == 18
    assert many == few <= 14


def test_open_alerts_are_counted_and_put_the_product_first():
    from kpis.services.alerts import alert_open

    calm = ProductFactory(name="Alpha")
    alarmed = ProductFactory(name="Omega")
    user = member(calm, "viewer", username="exec")
    from products.models import Membership
    Membership.objects.create(user=user, product=alarmed, role="viewer")
    make_kpi(calm, "csat", values=[4.5, 4.6], target=4.2)
    kpi = make_kpi(alarmed, "errors", values=[1, 1], direction="lower")
    alert_open(kpi=kpi, kind="source_failing", severity="critical", message="The source failed.")
    rows = portfolio_for_user(user=user).rows
    assert rows[0].product.name == "Omega"
    assert rows[0].alerts == {"open": 1, "critical": 1}
    assert rows[0].status == "off_track" and "1 open alert" in rows[0].reasons
    assert rows[1].alerts == {"open": 0, "critical": 0}


def test_production_model_metric_change_and_promotion_in_summary():
    from kpis.ml import services as ms

    product = ProductFactory(name="Smart Reply")
    pm = member(product, "pm", username="priya")
    viewer = member(product, "viewer", username="eve")
    model = ms.aimodel_create(actor=pm, product=product, name="replier", task="generation",
                              primary_metric="bleu", higher_is_better=True)
    v1 = ms.model_version_create(actor=pm, model=model, version="v1")
    v2 = ms.model_version_create(actor=pm, model=model, version="v2")
    ms.model_metrics_log_simple(actor=pm, version=v1, metrics={"bleu": 0.30})
    ms.model_metrics_log_simple(actor=pm, version=v2, metrics={"bleu": 0.34})
    ms.model_version_promote(actor=pm, version=v1)
    ms.model_version_promote(actor=pm, version=v2)
    portfolio = portfolio_for_user(user=viewer, period="week")
    (m,) = portfolio.rows[0].models
    assert m["version"] == "v2" and m["value"] == pytest.approx(0.34) and m["previous_version"] == "v1"
    assert m["change"] == pytest.approx(0.04) and m["improved"] is True
    promoted = [line.text for line in portfolio.summary if line.kind == "promoted"]
    assert any("replier v2 was promoted to production" in t for t in promoted)


def test_worse_production_model_needs_a_look():
    from kpis.ml import services as ms

    product = ProductFactory()
    pm = member(product, "pm", username="priya")
    model = ms.aimodel_create(actor=pm, product=product, name="ranker", primary_metric="ndcg")
    v1 = ms.model_version_create(actor=pm, model=model, version="1")
    v2 = ms.model_version_create(actor=pm, model=model, version="2")
    ms.model_metrics_log_simple(actor=pm, version=v1, metrics={"ndcg": 0.8})
    ms.model_metrics_log_simple(actor=pm, version=v2, metrics={"ndcg": 0.7})
    ms.model_version_promote(actor=pm, version=v1)
    ms.model_version_promote(actor=pm, version=v2)
    row = portfolio_for_user(user=pm).rows[0]
    assert row.models[0]["improved"] is False
    assert row.status == "at_risk" and any("worse than the previous version" in r for r in row.reasons)


def test_feedback_volume_and_sentiment_for_visible_products_only():
    from feedback.services import feedback_create

    mine = ProductFactory(name="Mine")
    other = ProductFactory(name="Other")
    pm = member(mine, "pm", username="priya")
    other_pm = member(other, "pm", username="olga")
    viewer = member(mine, "viewer", username="eve")
    feedback_create(actor=pm, product=mine, text="I love this, it is wonderful and fast!")
    feedback_create(actor=pm, product=mine, text="This is terrible, broken and useless. I hate it.")
    feedback_create(actor=pm, product=mine, text="The export button is on the left.")
    feedback_create(actor=pm, product=mine, text="Old news, great.", received_at=timezone.now() - timedelta(days=10))
    feedback_create(actor=other_pm, product=other, text="Awful awful awful")
    rows = portfolio_for_user(user=viewer, period="week").rows
    assert [r.product.name for r in rows] == ["Mine"]
    fb = rows[0].feedback
    assert fb["count"] == 3 and fb["previous_count"] == 1
    assert fb["positive"] == 1 and fb["negative"] == 1 and fb["neutral"] == 1


def test_change_of_a_percentage_is_in_points():
    from portfolio.selectors import fmt_change

    product = ProductFactory()
    viewer = member(product, "viewer")
    make_kpi(product, "rate", values=[33.0, 36.9], unit="%")
    make_kpi(product, "latency", values=[28.3, 30.7], unit="min")
    cards = {c.key: c for c in portfolio_for_user(user=viewer).rows[0].kpis}
    assert fmt_change(cards["rate"]) == "+3.9 pp"
    assert fmt_change(cards["latency"]) == "+2.4 min (+8.5%)"
