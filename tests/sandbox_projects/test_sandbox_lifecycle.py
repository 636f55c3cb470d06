"""Deleting, restoring and purging sandbox projects (SPEC §8; collections-behaviour.md §4.1,
§7.15): a scheduled sandbox and its descendants leave listings and v1 collection resolution at
once, come back together on restore, and are purged after the grace period with the parent and
its data untouched."""

from datetime import timedelta

import pytest
from django.db.models.functions import Now
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection, CollectionItem
from apps.projects import services as project_services
from apps.projects.models import Project, ProjectMembership
from apps.projects.tasks import purge_scheduled_projects_task
from apps.sandbox_projects import services
from apps.tools.models import Tool, ToolVersion
from tests.factories.runs import error_of
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db

V1 = "/api/v1/projects"


@pytest.fixture
def books(project):
    """The parent's collection with one item; every sandbox gets an empty namesake."""
    collection = collections.create_collection(project=project, name="books")
    collections.put_item(collection=collection, key="k", value='"parent"')
    return collection


@pytest.fixture
def tree(alice, project, books):
    """project > sandbox > (child, other_child); the sandbox's own `books` holds an item."""
    tool = make_tool(owner=alice, project=project, title="Grader")
    make_draft(tool, alice)
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try")
    child = services.provision_sandbox(parent=sandbox, actor=alice, name="Child")
    other_child = services.provision_sandbox(parent=sandbox, actor=alice, name="Other child")
    mine = Collection.objects.get(project=sandbox, name="books")
    collections.put_item(collection=mine, key="k", value='"sandbox"')
    return {"sandbox": sandbox, "child": child, "other_child": other_child}


def scheduled(*projects):
    return [Project.objects.get(pk=p.pk).deletion_scheduled_at for p in projects]


# --- Schedule ------------------------------------------------------------------------------------


def test_delete_schedules_the_sandbox_and_its_descendants_with_the_grace(
    alice, project, tree, api_client_for, settings
):
    settings.PROJECT_DELETION_GRACE_DAYS = 2
    sandbox = tree["sandbox"]
    before = timezone.now()
    response = api_client_for(alice).delete(f"{V1}/{sandbox.pk}")
    assert response.status_code == 202, response.json()
    assert response.json()["deletion_scheduled_at"] is not None
    at = scheduled(sandbox, tree["child"], tree["other_child"])
    assert at[0] == at[1] == at[2]
    assert before + timedelta(days=2) <= at[0] <= timezone.now() + timedelta(days=2)
    assert scheduled(project) == [None]


def test_scheduled_sandboxes_vanish_from_listings_at_once(
    alice, bob, project, tree, api_client_for
):
    client = api_client_for(alice)
    sandbox = tree["sandbox"]
    assert client.delete(f"{V1}/{sandbox.pk}").status_code == 202
    assert client.get(f"{V1}/{project.pk}/sandboxes").json()["results"] == []
    for gone in tree.values():
        error_of(client.get(f"{V1}/{gone.pk}"), 404, "NOT_FOUND")
        error_of(client.get(f"{V1}/{gone.pk}/sandboxes"), 404, "NOT_FOUND")
    listed = [p["id"] for p in client.get(V1).json()["results"]]
    assert listed == [str(project.pk)]
    assert [p["id"] for p in api_client_for(bob).get(V1).json()["results"]] == [str(project.pk)]


def test_only_an_owner_of_the_sandbox_may_delete_it(alice, bob, tree, api_client_for):
    # Bob (editor of the parent) is editor of the sandbox; Alice provisioned it and owns it.
    sandbox = tree["sandbox"]
    error_of(api_client_for(bob).delete(f"{V1}/{sandbox.pk}"), 403, "FORBIDDEN")
    assert scheduled(sandbox) == [None]


def test_deleting_the_parent_takes_its_sandboxes_along(alice, project, tree, api_client_for):
    assert api_client_for(alice).delete(f"{V1}/{project.pk}").status_code == 202
    at = scheduled(project, *tree.values())
    assert None not in at and len(set(at)) == 1


# --- v1 collection resolution (§4.1, §7.15) ------------------------------------------------------


def test_v1_name_is_ambiguous_while_the_sandbox_lives_and_resolves_to_the_parent_once_scheduled(
    alice, project, tree, api_client_for
):
    data = api_client_for(alice)
    response = data.get("/collections/books/k")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "AMBIGUOUS_COLLECTION"
    assert data.delete(f"{V1}/{tree['sandbox'].pk}").status_code == 202
    assert data.get("/collections/books/k").json()["value"] == '"parent"'
    written = data.put("/collections/books/new", {"value": '"v1"'}, format="json")
    assert written.status_code == 200, written.content
    assert CollectionItem.objects.get(collection__project=project, key="new").value == '"v1"'
    assert not CollectionItem.objects.filter(
        collection__project__parent__isnull=False, key="new"
    ).exists()
    # v2 cannot reach the scheduled sandbox's collection either.
    v2 = data.get(f"/collections/{tree['sandbox'].pk}/books", HTTP_X_API_VERSION="2")
    assert v2.status_code == 404, v2.content


