import csv
import io

import pytest

from products.models import Membership
from tests.factories import PASSWORD, ProductFactory, member
from tests.utils import page_get

from .helpers import make_kpi

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_products():
    mine = ProductFactory(name="Smart Reply", slug="smart-reply", business_objective="Cut first-response time by 30%.")
    secret = ProductFactory(name="Secret Project", slug="secret-project", business_objective="Nobody may know.")
    make_kpi(mine, "csat", name="CSAT", values=[4.1, 4.3, 4.4], target=4.2, warning=4.0, critical=3.5)
    make_kpi(secret, "hidden_kpi", name="Hidden KPI", values=[1, 2], target=3)
    return mine, secret


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_portfolio_shows_objective_kpis_with_status_words_and_drilldowns(client, two_products):
    mine, _ = two_products
    viewer = member(mine, "viewer", username="eve")
    login(client, viewer)
    html = page_get(client, "/portfolio/").content.decode()
    assert "Smart Reply" in html and "Cut first-response time by 30%." in html
    assert "CSAT" in html and "4.4" in html and "On track" in html
    assert "<polyline" in html  # sparkline
    assert "Secret Project" not in html and "Hidden KPI" not in html
    # every KPI number links somewhere that explains it (the product page until the KPI page exists)
    assert 'href="/products/smart-reply/' in html


@pytest.mark.parametrize("period,label", [("week", "Last 7 days"), ("month", "Last 30 days"), ("quarter", "Last 13 weeks"),
                                          ("bogus", "Last 30 days")])
def test_period_switcher(client, two_products, period, label):
    viewer = member(two_products[0], "viewer", username="eve")
    login(client, viewer)
    html = page_get(client, f"/portfolio/?period={period}").content.decode()
    assert label.lower() in html.lower()


def test_product_without_kpis_or_data_renders_sensibly(client):
    empty = ProductFactory(name="Empty One")
    nodata = ProductFactory(name="No Data Yet")
    viewer = member(empty, "viewer", username="eve")
    Membership.objects.create(user=viewer, product=nodata, role="viewer")
    make_kpi(nodata, "signups", name="Signups", values=None, target=100)
    login(client, viewer)
    html = page_get(client, "/portfolio/").content.decode()
    assert "No headline KPIs yet" in html
    assert "Signups" in html and "No data" in html


def test_viewer_home_is_the_portfolio_pm_home_stays(client, two_products):
    mine, secret = two_products
    viewer = member(mine, "viewer", username="eve")
    login(client, viewer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/portfolio/"
    pm = member(secret, "pm", username="priya")
    client.logout()
    login(client, pm)
    assert client.get("/").status_code == 200


def test_csv_export_holds_only_visible_products(client, two_products):
    mine, _ = two_products
    viewer = member(mine, "viewer", username="eve")
    login(client, viewer)
    response = page_get(client, "/portfolio/export.csv?period=week")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["product", "product_status", "business_objective", "kpi"]
    assert {r[0] for r in rows[1:]} == {"Smart Reply"}
    assert rows[1][3] == "CSAT" and rows[1][5] == "4.4" and rows[1][7] == "On track"
    assert "Secret" not in response.content.decode()


def test_csv_export_defuses_formulas(client):
    product = ProductFactory(name="=HYPERLINK(\"http://evil\")", slug="evil")
    viewer = member(product, "viewer", username="eve")
    login(client, viewer)
    rows = list(csv.reader(io.StringIO(client.get("/portfolio/export.csv").content.decode())))
    assert rows[1][0].startswith("'=")


def test_names_are_escaped(client):
    product = ProductFactory(name="<script>alert(1)</script>", slug="xss", business_objective="<b>bold</b>")
    viewer = member(product, "viewer", username="eve")
    login(client, viewer)
    html = client.get("/portfolio/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


def test_anonymous_is_sent_to_login(client):
    response = client.get("/portfolio/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_user_without_products_gets_a_message(client, outsider):
    login(client, outsider)
    assert "not a member of any product" in client.get("/portfolio/").content.decode()
