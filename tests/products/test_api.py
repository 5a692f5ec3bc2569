import pytest

from products.models import Membership, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator(user_factory):
    from django.contrib.auth.models import Permission

    user = user_factory(username="creator")
    user.user_permissions.add(Permission.objects.get(codename="add_product"))
    return user


def test_create_product_makes_creator_pm(api, creator):
    api.as_user(creator)
    response = api.post("/api/v1/products/", {"name": "Fraud Shield", "business_objective": "Cut fraud losses"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "fraud-shield"
    assert body["role"] == "pm"
    assert Membership.objects.get(product__slug="fraud-shield").user == creator


@pytest.mark.parametrize("payload,field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "ok", "status": "bogus"}, "status"),
    ({"name": "ok", "slug": "not a slug!"}, "slug"),
    ({}, "name"),
])
def test_invalid_product_gives_field_errors_and_writes_nothing(api, creator, payload, field):
    api.as_user(creator)
    response = api.post("/api/v1/products/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert field in body["errors"]
    assert Product.objects.count() == 0


def test_duplicate_slug_refused(api, creator, product):
    api.as_user(creator)
    response = api.post("/api/v1/products/", {"name": "Other", "slug": product.slug}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()["errors"]
    assert Product.objects.count() == 1


def test_malformed_json_is_a_clear_400(api, creator):
    api.as_user(creator)
    response = api.post("/api/v1/products/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_last_pm_cannot_be_removed(api, product, pm):
    api.as_user(pm)
    membership = Membership.objects.get(product=product, user=pm)
    response = api.patch(f"/api/v1/products/{product.slug}/members/{membership.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["errors"]
    membership.refresh_from_db()
    assert membership.role == "pm"


def test_member_unknown_user(api, product, pm):
    api.as_user(pm)
    response = api.post(f"/api/v1/products/{product.slug}/members/", {"username": "ghost", "role": "viewer"}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["errors"]


def test_list_is_paginated_and_filterable(api, staff, product_factory):
    for i in range(3):
        product_factory(name=f"Alpha {i}", status="paused" if i else "active")
    api.as_user(staff)
    body = api.get("/api/v1/products/?status=paused&page_size=1").json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
