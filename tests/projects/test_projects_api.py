import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.projects import services
from apps.projects.models import Project, ProjectMembership, ProjectRole
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.django_db


def test_owner_reads_their_project(api_client_for, alice, project):
    response = api_client_for(alice).get(f"/api/v1/projects/{project.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(project.pk)
    assert body["role"] == "owner"
    assert body["created_at"].endswith("Z")


def test_a_contributor_creates_a_project_and_becomes_its_owner(alice, api_client_for):
    response = api_client_for(alice).post(
        "/api/v1/projects", {"name": "Reading lists", "description": "For classes"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["description"], body["role"], body["colour"]) == (
        "Reading lists",
        "For classes",
        "owner",
        "#4f46e5",
    )
    project = Project.objects.get(pk=body["id"])
    assert project.created_by == alice
    assert ProjectMembership.objects.get(content_object=project).role == ProjectRole.OWNER


def test_a_plain_user_cannot_create_projects(charlie, api_client_for):
    response = api_client_for(charlie).post("/api/v1/projects", {"name": "Mine"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CONTRIBUTOR_REQUIRED"
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 121},
        {"name": "nul\x00byte"},
        {"name": 12},
        {"name": ["list"]},
        {"name": "ok", "colour": "red"},
        {"name": "ok", "colour": "#ABCDEF"},
        {"name": "ok", "description": "d" * 5001},
    ],
)
def test_project_creation_refuses_invalid_fields_with_422(alice, api_client_for, body):
    response = api_client_for(alice).post("/api/v1/projects", body, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not Project.objects.exists()


def test_project_name_at_the_limit_is_accepted(alice, api_client_for):
    response = api_client_for(alice).post(
        "/api/v1/projects", {"name": "x" * 120, "description": "d" * 5000}
    )
    assert response.status_code == 201


def test_server_owned_fields_in_the_body_are_ignored(alice, api_client_for):
    other = make_project()
    response = api_client_for(alice).post(
        "/api/v1/projects",
        {
            "name": "Mine",
            "id": str(uuid.uuid4()),
            "parent_id": str(other.pk),
            "created_by_id": 999,
            "role": "viewer",
        },
    )
    assert response.status_code == 201
    project = Project.objects.get(pk=response.json()["id"])
    assert (project.parent_id, project.created_by_id, response.json()["role"]) == (
        None,
        alice.pk,
        "owner",
    )


def test_admin_renames_and_recolours(alice, project, api_client_for):
    response = api_client_for(alice).patch(
        f"/api/v1/projects/{project.pk}", {"name": "Renamed", "colour": "#0f766e"}
    )
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.name, project.colour, project.description) == (
        "Renamed",
        "#0f766e",
        "A project made by a test.",
    )


def test_an_empty_patch_is_422(alice, project, api_client_for):
    response = api_client_for(alice).patch(f"/api/v1/projects/{project.pk}", {}, format="json")
    assert response.status_code == 422


def test_deleting_schedules_the_project_and_hides_it_at_once(alice, bob, project, api_client_for):
    response = api_client_for(alice).delete(f"/api/v1/projects/{project.pk}")
    assert response.status_code == 202
    assert response.json()["deletion_scheduled_at"] is not None
    project.refresh_from_db()
    grace = project.deletion_scheduled_at - timezone.now()
    assert timedelta(days=6, hours=23) < grace <= timedelta(days=7)
    assert api_client_for(bob).get(f"/api/v1/projects/{project.pk}").status_code == 404
    assert api_client_for(alice).get("/api/v1/projects").json()["count"] == 0


def test_an_owner_restores_a_scheduled_project(alice, project, api_client_for):
    client = api_client_for(alice)
    client.delete(f"/api/v1/projects/{project.pk}")
    response = client.post(f"/api/v1/projects/{project.pk}/restore")
    assert response.status_code == 200
    assert response.json()["deletion_scheduled_at"] is None
    assert client.get(f"/api/v1/projects/{project.pk}").status_code == 200


def test_purge_deletes_only_projects_past_their_grace(alice, project):
    due = make_project({alice: ProjectRole.OWNER})
    Project.objects.filter(pk=due.pk).update(
        deletion_scheduled_at=timezone.now() - timedelta(seconds=1)
    )
    services.schedule_project_deletion(project=project, actor=alice)
    assert services.purge_scheduled_projects() == 1
    assert list(Project.objects.values_list("pk", flat=True)) == [project.pk]
    assert not ProjectMembership.objects.filter(content_object_id=due.pk).exists()
    assert services.purge_scheduled_projects() == 0


def test_project_list_filters_by_name_and_sandbox_flag(alice, api_client_for):
    parent = make_project({alice: ProjectRole.OWNER}, name="Grading")
    make_project({alice: ProjectRole.OWNER}, name="Grading sandbox", parent=parent)
    make_project({alice: ProjectRole.OWNER}, name="Reading")
    client = api_client_for(alice)

    def names(query):
        return [p["name"] for p in client.get(f"/api/v1/projects?{query}").json()["results"]]

    assert names("name=grad") == ["Grading", "Grading sandbox"]
    assert names("is_sandbox=true") == ["Grading sandbox"]
    assert names("is_sandbox=false") == ["Grading", "Reading"]
    assert names(f"parent={parent.pk}") == ["Grading sandbox"]


def test_bad_filter_values_are_422_not_500(alice, api_client_for):
    response = api_client_for(alice).get("/api/v1/projects?parent=not-a-uuid")
    assert response.status_code == 422


@pytest.mark.parametrize("page", ["0", "abc", "999"])
def test_out_of_range_pages_are_404(alice, project, api_client_for, page):
    response = api_client_for(alice).get(f"/api/v1/projects?page={page}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_page_size_is_capped(alice, api_client_for):
    for _ in range(3):
        make_project({alice: ProjectRole.VIEWER})
    body = api_client_for(alice).get("/api/v1/projects?page_size=100000").json()
    assert body["count"] == 3


def test_members_of_two_projects_see_each_only_through_membership(alice, api_client_for):
    mine = make_project({alice: ProjectRole.OWNER})
    theirs = make_project({UserFactory(contributor=True): ProjectRole.OWNER})
    client = api_client_for(alice)
    assert client.get(f"/api/v1/projects/{mine.pk}").status_code == 200
    assert client.get(f"/api/v1/projects/{theirs.pk}").status_code == 404
