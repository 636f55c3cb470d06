"""Merging a sandbox project back: POST /api/v1/projects/{sandbox_id}/merge (SPEC §8;
collections-behaviour.md §4.4 additive rule, cases 81-89, §5.4, §7.2-7.4). The dry run is the
plan and writes nothing; the merge creates the selected missing collections empty, writes the
selected tools as drafts, never deletes or empties anything and never copies items."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models.functions import Now

from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection, CollectionItem
from apps.locks.models import DraftLock
from apps.projects import services as project_services
from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.sandbox_projects import services
from apps.sandbox_projects.models import MergeRecord
from apps.tools import access as tool_access
from apps.tools import services as tools
from apps.tools.models import MaintainerChange, Tool, ToolMaintainer, ToolVersion, VersionState
from apps.tools.services import sandboxes as tool_copies
from tests.concurrency import run_together
from tests.factories import UserFactory, make_project
from tests.factories.runs import error_of, published_tool
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db

V1 = "/api/v1/projects"


def code(label):
    return f"def run_tool(input_dir, output_dir):\n    return {label!r}\n"


def merge(client, sandbox, **body):
    return client.post(f"{V1}/{sandbox.pk}/merge", body, format="json")


def names(project):
    return sorted(Collection.objects.filter(project=project).values_list("name", flat=True))


def edit(tool, user, label):
    """Save new content over the tool's draft head (taking its lock)."""
    tool = Tool.objects.get(pk=tool.pk)
    tools.acquire_draft_lock(tool=tool, actor=user, draft_head_id=str(tool.draft_head_id))
    return tools.save_draft(
        version=tool.draft_head,
        actor=user,
        expected_parent_version_id=tool.draft_head_id,
        content=tools.ContentEdit(source_code=code(label)),
    )


def head_of(tool):
    return Tool.objects.get(pk=tool.pk).draft_head


def snapshot():
    """Everything a merge could write: compare before and after to prove nothing was."""
    return {
        "collections": sorted(Collection.objects.values_list("project_id", "name", "item_count")),
        "items": CollectionItem.objects.count(),
        "tools": sorted(Tool.objects.values_list("pk", "draft_head_id", "slug")),
        "versions": sorted(ToolVersion.objects.values_list("pk", "state")),
        "locks": sorted(DraftLock.objects.values_list("tool_id", "draft_head_id", "holder_id")),
        "records": MergeRecord.objects.count(),
    }


@pytest.fixture
def ada(db):
    return UserFactory(email="ada@example.com", contributor=True)


@pytest.fixture
def vera(db):
    return UserFactory(email="vera@example.com", contributor=True)


@pytest.fixture
def world(alice, bob, ada, vera, project):
    """The project (Alice owner, Ada admin, Bob editor, Vera viewer) with collections `books`
    (one item) and `shared`, a tool with a draft head (Bob maintains it too), and Alice's
    sandbox of it."""
    assign_role(user=ada, project=project, role=ProjectRole.ADMIN)
    assign_role(user=vera, project=project, role=ProjectRole.VIEWER)
    books = collections.create_collection(project=project, name="books")
    collections.put_item(collection=books, key="k", value='"parent"')
    collections.create_collection(project=project, name="shared")
    grader = make_tool(owner=alice, project=project, title="Grader")
    make_draft(grader, alice, code("v1"))
    tool_access.assign_maintainer(user=bob, tool=grader)
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try")
    copy = Tool.objects.get(project=sandbox, origin=grader)
    return {"project": project, "sandbox": sandbox, "books": books, "grader": grader, "copy": copy}


# --- Dry run -------------------------------------------------------------------------------------


