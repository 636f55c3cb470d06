import pytest
from django.test import Client
from django.utils.html import escape

from apps.accounts.models import ApiToken
from apps.projects.models import ProjectMembership, ProjectRole
from tests.factories import ApiTokenFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(superuser=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/accounts/apitoken/",
        "/admin/projects/project/",
        "/admin/projects/projectmembership/",
        "/admin/projects/projectmembership/add/",
    ],
)
def test_admin_pages_load(admin_client, url):
    assert admin_client.get(url).status_code == 200


def test_admin_change_pages_load(admin_client, alice, project):
    token = ApiTokenFactory(user=alice)
    membership = ProjectMembership.objects.get(content_object=project, user=alice)
    for url in (
        f"/admin/accounts/user/{alice.pk}/change/",
        f"/admin/accounts/apitoken/{token.pk}/change/",
        f"/admin/projects/project/{project.pk}/change/",
        f"/admin/projects/projectmembership/{membership.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_non_staff_users_cannot_open_the_admin(alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/").status_code == 302


def test_the_revoke_action_revokes_tokens(admin_client, alice):
    tokens = [ApiTokenFactory(user=alice), ApiTokenFactory(user=alice)]
    response = admin_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [t.pk for t in tokens]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 2 token(s)." in response.content.decode()
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_adding_a_membership_in_the_admin_goes_through_the_service(admin_client, project):
    dora = UserFactory()
    response = admin_client.post(
        "/admin/projects/projectmembership/add/",
        {"content_object": project.pk, "user": dora.pk, "role": "editor"},
        follow=True,
    )
    assert response.status_code == 200
    assert (
        ProjectMembership.objects.get(content_object=project, user=dora).role == ProjectRole.EDITOR
    )


def test_changing_the_last_owner_in_the_admin_is_refused(admin_client, alice, project):
    membership = ProjectMembership.objects.get(content_object=project, user=alice)
    response = admin_client.post(
        f"/admin/projects/projectmembership/{membership.pk}/change/",
        {"role": "viewer"},
        follow=True,
    )
    assert "A project must keep at least one owner." in response.content.decode()
    assert ProjectMembership.objects.get(pk=membership.pk).role == ProjectRole.OWNER


def test_the_remove_action_keeps_the_last_owner(admin_client, alice, bob, project):
    memberships = ProjectMembership.objects.filter(content_object=project)
    response = admin_client.post(
        "/admin/projects/projectmembership/",
        {"action": "remove_memberships", "_selected_action": [m.pk for m in memberships]},
        follow=True,
    )
    assert "Removed 1 membership(s)." in response.content.decode()
    remaining = ProjectMembership.objects.filter(content_object=project)
    assert [(m.user, m.role) for m in remaining] == [(alice, ProjectRole.OWNER)]


def test_a_role_change_in_the_user_admin_keeps_the_flags_consistent(admin_client):
    user = UserFactory()
    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": user.email,
            "full_name": "New Name",
            "role": "admin",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.full_name) == ("admin", True, "New Name")


def test_projects_admin_lists_projects(admin_client, project):
    other = make_project()
    html = admin_client.get("/admin/projects/project/").content.decode()
    assert escape(project.name) in html
    assert escape(other.name) in html


def test_global_admins_can_use_the_admin_without_being_superusers(alice):
    client = Client()
    client.force_login(UserFactory(admin=True))
    for url in ("/admin/accounts/user/", "/admin/accounts/apitoken/", "/admin/projects/project/"):
        assert client.get(url).status_code == 200, url
    client.force_login(UserFactory(contributor=True))
    assert client.get("/admin/").status_code == 302
