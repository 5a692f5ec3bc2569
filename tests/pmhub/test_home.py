"""Issue 18.12: the PM's home shows what a PM opens pmhub for: their products' KPIs off
track or at risk and open alerts, the running sprints, new feedback; nothing of products
they are not a member of; a sensible page with no data at all."""
import datetime

import pytest
from django.utils import timezone

from feedback.services import feedback_create
from kpis.services.alerts import alert_open
from products.sprints.services import sprint_create, sprint_start
from tests.factories import PASSWORD, ProductFactory, member
from tests.kpis.factories import add_points, make_kpi

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.fixture
def world(product, pm):
    product.name = "Smart Reply"
    product.save()
    kpi = make_kpi(product, "csat", name="Support CSAT", unit="%", target=90, warning_threshold=85,
                   critical_threshold=80)
    add_points(kpi, [55], start=timezone.now() - datetime.timedelta(hours=1))
    fine = make_kpi(product, "activation", name="Activation", target=10)
    add_points(fine, [12], start=timezone.now() - datetime.timedelta(hours=1))
    alert_open(kpi=kpi, kind="threshold", severity="critical", message="Support CSAT 55% is below 80%.")
    today = timezone.localdate()
    sprint = sprint_create(actor=pm, product=product, name="Sprint 7", start_date=today,
                           end_date=today + datetime.timedelta(days=13))
    sprint_start(actor=pm, sprint=sprint)
    feedback_create(actor=pm, product=product, text="Please add dark mode to the reply panel.")
    secret = ProductFactory(name="Secret Project", slug="secret")
    other_pm = member(secret, "pm", username="other-pm")
    hidden = make_kpi(secret, "hidden", name="Hidden KPI", target=100)
    add_points(hidden, [1], start=timezone.now() - datetime.timedelta(hours=1))
    feedback_create(actor=other_pm, product=secret, text="Secret complaint.")
    return product


def test_pm_home_shows_attention_sprints_and_new_feedback(client, pm, world):
    login(client, pm)
    page = client.get("/").content.decode()
    attention = page.split('data-testid="home-attention"', 1)[1].split("</section>", 1)[0]
    assert "Support CSAT" in attention and "Off track" in attention and "Support CSAT 55% is below 80%." in attention
    assert "Activation" not in attention  # meets its target
    sprints = page.split('data-testid="home-sprints"', 1)[1].split("</section>", 1)[0]
    assert "Sprint 7" in sprints and "Smart Reply" in sprints
    feedback = page.split('data-testid="home-feedback"', 1)[1].split("</section>", 1)[0]
    assert "Please add dark mode to the reply panel." in feedback
    for hidden in ("Secret", "Hidden KPI"):
        assert hidden not in page


def test_pm_home_with_no_data_says_so(client, pm):
    login(client, pm)
    page = client.get("/").content.decode()
    assert "Nothing needs attention" in page
    assert "No sprint is running on your products." in page and "No untriaged feedback." in page


def test_home_queries_do_not_grow_with_products(client, pm, world, django_assert_max_num_queries):
    from products.models import Membership

    login(client, pm)
    client.get("/")
    for i in range(4):
        extra = ProductFactory(name=f"Extra {i}")
        Membership.objects.create(user=pm, product=extra, role="pm")
        kpi = make_kpi(extra, f"k{i}", target=5)
        add_points(kpi, [1], start=timezone.now() - datetime.timedelta(hours=1))
        sprint_start(actor=pm, sprint=sprint_create(actor=pm, product=extra, name=f"S{i}",
                                                    start_date=timezone.localdate(),
                                                    end_date=timezone.localdate() + datetime.timedelta(days=7)))
    with django_assert_max_num_queries(20):
        page = client.get("/").content.decode()
    assert page.count("Extra ") >= 8