def test_dry_run_returns_the_plan_and_writes_nothing(alice, bob, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    collections.create_collection(project=sandbox, name="scores")
    collections.create_collection(project=project, name="parent-only")
    edit(world["copy"], alice, "changed")
    fresh = make_tool(owner=alice, project=sandbox, title="Fresh")
    make_draft(fresh, alice, code("fresh"))
    before = snapshot()
    response = merge(api_client_for(alice), sandbox, dry_run=True)
    assert response.status_code == 200, response.json()
    plan = response.json()
    assert (plan["source_project_id"], plan["target_project_id"]) == (
        str(sandbox.pk),
        str(project.pk),
    )
    assert plan["collections_to_add"] == ["scores"]
    assert plan["collections_untouched"] == ["parent-only"]
    by_title = {t["title"]: t for t in plan["tools_to_propose"]}
    assert by_title["Grader"] == {
        "source_tool_id": str(world["copy"].pk),
        "title": "Grader",
        "slug": world["copy"].slug,
        "target_tool_id": str(world["grader"].pk),
        "action": "update",
        "locked_by_user_id": None,
    }
    assert (by_title["Fresh"]["action"], by_title["Fresh"]["target_tool_id"]) == ("create", None)
    assert plan["tools_locked"] == []
    assert snapshot() == before


def test_dry_run_lists_tools_locked_by_someone_else(alice, bob, world, api_client_for):
    edit(world["copy"], alice, "changed")
    grader = world["grader"]
    tools.acquire_draft_lock(tool=grader, actor=bob, draft_head_id=str(head_of(grader).pk))
    plan = merge(api_client_for(alice), world["sandbox"], dry_run=True).json()
    assert [(t["target_tool_id"], t["locked_by_user_id"]) for t in plan["tools_locked"]] == [
        (str(grader.pk), bob.pk)
    ]
    # Bob's own lock does not block Bob: merging as him lists nothing locked.
    assign_role(user=bob, project=world["sandbox"], role=ProjectRole.ADMIN)
    assert merge(api_client_for(bob), world["sandbox"], dry_run=True).json()["tools_locked"] == []


# --- Collections (cases 81-87) -------------------------------------------------------------------


def test_case_81_and_85_missing_collections_are_created_empty_items_never_copied(
    alice, world, api_client_for
):
    sandbox, project = world["sandbox"], world["project"]
    scores = collections.create_collection(project=sandbox, name="scores")
    collections.put_item(collection=scores, key="anna", value="12")
    mine = Collection.objects.get(project=sandbox, name="books")
    collections.put_item(collection=mine, key="k", value='"sandbox"')
    response = merge(api_client_for(alice), sandbox)
    assert response.status_code == 200, response.json()
    assert response.json()["collections_created"] == ["scores"]
    assert names(project) == ["books", "scores", "shared"]
    created = Collection.objects.get(project=project, name="scores")
    assert (created.item_count, created.byte_size) == (0, 0)
    assert not CollectionItem.objects.filter(collection=created).exists()
    # Names in both: untouched in both directions.
    assert CollectionItem.objects.get(collection=world["books"]).value == '"parent"'
    assert CollectionItem.objects.get(collection=mine).value == '"sandbox"'
    assert CollectionItem.objects.get(collection=scores).value == "12"


def test_case_83_equal_sets_are_a_no_op(alice, world, api_client_for):
    before = snapshot()
    response = merge(api_client_for(alice), world["sandbox"])
    assert response.status_code == 200, response.json()
    assert (response.json()["collections_created"], response.json()["tools_proposed"]) == ([], [])
    after = snapshot()
    assert after["records"] == before["records"] + 1
    assert {**after, "records": 0} == {**before, "records": 0}


def test_case_82_inverted_the_targets_extra_collections_survive_with_their_items(
    alice, world, api_client_for
):
    sandbox, project = world["sandbox"], world["project"]
    extra = collections.create_collection(project=project, name="extra")
    collections.put_item(collection=extra, key="x", value="1")
    # The sandbox lost one of the parent's names too.
    collections.delete_collection(collection=Collection.objects.get(project=sandbox, name="books"))
    plan = merge(api_client_for(alice), sandbox, dry_run=True).json()
    assert plan["collections_untouched"] == ["books", "extra"]
    assert merge(api_client_for(alice), sandbox).status_code == 200
    assert names(project) == ["books", "extra", "shared"]
    assert CollectionItem.objects.get(collection=extra).value == "1"
    assert CollectionItem.objects.get(collection=world["books"]).value == '"parent"'


def test_a_rename_in_the_sandbox_adds_the_new_name_and_keeps_the_old_with_its_items(
    alice, world, api_client_for
):
    sandbox, project = world["sandbox"], world["project"]
    collections.rename_collection(
        collection=Collection.objects.get(project=sandbox, name="books"), name="library"
    )
    response = merge(api_client_for(alice), sandbox)
    assert response.json()["collections_created"] == ["library"]
    assert names(project) == ["books", "library", "shared"]
    assert CollectionItem.objects.get(collection=world["books"]).value == '"parent"'
    assert Collection.objects.get(project=project, name="library").item_count == 0


def test_case_86_a_merge_inside_a_rolled_back_transaction_leaves_the_target(alice, world):
    sandbox = world["sandbox"]
    collections.create_collection(project=sandbox, name="scores")
    edit(world["copy"], alice, "changed")
    before = snapshot()
    records = []

    def merge_then_undo():
        with transaction.atomic():
            records.append(
                services.merge_sandbox(source=sandbox, target=world["project"], actor=alice)
            )
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        merge_then_undo()
    assert records[0].collections_created == ["scores"]
    assert snapshot() == before


def test_case_87_88_merge_with_an_empty_body_takes_everything(alice, world, api_client_for):
    sandbox = world["sandbox"]
    collections.create_collection(project=sandbox, name="a")
    collections.create_collection(project=sandbox, name="b")
    edit(world["copy"], alice, "changed")
    response = api_client_for(alice).post(f"{V1}/{sandbox.pk}/merge")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["collections_created"] == ["a", "b"]
    assert [t["target_tool_id"] for t in body["tools_proposed"]] == [str(world["grader"].pk)]


# --- Tools ---------------------------------------------------------------------------------------


def test_a_changed_tool_becomes_the_new_draft_head_of_its_origin(alice, world, api_client_for):
    grader, copy = world["grader"], world["copy"]
    old_head = head_of(grader)
    edit(copy, alice, "changed")
    response = merge(api_client_for(alice), world["sandbox"])
    assert response.status_code == 200, response.json()
    new_head = head_of(grader)
    assert new_head.pk != old_head.pk
    assert (new_head.state, new_head.source_code, new_head.created_by_id) == (
        VersionState.DRAFT,
        code("changed"),
        alice.pk,
    )
    assert new_head.version_number == old_head.version_number + 1
    assert new_head.change_summary == "Merged from sandbox project Try"
    assert ToolVersion.objects.get(pk=old_head.pk).state == VersionState.SUPERSEDED
    assert response.json()["tools_proposed"] == [
        {
            "source_tool_id": str(copy.pk),
            "target_tool_id": str(grader.pk),
            "version_id": str(new_head.pk),
            "created": False,
        }
    ]
    # The sandbox keeps its own copy as it was.
    assert head_of(copy).source_code == code("changed")


def test_an_unchanged_tool_is_not_proposed(alice, world, api_client_for):
    plan = merge(api_client_for(alice), world["sandbox"], dry_run=True).json()
    assert plan["tools_to_propose"] == []
    head = head_of(world["grader"])
    merge(api_client_for(alice), world["sandbox"])
    assert head_of(world["grader"]).pk == head.pk


def test_a_change_to_a_published_tool_is_a_draft_and_publishes_nothing(
    alice, project, api_client_for
):
    live = published_tool(alice, code("live"), project=project)
    active = live.active_version_id
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try")
    edit(Tool.objects.get(project=sandbox, origin=live), alice, "better")
    assert merge(api_client_for(alice), sandbox).status_code == 200
    live.refresh_from_db()
    assert (live.active_version_id, live.is_published) == (active, True)
    assert live.draft_head.source_code == code("better")
    assert live.draft_head.state == VersionState.DRAFT


def test_a_new_sandbox_tool_becomes_a_new_tool_keeping_a_free_slug(
    alice, bob, world, api_client_for
):
    sandbox, project = world["sandbox"], world["project"]
    fresh = make_tool(owner=alice, project=sandbox, title="Fresh")
    Tool.objects.filter(pk=fresh.pk).update(slug="fresh", summary="New here")
    make_draft(fresh, alice, code("fresh"))
    assign_role(user=bob, project=sandbox, role=ProjectRole.ADMIN)
    response = merge(api_client_for(bob), sandbox)
    assert response.status_code == 200, response.json()
    [entry] = response.json()["tools_proposed"]
    created = Tool.objects.get(pk=entry["target_tool_id"])
    assert entry["created"] is True
    assert (created.project_id, created.slug, created.title, created.summary) == (
        project.pk,
        "fresh",
        "Fresh",
        "New here",
    )
    assert (created.owner_id, created.origin_id, created.is_published) == (bob.pk, None, False)
    assert list(
        ToolMaintainer.objects.filter(content_object=created).values_list("user_id", flat=True)
    ) == [bob.pk]
    assert MaintainerChange.objects.filter(tool=created, user=bob).exists()
    [version] = ToolVersion.objects.filter(tool=created)
    assert (created.draft_head_id, version.state, version.source_code) == (
        version.pk,
        VersionState.DRAFT,
        code("fresh"),
    )


def test_a_new_tool_whose_slug_is_taken_gets_a_placeholder(alice, world, api_client_for):
    sandbox = world["sandbox"]
    Tool.objects.filter(pk=world["grader"].pk).update(slug="grader")
    fresh = make_tool(owner=alice, project=sandbox, title="Another grader")
    Tool.objects.filter(pk=fresh.pk).update(slug="grader")
    Tool.objects.filter(pk=world["copy"].pk).update(slug="grader-copy")
    make_draft(fresh, alice, code("other"))
    [entry] = merge(api_client_for(alice), sandbox).json()["tools_proposed"]
    created = Tool.objects.get(pk=entry["target_tool_id"])
    assert created.slug == f"draft-{created.pk}"
    assert Tool.objects.get(pk=world["grader"].pk).slug == "grader"


def test_merging_a_new_tool_twice_does_not_duplicate_it(alice, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    fresh = make_tool(owner=alice, project=sandbox, title="Fresh")
    make_draft(fresh, alice, code("fresh"))
    client = api_client_for(alice)
    [first] = merge(client, sandbox).json()["tools_proposed"]
    assert merge(client, sandbox, dry_run=True).json()["tools_to_propose"] == []
    assert merge(client, sandbox).json()["tools_proposed"] == []
    edit(fresh, alice, "fresh again")
    plan = merge(client, sandbox, dry_run=True).json()["tools_to_propose"]
    assert [(t["action"], t["target_tool_id"]) for t in plan] == [
        ("update", first["target_tool_id"])
    ]
    [second] = merge(client, sandbox).json()["tools_proposed"]
    assert (second["target_tool_id"], second["created"]) == (first["target_tool_id"], False)
    assert Tool.objects.filter(project=project, title="Fresh").count() == 1
    assert head_of(Tool.objects.get(pk=first["target_tool_id"])).source_code == code("fresh again")


def test_a_sandbox_tool_without_content_is_not_proposed(alice, world, api_client_for):
    make_tool(owner=alice, project=world["sandbox"], title="Empty")
    plan = merge(api_client_for(alice), world["sandbox"], dry_run=True).json()
    assert plan["tools_to_propose"] == []
    assert merge(api_client_for(alice), world["sandbox"]).json()["tools_proposed"] == []
    assert not Tool.objects.filter(project=world["project"], title="Empty").exists()


def test_the_actors_lock_on_the_target_tool_moves_to_the_new_head(alice, world, api_client_for):
    grader = world["grader"]
    state = tools.acquire_draft_lock(
        tool=grader, actor=alice, draft_head_id=str(head_of(grader).pk)
    )
    edit(world["copy"], alice, "changed")
    assert merge(api_client_for(alice), world["sandbox"]).status_code == 200
    lock = DraftLock.objects.get(tool=grader)
    assert (lock.draft_head_id, lock.holder_id, lock.token) == (
        head_of(grader).pk,
        alice.pk,
        state.token,
    )


def test_a_lock_held_by_another_user_is_409_and_nothing_is_written(
    alice, bob, world, api_client_for
):
    grader, sandbox = world["grader"], world["sandbox"]
    tools.acquire_draft_lock(tool=grader, actor=bob, draft_head_id=str(head_of(grader).pk))
    collections.create_collection(project=sandbox, name="scores")
    edit(world["copy"], alice, "changed")
    before = snapshot()
    error = error_of(merge(api_client_for(alice), sandbox), 409, "DRAFT_LOCK_HELD")
    assert [(t["tool_id"], t["holder"]) for t in error["details"]["tools"]] == [
        (str(grader.pk), bob.pk)
    ]
    assert snapshot() == before
    assert "scores" not in names(world["project"])
    # Leaving the locked tool out of the selection lets the rest through.
    response = merge(api_client_for(alice), sandbox, tools=[])
    assert response.status_code == 200, response.json()
    assert response.json()["collections_created"] == ["scores"]
    assert head_of(grader).pk == before_head(before, grader)


def before_head(snap, tool):
    return {pk: head for pk, head, _ in snap["tools"]}[tool.pk]


def test_an_expired_lock_of_another_user_does_not_block(alice, bob, world, api_client_for):
    grader = world["grader"]
    tools.acquire_draft_lock(tool=grader, actor=bob, draft_head_id=str(head_of(grader).pk))
    # Now() is the statement's clock; the lock checks use the transaction's: go well back.
    DraftLock.objects.filter(tool=grader).update(expires_at=Now() - timedelta(hours=1))
    edit(world["copy"], alice, "changed")
    response = merge(api_client_for(alice), world["sandbox"])
    assert response.status_code == 200, response.json()
    assert head_of(grader).source_code == code("changed")


# --- Selection -----------------------------------------------------------------------------------


def test_selections_restrict_what_is_written(alice, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    for name in ("a", "b", "c"):
        collections.create_collection(project=sandbox, name=name)
    edit(world["copy"], alice, "changed")
    fresh = make_tool(owner=alice, project=sandbox, title="Fresh")
    make_draft(fresh, alice, code("fresh"))
    client = api_client_for(alice)
    response = merge(client, sandbox, collections=["c", "a"], tools=[str(fresh.pk)])
    assert response.status_code == 200, response.json()
    assert response.json()["collections_created"] == ["a", "c"]
    assert names(project) == ["a", "books", "c", "shared"]
    assert [t["source_tool_id"] for t in response.json()["tools_proposed"]] == [str(fresh.pk)]
    assert head_of(world["grader"]).source_code == code("v1")
    # What was left out is still on offer.
    plan = merge(client, sandbox, dry_run=True).json()
    assert plan["collections_to_add"] == ["b"]
    assert [t["source_tool_id"] for t in plan["tools_to_propose"]] == [str(world["copy"].pk)]
    empty = merge(client, sandbox, collections=[], tools=[]).json()
    assert (empty["collections_created"], empty["tools_proposed"]) == ([], [])


def test_unknown_selections_are_422_with_not_in_plan_and_write_nothing(
    alice, world, api_client_for
):
    sandbox = world["sandbox"]
    collections.create_collection(project=sandbox, name="scores")
    before = snapshot()
    client = api_client_for(alice)
    error = error_of(
        merge(client, sandbox, collections=["scores", "nope", "books"]), 422, "VALIDATION_ERROR"
    )
    assert error["details"] == {"field": "collections", "not_in_plan": ["books", "nope"]}
    stranger = str(uuid.uuid4())
    error = error_of(merge(client, sandbox, tools=[stranger]), 422, "VALIDATION_ERROR")
    assert error["details"] == {"field": "tools", "not_in_plan": [stranger]}
    # An unchanged tool is not in the plan either.
    error = error_of(merge(client, sandbox, tools=[str(world["copy"].pk)]), 422)
    assert error["details"]["not_in_plan"] == [str(world["copy"].pk)]
    assert snapshot() == before


# --- Targets -------------------------------------------------------------------------------------


def test_a_sibling_is_a_valid_target(alice, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    sibling = services.provision_sandbox(parent=project, actor=alice, name="Sibling")
    collections.create_collection(project=sandbox, name="scores")
    edit(world["copy"], alice, "changed")
    response = merge(api_client_for(alice), sandbox, target_project_id=str(sibling.pk))
    assert response.status_code == 200, response.json()
    assert response.json()["target_project_id"] == str(sibling.pk)
    assert "scores" in names(sibling) and "scores" not in names(project)
    sibling_copy = Tool.objects.get(project=sibling, origin=world["grader"])
    [entry] = response.json()["tools_proposed"]
    assert entry["target_tool_id"] == str(sibling_copy.pk)
    assert head_of(sibling_copy).source_code == code("changed")
    assert head_of(world["grader"]).source_code == code("v1")


def test_a_nested_sandbox_merges_into_its_own_parent(alice, world, api_client_for):
    nested = services.provision_sandbox(parent=world["sandbox"], actor=alice, name="Nested")
    collections.create_collection(project=nested, name="deep")
    response = merge(api_client_for(alice), nested)
    assert response.json()["target_project_id"] == str(world["sandbox"].pk)
    assert "deep" in names(world["sandbox"]) and "deep" not in names(world["project"])


def test_invalid_targets_are_422(alice, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    nested = services.provision_sandbox(parent=sandbox, actor=alice, name="Nested")
    unrelated = make_project({alice: ProjectRole.OWNER}, name="Unrelated")
    cousin = services.provision_sandbox(parent=unrelated, actor=alice, name="Cousin")
    before = snapshot()
    client = api_client_for(alice)
    for target in (sandbox, nested, unrelated, cousin):
        response = merge(client, sandbox, target_project_id=str(target.pk))
        error_of(response, 422, "INVALID_MERGE_TARGET")
        response = merge(client, sandbox, target_project_id=str(target.pk), dry_run=True)
        error_of(response, 422, "INVALID_MERGE_TARGET")
    # A grandparent is neither parent nor sibling.
    error_of(merge(client, nested, target_project_id=str(project.pk)), 422, "INVALID_MERGE_TARGET")
    assert snapshot() == before


def test_a_top_level_project_is_not_a_sandbox(alice, world, api_client_for):
    error_of(merge(api_client_for(alice), world["project"]), 422, "NOT_A_SANDBOX")
    error_of(merge(api_client_for(alice), world["project"], dry_run=True), 422, "NOT_A_SANDBOX")
    with pytest.raises(Exception, match="sandbox"):
        services.merge_sandbox(source=world["project"], target=world["sandbox"], actor=alice)


def test_unknown_and_scheduled_targets_are_404(alice, world, api_client_for):
    sandbox, project = world["sandbox"], world["project"]
    sibling = services.provision_sandbox(parent=project, actor=alice, name="Sibling")
    project_services.schedule_project_deletion(project=sibling, actor=alice)
    client = api_client_for(alice)
    for target in (uuid.uuid4(), sibling.pk):
        error_of(merge(client, sandbox, target_project_id=str(target)), 404, "NOT_FOUND")


def test_a_sandbox_scheduled_for_deletion_cannot_be_merged(alice, world, api_client_for):
    collections.create_collection(project=world["sandbox"], name="scores")
    project_services.schedule_project_deletion(project=world["sandbox"], actor=alice)
    error_of(merge(api_client_for(alice), world["sandbox"]), 404, "NOT_FOUND")
    assert "scores" not in names(world["project"])


# --- Who may -------------------------------------------------------------------------------------


def test_admin_of_the_source_and_editor_of_the_target_may_merge(
    alice, bob, ada, world, api_client_for
):
    sandbox = world["sandbox"]
    collections.create_collection(project=sandbox, name="scores")
    # Ada: admin in both (copied). Bob: made admin of the sandbox, editor of the target.
    assert merge(api_client_for(ada), sandbox, dry_run=True).status_code == 200
    assign_role(user=bob, project=sandbox, role=ProjectRole.ADMIN)
    response = merge(api_client_for(bob), sandbox)
    assert response.status_code == 200, response.json()
    assert MergeRecord.objects.get().actor_id == bob.pk


def test_an_editor_of_the_source_is_403(bob, world, api_client_for):
    collections.create_collection(project=world["sandbox"], name="scores")
    error = error_of(merge(api_client_for(bob), world["sandbox"]), 403, "FORBIDDEN")
    assert error["details"] == {"required_role": "admin", "your_role": "editor"}
    assert "scores" not in names(world["project"])


def test_a_viewer_of_the_target_is_403(vera, world, api_client_for):
    sandbox = world["sandbox"]
    assign_role(user=vera, project=sandbox, role=ProjectRole.ADMIN)
    collections.create_collection(project=sandbox, name="scores")
    for body in ({}, {"dry_run": True}):
        error = error_of(merge(api_client_for(vera), sandbox, **body), 403, "FORBIDDEN")
        assert error["details"] == {"required_role": "editor", "your_role": "viewer"}
    assert "scores" not in names(world["project"])


def test_outsiders_get_404(alice, charlie, world, api_client_for, anon_client):
    sandbox = world["sandbox"]
    error_of(merge(api_client_for(charlie), sandbox), 404, "NOT_FOUND")
    error_of(merge(anon_client, sandbox), 401)
    # Admin of the sandbox but no member of the target: the target is invisible.
    assign_role(user=charlie, project=sandbox, role=ProjectRole.ADMIN)
    error_of(merge(api_client_for(charlie), sandbox), 404, "NOT_FOUND")
    assert MergeRecord.objects.count() == 0


# --- The record ----------------------------------------------------------------------------------


def test_a_merge_record_is_stored_and_listed_for_source_and_target(
    alice, charlie, world, api_client_for
):
    sandbox, project = world["sandbox"], world["project"]
    collections.create_collection(project=sandbox, name="scores")
    edit(world["copy"], alice, "changed")
    body = merge(api_client_for(alice), sandbox).json()
    record = MergeRecord.objects.get()
    assert (record.actor_id, record.source_id, record.source_name, record.target_id) == (
        alice.pk,
        sandbox.pk,
        "Try",
        project.pk,
    )
    assert record.collections_created == ["scores"]
    assert record.tools_proposed == [
        {
            "source_tool_id": str(world["copy"].pk),
            "target_tool_id": str(world["grader"].pk),
            "version_id": str(head_of(world["grader"]).pk),
            "created": False,
        }
    ]
    assert record.request_id
    assert body["id"] == str(record.pk)
    for project_id in (project.pk, sandbox.pk):
        listed = api_client_for(alice).get(f"{V1}/{project_id}/merges")
        assert listed.status_code == 200
        assert listed.json()["results"] == [body]
    error_of(api_client_for(charlie).get(f"{V1}/{project.pk}/merges"), 404, "NOT_FOUND")


def test_merge_records_are_listed_newest_first(alice, world, api_client_for):
    sandbox = world["sandbox"]
    client = api_client_for(alice)
    collections.create_collection(project=sandbox, name="first")
    merge(client, sandbox)
    collections.create_collection(project=sandbox, name="second")
    merge(client, sandbox)
    listed = client.get(f"{V1}/{world['project'].pk}/merges").json()["results"]
    assert [r["collections_created"] for r in listed] == [["second"], ["first"]]


# --- Killed midway (case 89) ---------------------------------------------------------------------


class Killed(RuntimeError):
    pass


def test_a_merge_killed_after_the_collections_were_written_leaves_the_target_unchanged(
    alice, world, api_client_for, monkeypatch
):
    sandbox, project = world["sandbox"], world["project"]
    collections.create_collection(project=sandbox, name="scores")
    edit(world["copy"], alice, "changed")
    real = tool_copies.propose_drafts
    seen = []

    def killed(**kwargs):
        seen.append(names(project))
        real(**kwargs)  # the drafts are written too, then the process "dies"
        raise Killed()

    monkeypatch.setattr(tool_copies, "propose_drafts", killed)
    before = snapshot()
    client = api_client_for(alice)
    client.raise_request_exception = False
    assert merge(client, sandbox).status_code == 500
    assert seen == [["books", "scores", "shared"]]  # the collection was written before the kill
    assert snapshot() == before
    monkeypatch.undo()
    retry = merge(client, sandbox)
    assert retry.status_code == 200, retry.json()
    assert retry.json()["collections_created"] == ["scores"]
    assert head_of(world["grader"]).source_code == code("changed")


# --- Bad bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"dry_run": "maybe"},
        {"dry_run": [True]},
        {"collections": "scores"},
        {"collections": [1]},
        {"collections": [None]},
        {"collections": [["scores"]]},
        {"collections": ["sco\x00res"]},
        {"collections": ["x" * 256]},
        {"collections": {"scores": True}},
        {"tools": "all"},
        {"tools": ["not-a-uuid"]},
        {"tools": [12]},
        {"tools": [None]},
        {"target_project_id": "not-a-uuid"},
        {"target_project_id": 12},
        {"target_project_id": ["x"]},
        {"collections": [f"name-{i}" for i in range(20_000)]},
        {"tools": [str(uuid.uuid4()) for _ in range(5_000)]},
    ],
)
def test_bad_bodies_are_4xx_and_write_nothing(alice, world, api_client_for, body):
    collections.create_collection(project=world["sandbox"], name="scores")
    before = snapshot()
    response = merge(api_client_for(alice), world["sandbox"], **body)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert set(response.json()) == {"error", "request_id"}
    assert snapshot() == before


def test_non_object_bodies_are_4xx(alice, world, api_client_for):
    client = api_client_for(alice)
    for raw in ("[]", '"x"', "{", "null", "1e999999"):
        response = client.post(
            f"{V1}/{world['sandbox'].pk}/merge", raw, content_type="application/json"
        )
        assert 400 <= response.status_code < 500, (raw, response.status_code)
    assert MergeRecord.objects.count() == 0


def test_a_malformed_sandbox_id_is_4xx(alice, api_client_for):
    response = api_client_for(alice).post(f"{V1}/not-a-uuid/merge", {}, format="json")
    assert 400 <= response.status_code < 500


# --- Two at once ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_merges_into_one_target_at_once_create_each_name_once(alice, project):
    one = services.provision_sandbox(parent=project, actor=alice, name="One")
    two = services.provision_sandbox(parent=project, actor=alice, name="Two")
    for sandbox, own in ((one, "only-one"), (two, "only-two")):
        collections.create_collection(project=sandbox, name="both")
        collections.create_collection(project=sandbox, name=own)
    results = run_together(
        lambda: services.merge_sandbox(source=one, target=project, actor=alice),
        lambda: services.merge_sandbox(source=two, target=project, actor=alice),
    )
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    created = sorted(name for _, record in results for name in record.collections_created)
    assert created == ["both", "only-one", "only-two"]
    assert names(project) == ["both", "only-one", "only-two"]
    assert MergeRecord.objects.filter(target=project).count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_sandbox_merged_twice_at_once_writes_its_tool_once(alice, project):
    grader = make_tool(owner=alice, project=project, title="Grader")
    make_draft(grader, alice, code("v1"))
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try")
    edit(Tool.objects.get(project=sandbox), alice, "changed")
    results = run_together(
        lambda: services.merge_sandbox(source=sandbox, target=project, actor=alice),
        lambda: services.merge_sandbox(source=sandbox, target=project, actor=alice),
    )
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    written = sorted(len(record.tools_proposed) for _, record in results)
    assert written == [0, 1]
    assert ToolVersion.objects.filter(tool=grader).count() == 2
