"""The permission matrix: each role x read and write, on pages and API."""
import pytest
from django.urls import reverse

from products.models import Product
from tests.factories import PASSWORD
from tests.utils import page_get

pytestmark = pytest.mark.django_db

ROLES = ["pm", "data_scientist", "viewer"]


@pytest.fixture
def users(product, pm, data_scientist, viewer, outsider, staff):
    return {"pm": pm, "data_scientist": data_scientist, "viewer": viewer, "outsider": outsider, "staff": staff}


@pytest.mark.parametrize("who,can_read,can_edit", [
    ("pm", True, True),
    ("data_scientist", True, False),
    ("viewer", True, False),
    ("outsider", False, False),
    ("staff", True, True),
])
def test_api_product_read_and_write(api, product, users, who, can_read, can_edit):
    api.as_user(users[who])
    url = f"/api/v1/products/{product.slug}/"
    response = api.get(url)
    assert response.status_code == (200 if can_read else 404)
    response = api.patch(url, {"description": "changed"}, format="json")
    assert response.status_code == (200 if can_edit else 403 if can_read else 404)
    product.refresh_from_db()
    assert (product.description == "changed") == can_edit


@pytest.mark.parametrize("who,visible", [("pm", True), ("viewer", True), ("outsider", False), ("staff", True)])
def test_api_list_shows_only_member_products(api, product, product_factory, users, who, visible):
    other = product_factory()
    api.as_user(users[who])
    slugs = [p["slug"] for p in api.get("/api/v1/products/").json()["results"]]
    assert (product.slug in slugs) == visible
    assert (other.slug in slugs) == (who == "staff")


@pytest.mark.parametrize("who,status", [("pm", 204), ("data_scientist", 403), ("viewer", 403), ("outsider", 404)])
def test_api_delete(api, product, users, who, status):
    api.as_user(users[who])
    assert api.delete(f"/api/v1/products/{product.slug}/").status_code == status
    assert Product.objects.filter(pk=product.pk).exists() == (status != 204)


@pytest.mark.parametrize("who,status", [("pm", 201), ("data_scientist", 403), ("viewer", 403), ("outsider", 404)])
def test_api_members_manage(api, product, users, user_factory, who, status):
    newcomer = user_factory(username="newcomer")
    api.as_user(users[who])
    response = api.post(f"/api/v1/products/{product.slug}/members/", {"username": "newcomer", "role": "viewer"}, format="json")
    assert response.status_code == status
    assert product.memberships.filter(user=newcomer).exists() == (status == 201)


def test_anonymous_api_gets_401(api, product):
    assert api.get("/api/v1/products/").status_code == 401
    assert api.post("/api/v1/products/", {"name": "x"}, format="json").status_code == 401
    assert api.get(f"/api/v1/products/{product.slug}/").status_code == 401


@pytest.mark.parametrize("url_name", ["home", "profile", "products:list", "products:create"])
def test_anonymous_pages_redirect_to_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_product_page_redirects(client, product):
    response = client.get(reverse("products:detail", args=[product.slug]))
    assert response.status_code == 302


@pytest.mark.parametrize("who,detail,edit_get,edit_post", [
    ("pm", 200, 200, 302),
    ("data_scientist", 200, 403, 403),
    ("viewer", 200, 403, 403),
    ("outsider", 404, 404, 404),
    ("staff", 200, 200, 302),
])
def test_pages_matrix(client, product, users, who, detail, edit_get, edit_post):
    client.login(username=users[who].username, password=PASSWORD)
    page_get(client, reverse("products:detail", args=[product.slug]), status=detail)
    assert client.get(reverse("products:edit", args=[product.slug])).status_code == edit_get
    response = client.post(reverse("products:edit", args=[product.slug]),
                           {"name": "Renamed", "slug": product.slug, "status": "active"})
    assert response.status_code == edit_post
    product.refresh_from_db()
    assert (product.name == "Renamed") == (edit_post == 302)


def test_viewer_sees_no_edit_controls(client, product, viewer):
    client.login(username=viewer.username, password=PASSWORD)
    html = page_get(client, reverse("products:detail", args=[product.slug])).content.decode()
    assert "Edit product" not in html
    assert "Add or change member" not in html
    assert "Remove" not in html


def test_viewer_member_post_refused(client, product, viewer, user_factory):
    user_factory(username="someone")
    client.login(username=viewer.username, password=PASSWORD)
    response = client.post(reverse("products:member-add", args=[product.slug]), {"username": "someone", "role": "pm"})
    assert response.status_code == 403
    assert not product.memberships.filter(user__username="someone").exists()


def test_product_create_needs_permission(api, viewer, pm):
    api.as_user(viewer)
    response = api.post("/api/v1/products/", {"name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert not Product.objects.filter(name="Sneaky").exists()
