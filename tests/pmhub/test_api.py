"""API plumbing shared by every app: error answers and what the schema says of them."""
import pytest

from tests.utils import assert_matches_schema

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_a_json_404(api, pm):
    """Found by the API fuzz test: a URL no route matches (a slug with a space) answered an HTML page."""
    api.as_user(pm)
    r = api.get("/api/v1/products/no%20such/members/")
    assert r.status_code == 404 and r["Content-Type"] == "application/json"
    assert r.json() == {"detail": "Not found."}
    assert_matches_schema(api, r, "GET", "/api/v1/products/{product_slug}/members/")
    # Pages keep their HTML 404.
    assert "text/html" in api.get("/kpis/no/such/page/").get("Content-Type", "")


def test_schema_documents_error_answers(api, pm, product, viewer):
    """Every operation documents the errors it can give, with the one `Error` body."""
    api.as_user(viewer)
    schema = api.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    kpi_update = schema["paths"]["/api/v1/kpis/{id}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "429", "503"} <= set(kpi_update)
    assert kpi_update["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    product_list = schema["paths"]["/api/v1/products/"]["get"]["responses"]
    assert {"200", "400", "401", "404", "429", "503"} <= set(product_list) and "403" not in product_list

    # And real refusals match it: a viewer's write, a page past the end, bad input, no token.
    assert_matches_schema(api, api.patch(f"/api/v1/products/{product.slug}/", {"name": "x"}, format="json"),
                          "PATCH", "/api/v1/products/{slug}/")
    assert_matches_schema(api, api.get("/api/v1/products/?page=99"), "GET", "/api/v1/products/")
    api.as_user(pm)
    assert_matches_schema(api, api.post("/api/v1/kpis/", {"product": product.slug}, format="json"),
                          "POST", "/api/v1/kpis/")
    api.credentials()
    r = api.get("/api/v1/products/")
    assert r.status_code == 401
    assert_matches_schema(api, r, "GET", "/api/v1/products/")
