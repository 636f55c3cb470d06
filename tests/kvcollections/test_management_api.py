"""The collections management API (/api/v1/projects/{id}/collections), through HTTP."""

import uuid

import pytest

from apps.kvcollections import services
from apps.kvcollections.models import Collection, CollectionItem
from tests.factories import CollectionFactory, make_project
from tests.factories.projects import make_role_world

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "admin", "editor", "viewer", "outsider", "anonymous")


@pytest.fixture
def world(alice):
    people, project = make_role_world(alice)
    CollectionFactory(project=project, name="grades")
    return {"people": people, "project": project}


def client_as(persona, world, api_client_for, anon_client):
    return anon_client if persona == "anonymous" else api_client_for(world["people"][persona])


def url(project, name=None):
    base = f"/api/v1/projects/{project.pk}/collections"
    return base if name is None else f"{base}/{name}"


ENDPOINTS = {
    # name: (method, collection name in the path, body, expected status per persona)
    "list": ("get", None, None, (200, 200, 200, 200, 404, 401)),
    "create": ("post", None, {"name": "notes"}, (201, 201, 403, 403, 404, 401)),
    "rename": ("patch", "grades", {"name": "marks"}, (200, 200, 403, 403, 404, 401)),
    "delete": ("delete", "grades", None, (204, 204, 403, 403, 404, 401)),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_collection_endpoint_answers_each_persona_as_the_matrix_says(
    endpoint, persona, world, api_client_for, anon_client
):
    method, name, body, expected = ENDPOINTS[endpoint]
    client = client_as(persona, world, api_client_for, anon_client)

    response = getattr(client, method)(url(world["project"], name), body, format="json")

    assert response.status_code == expected[PERSONAS.index(persona)], response.content
    names = set(Collection.objects.values_list("name", flat=True))
    changed = response.status_code < 300 and method != "get"
    expected_names = {
        "create": {"grades", "notes"},
        "rename": {"marks"},
        "delete": set(),
    }.get(endpoint, {"grades"})
    assert names == (expected_names if changed else {"grades"})
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "request_id"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_outsider_gets_the_same_404_body_as_for_a_missing_project(
    endpoint, world, api_client_for
):
    method, name, body, _ = ENDPOINTS[endpoint]
    client = api_client_for(world["people"]["outsider"])
    missing = make_project()
    missing_url = url(missing, name).replace(str(missing.pk), str(uuid.uuid4()))

    hidden = getattr(client, method)(url(world["project"], name), body, format="json")
    absent = getattr(client, method)(missing_url, body, format="json")

    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["error"] == absent.json()["error"]


@pytest.mark.parametrize(("method", "body"), [("patch", {"name": "marks"}), ("delete", None)])
def test_an_unknown_collection_in_a_visible_project_is_404(method, body, world, api_client_for):
    client = api_client_for(world["people"]["admin"])
    response = getattr(client, method)(url(world["project"], "nothing-here"), body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_malformed_project_id_is_400(api_client_for, alice):
    response = api_client_for(alice).get("/api/v1/projects/not-a-uuid/collections")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_ID"


def test_the_list_shows_counters_and_last_modified_in_name_order(api_client_for, alice, project):
    zebra = CollectionFactory(project=project, name="zebra")
    apple = CollectionFactory(project=project, name="apple")
    CollectionFactory(name="elsewhere")
    services.put_items(collection=zebra, items=[("k1", "vä"), ("k2", "value")])
    zebra.refresh_from_db()

    response = api_client_for(alice).get(url(project))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["name"] for row in body["results"]] == ["apple", "zebra"]
    first, second = body["results"]
    assert set(first) == {"id", "name", "item_count", "byte_size", "created_at", "last_modified"}
    assert (first["id"], first["item_count"], first["byte_size"]) == (str(apple.pk), 0, 0)
    # "vä" is three bytes in UTF-8.
    assert (second["item_count"], second["byte_size"]) == (2, len("k1vä".encode()) + 7)
    assert second["last_modified"] == zebra.updated_at.isoformat().replace("+00:00", "Z")
    assert second["last_modified"] > second["created_at"]


def test_the_list_filters_by_name_case_insensitively(api_client_for, alice, project):
    for name in ("student-notes", "grades", "old-notes"):
        CollectionFactory(project=project, name=name)
    response = api_client_for(alice).get(url(project), {"name": "NOTES"})
    assert [row["name"] for row in response.json()["results"]] == ["old-notes", "student-notes"]


def test_the_list_paginates(api_client_for, alice, project):
    for index in range(3):
        CollectionFactory(project=project, name=f"c{index}")
    response = api_client_for(alice).get(url(project), {"page_size": 2, "page": 2})
    body = response.json()
    assert (body["count"], [row["name"] for row in body["results"]]) == (3, ["c2"])


def test_the_list_runs_the_same_number_of_queries_for_many_collections(
    api_client_for, alice, project, django_assert_max_num_queries
):
    client = api_client_for(alice)
    CollectionFactory(project=project)
    with django_assert_max_num_queries(10) as few:
        client.get(url(project))
    for _ in range(20):
        CollectionFactory(project=project)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url(project))
    assert response.json()["count"] == 21


