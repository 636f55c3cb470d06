"""Every project endpoint × every persona, through HTTP."""

import uuid

import pytest

from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from tests.factories import UserFactory, make_project
from tests.factories.projects import make_role_world

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "admin", "editor", "viewer", "outsider", "anonymous")


@pytest.fixture
def world(alice):
    people, project = make_role_world(alice)
    target = UserFactory(email="target@example.com")
    projects_access.assign_role(user=target, project=project, role=ProjectRole.VIEWER)
    UserFactory(email="newcomer@example.com")
    return {"people": people, "project": project, "target": target}


def client_as(persona, world, api_client_for, anon_client):
    return anon_client if persona == "anonymous" else api_client_for(world["people"][persona])


ENDPOINTS = {
    # name: (method, path template, body, expected status per persona)
    "retrieve": ("get", "/api/v1/projects/{p}", None, (200, 200, 200, 200, 404, 401)),
    "update": (
        "patch",
        "/api/v1/projects/{p}",
        {"name": "Renamed"},
        (200, 200, 403, 403, 404, 401),
    ),
    "delete": ("delete", "/api/v1/projects/{p}", None, (202, 403, 403, 403, 404, 401)),
    "restore": ("post", "/api/v1/projects/{p}/restore", None, (200, 403, 403, 403, 404, 401)),
    "members": ("get", "/api/v1/projects/{p}/members", None, (200, 200, 200, 200, 404, 401)),
    "add member": (
        "post",
        "/api/v1/projects/{p}/members",
        {"email": "newcomer@example.com", "role": "viewer"},
        (201, 201, 403, 403, 404, 401),
    ),
    "change member": (
        "patch",
        "/api/v1/projects/{p}/members/{t}",
        {"role": "editor"},
        (200, 200, 403, 403, 404, 401),
    ),
    "remove member": (
        "delete",
        "/api/v1/projects/{p}/members/{t}",
        None,
        (204, 204, 403, 403, 404, 401),
    ),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_project_endpoint_answers_each_persona_as_the_matrix_says(
    endpoint, persona, world, api_client_for, anon_client
):
    method, template, body, expected = ENDPOINTS[endpoint]
    path = template.format(p=world["project"].pk, t=world["target"].pk)
    response = getattr(client_as(persona, world, api_client_for, anon_client), method)(
        path, body, format="json"
    )
    assert response.status_code == expected[PERSONAS.index(persona)], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "request_id"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_outsider_gets_the_same_404_body_as_for_a_missing_project(endpoint, world, api_client_for):
    method, template, body, _ = ENDPOINTS[endpoint]
    client = api_client_for(world["people"]["outsider"])
    real = getattr(client, method)(
        template.format(p=world["project"].pk, t=world["target"].pk), body, format="json"
    )
    missing = getattr(client, method)(
        template.format(p=uuid.uuid4(), t=world["target"].pk), body, format="json"
    )
    assert real.status_code == missing.status_code == 404
    assert real.json()["error"] == missing.json()["error"]


@pytest.mark.parametrize("persona", PERSONAS[:5])
def test_project_list_shows_only_the_callers_projects(persona, world, api_client_for):
    make_project({UserFactory(): ProjectRole.OWNER}, name="Somebody else's")
    response = api_client_for(world["people"][persona]).get("/api/v1/projects")
    assert response.status_code == 200
    names = [item["name"] for item in response.json()["results"]]
    assert names == ([] if persona == "outsider" else [world["project"].name])


def test_project_list_is_401_for_anonymous(anon_client):
    assert anon_client.get("/api/v1/projects").status_code == 401


def test_project_list_query_count_does_not_grow_with_projects(
    alice, api_client_for, django_assert_max_num_queries
):
    client = api_client_for(alice)
    for _ in range(30):
        make_project({alice: ProjectRole.VIEWER})
    # token lookup, count, page (+ last_used_at write on first use)
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/projects?page_size=30")
    assert len(response.json()["results"]) == 30
