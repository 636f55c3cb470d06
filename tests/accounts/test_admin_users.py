"""The user admin: an admin manages user and contributor accounts, only superusers the rest."""

import pytest
from django.test import Client

from apps.accounts.models import Role, User
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin() -> User:
    return UserFactory(admin=True, email="admin@example.com")


@pytest.fixture
def boss() -> User:
    return UserFactory(superuser=True, email="boss@example.com")


def change(client: Client, user: User, **fields: object):
    data = {"email": user.email, "full_name": user.full_name, "role": user.role, "is_active": "on"}
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(f"/admin/accounts/user/{user.pk}/change/", data)


def password_form(client: Client, user: User, password: str = NEW_PASSWORD):
    return client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": password, "password2": password, "usable_password": "true"},
    )


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def test_an_admin_cannot_make_themselves_superuser(admin):
    response = change(client_for(admin), admin, role=Role.SUPERUSER)
    assert response.status_code == 403
    assert fresh(admin).role == Role.ADMIN


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERUSER])
def test_an_admin_cannot_promote_a_user_to_a_staff_role(admin, charlie, role):
    response = change(client_for(admin), charlie, role=role)
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert fresh(charlie).role == Role.USER


def test_an_admin_is_offered_only_the_user_and_contributor_roles(admin, charlie):
    page = client_for(admin).get(f"/admin/accounts/user/{charlie.pk}/change/").content.decode()
    assert 'value="contributor"' in page
    assert 'value="admin"' not in page
    assert 'value="superuser"' not in page


def test_an_admin_sees_a_superuser_read_only(admin, boss):
    client = client_for(admin)
    page = client.get(f"/admin/accounts/user/{boss.pk}/change/")
    assert page.status_code == 200
    assert 'name="role"' not in page.content.decode()
    assert 'name="is_active"' not in page.content.decode()


def test_an_admin_cannot_deactivate_or_demote_a_superuser_or_another_admin(admin, boss):
    other_admin = UserFactory(admin=True)
    client = client_for(admin)
    assert change(client, boss, is_active=None).status_code == 403
    assert change(client, other_admin, role=Role.USER).status_code == 403
    assert fresh(boss).is_active
    assert fresh(other_admin).role == Role.ADMIN


def test_an_admin_cannot_open_or_post_a_superusers_password_form(admin, boss):
    client = client_for(admin)
    assert client.get(f"/admin/accounts/user/{boss.pk}/password/").status_code == 403
    assert password_form(client, boss).status_code == 403
    assert fresh(boss).check_password(PASSWORD)


def test_an_admin_cannot_delete_a_superuser(admin, boss):
    client = client_for(admin)
    assert client.get(f"/admin/accounts/user/{boss.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [boss.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=boss.pk).exists()


def test_an_admin_manages_user_and_contributor_accounts(admin, charlie):
    client = client_for(admin)
    assert change(client, charlie, role=Role.CONTRIBUTOR).status_code == 302
    assert fresh(charlie).role == Role.CONTRIBUTOR
    assert change(client, charlie, is_active=None).status_code == 302
    assert not fresh(charlie).is_active
    assert password_form(client, charlie).status_code == 302
    assert fresh(charlie).check_password(NEW_PASSWORD)


def test_a_superuser_may_change_every_role_flag_and_password(boss, charlie):
    other_boss = UserFactory(superuser=True)
    client = client_for(boss)
    assert change(client, charlie, role=Role.ADMIN).status_code == 302
    assert fresh(charlie).role == Role.ADMIN
    assert change(client, charlie, role=Role.SUPERUSER).status_code == 302
    assert fresh(charlie).is_superuser
    assert change(client, other_boss, is_active=None).status_code == 302
    assert not fresh(other_boss).is_active
    assert password_form(client, charlie).status_code == 302
    assert fresh(charlie).check_password(NEW_PASSWORD)


def add(client: Client, email: str, role: str):
    return client.post(
        "/admin/accounts/user/add/",
        {
            "email": email,
            "full_name": "",
            "role": role,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )


def test_an_admin_cannot_create_an_admin_or_superuser(admin):
    client = client_for(admin)
    page = client.get("/admin/accounts/user/add/").content.decode()
    assert 'value="superuser"' not in page
    for role in (Role.ADMIN, Role.SUPERUSER):
        assert add(client, f"{role}@example.com", role).status_code == 200
    assert not User.objects.filter(role__in=[Role.ADMIN, Role.SUPERUSER]).exclude(pk=admin.pk)


def test_an_admin_creates_a_contributor_who_can_sign_in(admin):
    response = add(client_for(admin), "Dora@Example.com", Role.CONTRIBUTOR)
    assert response.status_code == 302
    dora = User.objects.get(email="dora@example.com")
    assert dora.role == Role.CONTRIBUTOR
    assert dora.check_password(NEW_PASSWORD)


def test_a_superuser_creates_an_admin(boss):
    assert add(client_for(boss), "new-admin@example.com", Role.ADMIN).status_code == 302
    assert User.objects.get(email="new-admin@example.com").is_staff


def test_an_email_taken_in_another_case_is_a_form_error_not_a_500(boss, charlie):
    client = client_for(boss)
    response = add(client, charlie.email.upper(), Role.USER)
    assert response.status_code == 200
    dora = UserFactory(email="dora@example.com")
    response = change(client, dora, email=charlie.email.upper())
    assert response.status_code == 200
    assert fresh(dora).email == "dora@example.com"