def test_an_admin_creates_a_collection(api_client_for, world):
    response = api_client_for(world["people"]["admin"]).post(
        url(world["project"]), {"name": "student-notes.2026_v2"}
    )
    assert response.status_code == 201
    body = response.json()
    collection = Collection.objects.get(project=world["project"], name="student-notes.2026_v2")
    assert body["id"] == str(collection.pk)
    assert (body["item_count"], body["byte_size"]) == (0, 0)
    assert body["created_at"].endswith("Z")
    assert body["last_modified"].endswith("Z")


def test_a_name_of_255_characters_is_accepted(api_client_for, alice, project):
    response = api_client_for(alice).post(url(project), {"name": "a" * 255})
    assert response.status_code == 201
    assert response.json()["name"] == "a" * 255


@pytest.mark.parametrize(
    "name",
    [
        "a" * 256,
        "Upper",
        "with space",
        " leading",
        "trailing ",
        "a--b",
        "a..b",
        "-start",
        "end_",
        "slash/name",
        "",
        "nul\x00byte",
        "åäö",
        12,
        None,
        ["list"],
        {"name": "x"},
        True,
    ],
)
def test_a_bad_name_is_refused_with_422(api_client_for, alice, project, name):
    response = api_client_for(alice).post(url(project), {"name": name}, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "name" in response.json()["error"]["details"]["fields"]
    assert not Collection.objects.exists()


@pytest.mark.parametrize("body", [{}, [], "notes"])
def test_a_create_without_a_name_object_is_refused_with_422(api_client_for, alice, project, body):
    response = api_client_for(alice).post(url(project), body, format="json")
    assert response.status_code == 422
    assert not Collection.objects.exists()


def test_a_duplicate_name_is_a_409(api_client_for, alice, project):
    CollectionFactory(project=project, name="grades")
    response = api_client_for(alice).post(url(project), {"name": "grades"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "COLLECTION_EXISTS"
    assert Collection.objects.filter(project=project).count() == 1


def test_the_same_name_may_exist_in_another_project(api_client_for, alice, project):
    CollectionFactory(name="grades")
    assert api_client_for(alice).post(url(project), {"name": "grades"}).status_code == 201


def test_rename_keeps_the_items_and_answers_with_the_collection(api_client_for, alice, project):
    collection = CollectionFactory(project=project, name="grades")
    services.put_items(collection=collection, items=[("k", "v")])

    response = api_client_for(alice).patch(url(project, "grades"), {"name": "marks"})

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["item_count"]) == (str(collection.pk), "marks", 1)
    collection.refresh_from_db()
    assert collection.name == "marks"
    assert CollectionItem.objects.filter(collection=collection).count() == 1
    assert api_client_for(alice).patch(url(project, "grades"), {"name": "x"}).status_code == 404


def test_rename_onto_an_existing_name_is_a_409(api_client_for, alice, project):
    CollectionFactory(project=project, name="grades")
    CollectionFactory(project=project, name="marks")
    response = api_client_for(alice).patch(url(project, "grades"), {"name": "marks"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "COLLECTION_EXISTS"
    assert set(Collection.objects.values_list("name", flat=True)) == {"grades", "marks"}


@pytest.mark.parametrize("body", [{}, {"name": "Bad Name"}, {"name": "a" * 256}, {"name": 5}])
def test_rename_refuses_a_bad_name_with_422(api_client_for, alice, project, body):
    CollectionFactory(project=project, name="grades")
    response = api_client_for(alice).patch(url(project, "grades"), body, format="json")
    assert response.status_code == 422
    assert Collection.objects.get().name == "grades"


def test_rename_to_a_name_of_255_characters_is_accepted(api_client_for, alice, project):
    CollectionFactory(project=project, name="grades")
    response = api_client_for(alice).patch(url(project, "grades"), {"name": "b" * 255})
    assert response.status_code == 200
    assert Collection.objects.get().name == "b" * 255


def test_delete_removes_the_collection_and_every_item(api_client_for, alice, project):
    doomed = CollectionFactory(project=project, name="grades")
    kept = CollectionFactory(project=project, name="marks")
    services.put_items(collection=doomed, items=[(f"k{i}", "v") for i in range(5)])
    services.put_items(collection=kept, items=[("k", "v")])
    assert CollectionItem.objects.count() == 6

    response = api_client_for(alice).delete(url(project, "grades"))

    assert response.status_code == 204
    assert not response.content
    assert list(Collection.objects.values_list("name", flat=True)) == ["marks"]
    assert CollectionItem.objects.count() == 1
    assert api_client_for(alice).delete(url(project, "grades")).status_code == 404


def test_collections_of_a_project_scheduled_for_deletion_are_hidden(api_client_for, alice, project):
    CollectionFactory(project=project, name="grades")
    api_client_for(alice).delete(f"/api/v1/projects/{project.pk}")
    assert api_client_for(alice).get(url(project)).status_code == 404
