"""Provision a sandbox project, change it, merge it back: the whole path through the API."""

import pytest

from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection, CollectionItem
from apps.tools import services as tools
from apps.tools.models import Tool
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db


def test_provision_then_merge_back_is_additive(alice, project, api_client_for):
    tool = make_tool(owner=alice, project=project, title="Grader")
    make_draft(tool, alice)
    books = collections.create_collection(project=project, name="books")
    collections.put_item(collection=books, key="a", value="1")
    client = api_client_for(alice)

    created = client.post(
        f"/api/v1/projects/{project.pk}/sandboxes", {"name": "Try"}, format="json"
    )
    assert created.status_code == 201, created.json()
    sandbox_id = created.json()["id"]
    assert created.json()["parent_id"] == str(project.pk)
    copy = Tool.objects.get(project_id=sandbox_id)
    assert copy.origin_id == tool.pk and copy.draft_head is not None
    assert list(
        Collection.objects.filter(project_id=sandbox_id).values_list("name", "item_count")
    ) == [("books", 0)]

    collections.create_collection(project=copy.project, name="scores")
    tools.acquire_draft_lock(tool=copy, actor=alice, draft_head_id=str(copy.draft_head_id))
    tools.save_draft(
        version=copy.draft_head,
        actor=alice,
        expected_parent_version_id=copy.draft_head_id,
        content=tools.ContentEdit(source_code="def run_tool(i, o):\n    return 'changed'\n"),
    )
    merge_url = f"/api/v1/projects/{sandbox_id}/merge"
    plan = client.post(merge_url, {"dry_run": True}, format="json").json()
    assert plan["collections_to_add"] == ["scores"]
    assert [t["action"] for t in plan["tools_to_propose"]] == ["update"]

    merged = client.post(merge_url, {}, format="json")
    assert merged.status_code == 200, merged.json()
    assert merged.json()["collections_created"] == ["scores"]
    tool.refresh_from_db()
    assert "changed" in tool.draft_head.source_code
    assert CollectionItem.objects.filter(collection=books).count() == 1
