import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import ApiToken
from tests.factories import ApiTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token():
    return ApiTokenFactory(user=UserFactory(contributor=True))


def get_projects(header=None):
    client = APIClient()
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    return client.get("/api/v1/projects", **extra)


def test_a_live_token_authenticates(token):
    assert get_projects(f"Bearer {token.secret}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "bearer",
        "Token skt_pat_" + "a" * 43,
        "Basic dXNlcjpwYXNz",
        "Bearer skt_pat_" + "a" * 43 + " extra",
        "Bearer  skt_pat_" + "a" * 43,
        "Bearer skt_pat_" + "a" * 43,  # well-formed but unknown
        "Bearer skt_pat_\x00" + "a" * 42,
        "Bearer " + "x" * 5000,
    ],
)
def test_missing_malformed_and_unknown_credentials_are_401(db, header):
    response = get_projects(header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_doubled_authorization_header_is_401(token):
    # WSGI servers join repeated headers with a comma; two valid tokens are still refused.
    assert get_projects(f"Bearer {token.secret}, Bearer {token.secret}").status_code == 401


def test_a_revoked_token_is_401_at_once(token):
    services.revoke_api_token(token=token)
    assert get_projects(f"Bearer {token.secret}").status_code == 401


def test_an_expired_token_is_401(token):
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert get_projects(f"Bearer {token.secret}").status_code == 401


def test_a_token_expiring_in_the_future_works(token):
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert get_projects(f"Bearer {token.secret}").status_code == 200


def test_a_deactivated_users_token_is_401(token):
    token.user.is_active = False
    token.user.save(update_fields=["is_active"])
    assert get_projects(f"Bearer {token.secret}").status_code == 401


def test_use_is_recorded_at_most_once_a_minute(token, django_assert_num_queries):
    get_projects(f"Bearer {token.secret}")
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    get_projects(f"Bearer {token.secret}")
    token.refresh_from_db()
    assert token.last_used_at == first_use


def test_tokens_never_appear_in_logs(caplog, capfd, token):
    caplog.set_level(logging.DEBUG)
    get_projects(f"Bearer {token.secret}")
    get_projects(f"Bearer {token.secret}x")
    services.revoke_api_token(token=token)
    get_projects(f"Bearer {token.secret}")
    client = APIClient()
    client.force_authenticate(token.user)
    created = client.post("/api/v1/tokens", {"name": "new"}).json()["token"]
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "request.finished" in logged
    assert token.secret not in logged
    assert created not in logged
