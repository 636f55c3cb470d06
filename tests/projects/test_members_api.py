from functools import partial

import pytest

from apps.projects import access, services
from apps.projects.exceptions import LastOwner
from apps.projects.models import ProjectMembership, ProjectRole
from tests.concurrency import run_together
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.django_db


def members_url(project, user_id=None):
    base = f"/api/v1/projects/{project.pk}/members"
    return base if user_id is None else f"{base}/{user_id}"


def role_of(project, user):
    return ProjectMembership.objects.get(content_object=project, user=user).role


def test_admin_adds_a_member_by_email_case_insensitively(alice, project, api_client_for):
    dora = UserFactory(email="dora@example.com")
    response = api_client_for(alice).post(
        members_url(project), {"email": "Dora@Example.com", "role": "editor"}
    )
    assert response.status_code == 201
    assert response.json() == {
        "user_id": dora.pk,
        "email": "dora@example.com",
        "full_name": dora.full_name,
        "role": "editor",
        "created_at": response.json()["created_at"],
    }
    assert role_of(project, dora) == ProjectRole.EDITOR


def test_each_member_holds_exactly_one_guardian_permission_row(alice, project):
    rows = ProjectMembership.objects.filter(content_object=project, user=alice)
    assert [row.permission.codename for row in rows] == ["project_owner"]


def test_member_list_shows_everyone_with_roles(alice, bob, project, api_client_for):
    body = api_client_for(bob).get(members_url(project)).json()
    assert [(m["email"], m["role"]) for m in body["results"]] == [
        ("alice@example.com", "owner"),
        ("bob@example.com", "editor"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "nobody@example.com", "role": "viewer"}, 422, "UNKNOWN_USER"),
        ({"email": "bob@example.com", "role": "viewer"}, 409, "ALREADY_MEMBER"),
        ({"email": "not-an-email", "role": "viewer"}, 422, "VALIDATION_ERROR"),
        ({"email": "dora@example.com", "role": "emperor"}, 422, "VALIDATION_ERROR"),
        ({"email": "dora@example.com"}, 422, "VALIDATION_ERROR"),
        ({"email": ["dora@example.com"], "role": "viewer"}, 422, "VALIDATION_ERROR"),
        ({"email": "do\x00ra@example.com", "role": "viewer"}, 422, "VALIDATION_ERROR"),
    ],
)
def test_adding_a_member_refuses_bad_requests(alice, project, api_client_for, body, status, code):
    UserFactory(email="dora@example.com")
    response = api_client_for(alice).post(members_url(project), body, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_inactive_users_cannot_be_added(alice, project, api_client_for):
    UserFactory(email="gone@example.com", is_active=False)
    response = api_client_for(alice).post(
        members_url(project), {"email": "gone@example.com", "role": "viewer"}
    )
    assert response.json()["error"]["code"] == "UNKNOWN_USER"


def test_only_owners_grant_the_owner_role(alice, project, api_client_for):
    ada = UserFactory()
    access.assign_role(user=ada, project=project, role=ProjectRole.ADMIN)
    UserFactory(email="dora@example.com")
    response = api_client_for(ada).post(
        members_url(project), {"email": "dora@example.com", "role": "owner"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "OWNER_REQUIRED"
    response = api_client_for(alice).post(
        members_url(project), {"email": "dora@example.com", "role": "owner"}
    )
    assert response.status_code == 201


def test_admins_cannot_demote_or_remove_an_owner(alice, project, api_client_for):
    ada = UserFactory()
    access.assign_role(user=ada, project=project, role=ProjectRole.ADMIN)
    client = api_client_for(ada)
    assert client.patch(members_url(project, alice.pk), {"role": "viewer"}).status_code == 403
    assert client.delete(members_url(project, alice.pk)).status_code == 403
    assert role_of(project, alice) == ProjectRole.OWNER


def test_the_last_owner_can_be_neither_demoted_nor_removed(alice, project, api_client_for):
    client = api_client_for(alice)
    for response in (
        client.patch(members_url(project, alice.pk), {"role": "admin"}),
        client.delete(members_url(project, alice.pk)),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "LAST_OWNER"
    assert role_of(project, alice) == ProjectRole.OWNER


def test_an_owner_can_step_down_once_there_is_another_owner(alice, bob, project, api_client_for):
    client = api_client_for(alice)
    assert client.patch(members_url(project, bob.pk), {"role": "owner"}).status_code == 200
    assert client.patch(members_url(project, alice.pk), {"role": "viewer"}).status_code == 200
    assert role_of(project, alice) == ProjectRole.VIEWER


def test_any_member_may_leave(bob, project, api_client_for):
    assert api_client_for(bob).delete(members_url(project, bob.pk)).status_code == 204
    assert not ProjectMembership.objects.filter(content_object=project, user=bob).exists()


def test_changing_a_non_member_is_404(alice, project, api_client_for):
    stranger = UserFactory()
    response = api_client_for(alice).patch(members_url(project, stranger.pk), {"role": "viewer"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("user_id", ["abc", "-1", "0", "1.5", "99999999999999999999999", "%00"])
def test_malformed_member_ids_are_400(alice, project, api_client_for, user_id):
    response = api_client_for(alice).delete(members_url(project, user_id))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_ID"


def demote_concurrently(project, members):
    """Demote each member from its own thread, all starting at once; return the outcomes."""
    jobs = [
        partial(
            services.change_member_role,
            project=project,
            actor_role=ProjectRole.OWNER,
            member_id=member.pk,
            role=ProjectRole.ADMIN,
        )
        for member in members
    ]
    outcomes = []
    for kind, value in run_together(*jobs):
        assert kind == "ok" or isinstance(value, LastOwner), value
        outcomes.append("ok" if kind == "ok" else "last owner")
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    for _ in range(10):
        first, second = UserFactory(), UserFactory()
        project = make_project({first: ProjectRole.OWNER, second: ProjectRole.OWNER})
        assert sorted(demote_concurrently(project, [first, second])) == ["last owner", "ok"]
        owners = ProjectMembership.objects.filter(
            content_object=project, permission__codename="project_owner"
        )
        assert owners.count() == 1
