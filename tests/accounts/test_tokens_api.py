from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import ApiToken, hash_token
from tests.factories import ApiTokenFactory

pytestmark = pytest.mark.django_db


def test_creating_a_token_shows_the_secret_once_and_stores_only_its_hash(alice, api_client_for):
    client = api_client_for(alice)
    response = client.post("/api/v1/tokens", {"name": "laptop", "expires_in_days": 30})
    assert response.status_code == 201
    body = response.json()
    secret = body["token"]
    assert secret.startswith("skt_pat_") and len(secret) > 40
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.token_hash == hash_token(secret)
    assert secret not in {stored.name, stored.prefix, stored.token_hash}
    assert stored.expires_at - timezone.now() > timedelta(days=29, hours=23)
    listed = client.get("/api/v1/tokens").json()["results"]
    assert all("token" not in item for item in listed)
    assert {item["name"] for item in listed} >= {"laptop"}


def test_the_new_token_works_at_once(alice, api_client_for):
    from rest_framework.test import APIClient

    secret = api_client_for(alice).post("/api/v1/tokens", {"name": "ci"}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/projects").status_code == 200


def test_a_user_lists_only_their_own_tokens(alice, bob, api_client_for):
    ApiTokenFactory(user=bob, name="bob's")
    names = [t["name"] for t in api_client_for(alice).get("/api/v1/tokens").json()["results"]]
    assert "bob's" not in names


def test_revoking_is_effective_immediately_and_idempotent_per_owner(alice, bob, api_client_for):
    victim = ApiTokenFactory(user=alice)
    other = ApiTokenFactory(user=bob)
    client = api_client_for(alice)
    assert client.delete(f"/api/v1/tokens/{other.pk}").status_code == 404
    assert client.delete(f"/api/v1/tokens/{victim.pk}").status_code == 204
    victim.refresh_from_db()
    revoked_at = victim.revoked_at
    assert revoked_at is not None
    assert client.delete(f"/api/v1/tokens/{victim.pk}").status_code == 204
    victim.refresh_from_db()
    assert victim.revoked_at == revoked_at
    status = {t["id"]: t["status"] for t in client.get("/api/v1/tokens").json()["results"]}
    assert status[victim.pk] == "revoked"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "n" * 101},
        {"name": 5},
        {"name": "ok", "expires_in_days": 0},
        {"name": "ok", "expires_in_days": 3651},
        {"name": "ok", "expires_in_days": "5"},
        {"name": "ok", "expires_in_days": True},
        {"name": "ok", "expires_in_days": 10**30},
        {"name": "nul\x00"},
    ],
)
def test_token_creation_refuses_bad_input_with_422(alice, api_client_for, body):
    response = api_client_for(alice).post("/api/v1/tokens", body, format="json")
    assert response.status_code in (400, 422), response.content
    assert "error" in response.json()


def test_a_number_too_large_for_a_double_is_a_parse_error(alice, api_client_for):
    response = api_client_for(alice).generic(
        "POST",
        "/api/v1/tokens",
        '{"name": "ok", "expires_in_days": 1e400}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PARSE_ERROR"


def test_token_limits_are_accepted_at_the_edge(alice, api_client_for):
    response = api_client_for(alice).post(
        "/api/v1/tokens", {"name": "n" * 100, "expires_in_days": 3650}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("token_id", ["abc", "0", "-3", "1e3"])
def test_malformed_token_ids_are_400(alice, api_client_for, token_id):
    response = api_client_for(alice).delete(f"/api/v1/tokens/{token_id}")
    assert response.status_code == 400


def test_anonymous_cannot_list_tokens(anon_client):
    assert anon_client.get("/api/v1/tokens").status_code == 401