def test_a_run_token_of_a_scheduled_sandbox_finds_nothing(alice, tree):
    sandbox = tree["sandbox"]
    _, secret = account_services.create_run_token(
        user=alice,
        project_id=sandbox.pk,
        project_role="owner",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/collections/books/k").json()["value"] == '"sandbox"'
    project_services.schedule_project_deletion(project=sandbox, actor=alice)
    assert client.get("/collections/books/k").status_code == 404


def test_after_restore_the_name_is_ambiguous_again(alice, tree, api_client_for):
    client = api_client_for(alice)
    sandbox = tree["sandbox"]
    client.delete(f"{V1}/{sandbox.pk}")
    assert client.get("/collections/books/k").status_code == 200
    assert client.post(f"{V1}/{sandbox.pk}/restore").status_code == 200
    assert client.get("/collections/books/k").status_code == 409


# --- Restore -------------------------------------------------------------------------------------


def test_restore_brings_back_exactly_those_scheduled_together(alice, project, tree, api_client_for):
    client = api_client_for(alice)
    sandbox, child, other_child = tree["sandbox"], tree["child"], tree["other_child"]
    assert client.delete(f"{V1}/{other_child.pk}").status_code == 202
    earlier = scheduled(other_child)[0]
    assert client.delete(f"{V1}/{sandbox.pk}").status_code == 202
    assert scheduled(other_child) == [earlier]  # not re-scheduled with the sandbox
    response = client.post(f"{V1}/{sandbox.pk}/restore")
    assert response.status_code == 200, response.json()
    assert response.json()["deletion_scheduled_at"] is None
    assert scheduled(sandbox, child, other_child) == [None, None, earlier]
    listed = client.get(f"{V1}/{project.pk}/sandboxes").json()["results"]
    assert [s["id"] for s in listed] == [str(sandbox.pk)]
    assert [s["id"] for s in client.get(f"{V1}/{sandbox.pk}/sandboxes").json()["results"]] == [
        str(child.pk)
    ]
    # The sandbox's data was never touched by the schedule.
    mine = Collection.objects.get(project=sandbox, name="books")
    assert CollectionItem.objects.get(collection=mine).value == '"sandbox"'


def test_restore_needs_an_owner_and_a_scheduled_sandbox_is_otherwise_invisible(
    alice, bob, charlie, tree, api_client_for
):
    sandbox = tree["sandbox"]
    api_client_for(alice).delete(f"{V1}/{sandbox.pk}")
    error_of(api_client_for(bob).post(f"{V1}/{sandbox.pk}/restore"), 403, "FORBIDDEN")
    error_of(api_client_for(charlie).post(f"{V1}/{sandbox.pk}/restore"), 404, "NOT_FOUND")
    assert scheduled(sandbox)[0] is not None


def test_restore_when_the_name_was_taken_meanwhile_is_409_not_500(
    alice, project, tree, api_client_for
):
    client = api_client_for(alice)
    sandbox = tree["sandbox"]
    client.delete(f"{V1}/{sandbox.pk}")
    assert (
        client.post(f"{V1}/{project.pk}/sandboxes", {"name": "Try"}, format="json").status_code
        == 201
    )
    error_of(client.post(f"{V1}/{sandbox.pk}/restore"), 409, "SANDBOX_NAME_TAKEN")
    assert None not in scheduled(sandbox, tree["child"], tree["other_child"])


def test_a_sandbox_cannot_be_restored_while_its_parent_is_scheduled(
    alice, project, tree, api_client_for
):
    client = api_client_for(alice)
    client.delete(f"{V1}/{project.pk}")
    response = client.post(f"{V1}/{tree['sandbox'].pk}/restore")
    error_of(response, 409, "PARENT_SCHEDULED_FOR_DELETION")
    assert None not in scheduled(project, *tree.values())
    # Restoring the parent brings the whole tree back.
    assert client.post(f"{V1}/{project.pk}/restore").status_code == 200
    assert scheduled(project, *tree.values()) == [None] * 4


# --- Purge ---------------------------------------------------------------------------------------


def test_purge_deletes_them_after_the_grace_and_leaves_the_parent_and_its_data(
    alice, bob, project, books, tree
):
    sandbox = tree["sandbox"]
    collections.create_collection(project=sandbox, name="scores")
    record = services.merge_sandbox(source=sandbox, target=project, actor=alice)
    assert record.collections_created == ["scores"]
    project_services.schedule_project_deletion(project=sandbox, actor=alice)
    assert purge_scheduled_projects_task() == 0  # still in its grace period
    assert Project.objects.filter(pk=sandbox.pk).exists()
    Project.objects.filter(deletion_scheduled_at__isnull=False).update(
        deletion_scheduled_at=Now() - timedelta(seconds=1)
    )
    assert purge_scheduled_projects_task() == 3
    ids = [p.pk for p in tree.values()]
    assert not Project.objects.filter(pk__in=ids).exists()
    assert not ProjectMembership.objects.filter(content_object_id__in=ids).exists()
    assert not Tool.objects.filter(project_id__in=ids).exists()
    assert not Collection.objects.filter(project_id__in=ids).exists()
    # The parent keeps everything, the merge's results included; the record keeps the name.
    assert Project.objects.get(pk=project.pk).deletion_scheduled_at is None
    assert sorted(Collection.objects.filter(project=project).values_list("name", flat=True)) == [
        "books",
        "scores",
    ]
    assert CollectionItem.objects.get(collection=books).value == '"parent"'
    tool = Tool.objects.get(project=project)
    assert (tool.origin_id, ToolVersion.objects.filter(tool=tool).count()) == (None, 1)
    assert ProjectMembership.objects.filter(content_object=project).count() == 2
    record.refresh_from_db()
    assert (record.source_id, record.source_name, record.target_id) == (None, "Try", project.pk)
