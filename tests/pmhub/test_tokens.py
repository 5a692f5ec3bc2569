import pytest
from django.urls import reverse

from pmhub.models import ApiToken
from pmhub.services import api_token_create, api_token_revoke, hash_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_is_stored_hashed_and_authenticates(api, pm, product):
    token, raw = api_token_create(user=pm, name="ci")
    assert raw.startswith("pmh_") and len(raw) > 40
    assert token.key_hash == hash_token(raw)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().first())
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/products/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_refused(api, pm):
    token, raw = api_token_create(user=pm, name="ci")
    api_token_revoke(token=token)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api.get("/api/v1/products/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer pmh_notarealtoken", "Bearer \xff\xfe", "Token nope"])
def test_malformed_tokens_refused(api, pm, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    response = api.get("/api/v1/products/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_token_of_user_cannot_reach_another_product(api, pm, product_factory):
    other = product_factory()
    api.as_user(pm)
    assert api.get(f"/api/v1/products/{other.slug}/").status_code == 404
    assert api.patch(f"/api/v1/products/{other.slug}/", {"name": "x"}, format="json").status_code == 404


def test_token_for_inactive_user_refused(api, pm):
    _, raw = api_token_create(user=pm, name="ci")
    pm.is_active = False
    pm.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/products/").status_code == 401


def test_profile_page_creates_shows_once_and_revokes(client, pm):
    client.login(username=pm.username, password=PASSWORD)
    response = client.post(reverse("profile"), {"name": "notebook"})
    html = response.content.decode()
    token = ApiToken.objects.get(user=pm, name="notebook")
    start = html.index('data-testid="new-token"')
    raw = html[html.index('value="', start - 200) + 7:]
    raw = raw[:raw.index('"')]
    assert hash_token(raw) == token.key_hash
    again = client.get(reverse("profile")).content.decode()
    assert raw not in again and token.prefix in again
    client.post(reverse("token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, pm, viewer):
    token, _ = api_token_create(user=viewer, name="theirs")
    client.login(username=pm.username, password=PASSWORD)
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_name_required(client, pm):
    client.login(username=pm.username, password=PASSWORD)
    response = client.post(reverse("profile"), {"name": ""})
    assert "This field is required" in response.content.decode()
    assert not ApiToken.objects.filter(user=pm).exists()
