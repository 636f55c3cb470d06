from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Role, User, hash_token

pytestmark = pytest.mark.django_db


def call(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createuser_creates_a_user_who_can_sign_in_with_the_role():
    output = call("createuser", "Dora@Example.com", "--password", "s3cret-pass", "--role", "admin")
    user = User.objects.get(email="dora@example.com")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, False)
    assert user.check_password("s3cret-pass")
    assert "dora@example.com" in output
    client = APIClient()
    assert client.login(username="dora@example.com", password="s3cret-pass")


def test_createuser_without_password_makes_an_account_that_cannot_sign_in():
    call("createuser", "nopass@example.com")
    user = User.objects.get(email="nopass@example.com")
    assert user.role == Role.USER
    assert not user.has_usable_password()


def test_createuser_refuses_a_duplicate_email_in_any_case():
    call("createuser", "dup@example.com")
    with pytest.raises(CommandError, match="already exists"):
        call("createuser", "DUP@example.com")


def test_createuser_refuses_an_invalid_email_and_role():
    with pytest.raises(CommandError, match="valid email"):
        call("createuser", "not-an-email")
    with pytest.raises(CommandError):
        call("createuser", "ok@example.com", "--role", "emperor")


def test_create_api_token_prints_only_a_working_token():
    call("createuser", "cli@example.com", "--role", "contributor")
    output = call("create_api_token", "cli@example.com", "--name", "ci", "--expires-days", "7")
    secret = output.strip()
    assert output == secret + "\n"
    assert secret.startswith("skt_pat_")
    token = ApiToken.objects.get(token_hash=hash_token(secret))
    assert token.name == "ci"
    assert token.expires_at is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/projects").status_code == 200


def test_create_api_token_refuses_unknown_users_and_bad_expiry():
    with pytest.raises(CommandError, match="No active user"):
        call("create_api_token", "ghost@example.com")
    call("createuser", "cli@example.com")
    with pytest.raises(CommandError, match="between 1 and"):
        call("create_api_token", "cli@example.com", "--expires-days", "0")
