"""Provisioning sandbox projects through POST /api/v1/projects/{id}/sandboxes (SPEC §8;
collections-behaviour.md §1.4, §4.1, cases 78-80): what is copied, what never is, who may, which
names and depths are refused, and that a failure half-way leaves nothing behind."""

import pytest

from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection, CollectionItem
from apps.locks.models import DraftLock
from apps.projects import services as project_services
from apps.projects.access import memberships_of
from apps.projects.models import Project, ProjectMembership, ProjectRole
from apps.runs.models import RunContext, ToolRun, ToolSession
from apps.sandbox_projects import services
from apps.tools import access as tool_access
from apps.tools import services as tools
from apps.tools.models import Tool, ToolMaintainer, ToolVersion, VersionState
from apps.tools.services import sandboxes as tool_copies
from tests.concurrency import run_together
from tests.factories import UserFactory, make_project
from tests.factories.runs import error_of, published_tool
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db

V1 = "/api/v1/projects"


def sandboxes_url(project):
    return f"{V1}/{project.pk if isinstance(project, Project) else project}/sandboxes"


def provision(client, parent, **body):
    return client.post(sandboxes_url(parent), body, format="json")


def source(label):
    return f"def run_tool(input_dir, output_dir):\n    return {label!r}\n"


@pytest.fixture
def ada(db):
    return UserFactory(email="ada@example.com", contributor=True)


@pytest.fixture
def vera(db):
    return UserFactory(email="vera@example.com")


@pytest.fixture
def parent(alice, bob, ada, vera):
    """Alice owns it, Ada is admin, Bob editor, Vera viewer (Charlie is an outsider)."""
    return make_project(
        {
            alice: ProjectRole.OWNER,
            ada: ProjectRole.ADMIN,
            bob: ProjectRole.EDITOR,
            vera: ProjectRole.VIEWER,
        },
        name="School",
        description="Grading tools for the school.",
        colour="#112233",
    )


def roles_in(project):
    return {m.user.email: m.role for m in memberships_of(project)}


def collection_rows(project):
    rows = Collection.objects.filter(project=project).order_by("name")
    return list(rows.values_list("name", "item_count", "byte_size"))


# --- What is copied ------------------------------------------------------------------------------


def test_provision_creates_the_sandbox_project_with_the_parents_description_and_colour(
    alice, parent, api_client_for
):
    response = provision(api_client_for(alice), parent, name="Try grading")
    assert response.status_code == 201, response.json()
    body = response.json()
    sandbox = Project.objects.get(pk=body["id"])
    assert (body["name"], body["parent_id"], body["role"]) == (
        "Try grading",
        str(parent.pk),
        "owner",
    )
    assert (sandbox.parent_id, sandbox.description, sandbox.colour) == (
        parent.pk,
        "Grading tools for the school.",
        "#112233",
    )
    assert (sandbox.created_by_id, sandbox.deletion_scheduled_at) == (alice.pk, None)


def test_a_given_colour_wins_over_the_parents(alice, parent, api_client_for):
    response = provision(api_client_for(alice), parent, name="Red", colour="#aa0000")
    assert response.status_code == 201, response.json()
    assert Project.objects.get(pk=response.json()["id"]).colour == "#aa0000"


def test_members_are_copied_the_actor_owns_and_parent_owners_become_admins(
    alice, bob, parent, api_client_for
):
    second_owner = UserFactory(email="otto@example.com")
    project_services.add_member(
        project=parent,
        actor_role=ProjectRole.OWNER,
        email=second_owner.email,
        role=ProjectRole.OWNER,
    )
    response = provision(api_client_for(bob), parent, name="Bob's try")
    assert response.status_code == 201, response.json()
    sandbox = Project.objects.get(pk=response.json()["id"])
    assert roles_in(sandbox) == {
        "alice@example.com": ProjectRole.ADMIN,
        "otto@example.com": ProjectRole.ADMIN,
        "ada@example.com": ProjectRole.ADMIN,
        "bob@example.com": ProjectRole.OWNER,  # his editor role is replaced, not doubled
        "vera@example.com": ProjectRole.VIEWER,
    }
    assert ProjectMembership.objects.filter(content_object=sandbox).count() == 5
    assert roles_in(parent)["bob@example.com"] == ProjectRole.EDITOR  # the parent is untouched


def test_the_owner_provisioning_stays_owner(alice, parent, api_client_for):
    response = provision(api_client_for(alice), parent, name="Mine")
    sandbox = Project.objects.get(pk=response.json()["id"])
    assert roles_in(sandbox)["alice@example.com"] == ProjectRole.OWNER
    assert roles_in(sandbox)["bob@example.com"] == ProjectRole.EDITOR


@pytest.fixture
def parent_tools(alice, bob, parent):
    """Four tools whose latest version comes from each place latest_version looks:
    a draft head over an active version, an active version alone, a version in review (no head,
    no active) and no version at all."""
    edited = published_tool(alice, source("active"), project=parent)
    Tool.objects.filter(pk=edited.pk).update(title="Edited", summary="Has a draft")
    edited.refresh_from_db()
    tool_access.assign_maintainer(user=bob, tool=edited)
    head = tools.create_draft(
        tool=edited,
        actor=alice,
        content=tools.ContentEdit(source_code=source("draft head"), usage_instructions="Read me"),
    )
    tools.acquire_draft_lock(tool=edited, actor=alice, draft_head_id=str(head.pk))
    stable = published_tool(alice, source("stable"), project=parent)
    in_review = make_publishable(make_tool(owner=bob, project=parent, title="In review"))
    draft = make_draft(in_review, bob, source("in review"))
    tools.acquire_draft_lock(tool=in_review, actor=bob, draft_head_id=str(draft.pk))
    tools.submit_for_review(version=draft, actor=bob)
    bare = make_tool(owner=alice, project=parent, title="Bare")
    return {"edited": edited, "stable": stable, "in_review": in_review, "bare": bare}


def test_every_tool_is_copied_with_its_metadata_maintainers_taxonomy_and_origin(
    alice, parent, parent_tools, api_client_for
):
    response = provision(api_client_for(alice), parent, name="Copies")
    assert response.status_code == 201, response.json()
    sandbox_id = response.json()["id"]
    copies = {copy.origin_id: copy for copy in Tool.objects.filter(project_id=sandbox_id)}
    assert set(copies) == {tool.pk for tool in parent_tools.values()}
    for origin in parent_tools.values():
        origin.refresh_from_db()
        copy = copies[origin.pk]
        assert copy.pk != origin.pk
        assert (copy.slug, copy.title, copy.summary, copy.owner_id) == (
            origin.slug,
            origin.title,
            origin.summary,
            origin.owner_id,
        )
        assert (copy.is_published, copy.active_version_id) == (False, None)
        assert set(copy.professions.values_list("slug", flat=True)) == set(
            origin.professions.values_list("slug", flat=True)
        )
        assert set(copy.categories.values_list("slug", flat=True)) == set(
            origin.categories.values_list("slug", flat=True)
        )
        maintainers = ToolMaintainer.objects.filter(content_object=copy)
        assert set(maintainers.values_list("user_id", "permission_id")) == set(
            ToolMaintainer.objects.filter(content_object=origin).values_list(
                "user_id", "permission_id"
            )
        )
    assert copies[parent_tools["edited"].pk].professions.exists()  # taxonomy really copied
    assert (
        ToolMaintainer.objects.filter(content_object=copies[parent_tools["edited"].pk]).count() == 2
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [("edited", "draft head"), ("stable", "stable"), ("in_review", "in review")],
)
def test_the_copy_has_the_origins_latest_version_as_its_only_draft_head(
    alice, parent, parent_tools, api_client_for, name, expected
):
    response = provision(api_client_for(alice), parent, name="Heads")
    origin = Tool.objects.get(pk=parent_tools[name].pk)
    copy = Tool.objects.get(project_id=response.json()["id"], origin=origin)
    [version] = ToolVersion.objects.filter(tool=copy)
    assert copy.draft_head_id == version.pk
    assert (version.state, version.version_number, version.created_by_id) == (
        VersionState.DRAFT,
        1,
        alice.pk,
    )
    assert version.source_code == source(expected)
    latest = tool_copies.latest_version(origin)
    assert version.content_hash == latest.content_hash
    if name == "edited":
        assert version.usage_instructions == "Read me"


def test_a_tool_without_versions_is_copied_without_a_head_and_nothing_is_locked_or_published(
    alice, parent, parent_tools, api_client_for
):
    response = provision(api_client_for(alice), parent, name="Bare")
    sandbox_tools = Tool.objects.filter(project_id=response.json()["id"])
    bare = sandbox_tools.get(origin=parent_tools["bare"])
    assert (bare.draft_head_id, bare.versions.count()) == (None, 0)
    assert not sandbox_tools.filter(is_published=True).exists()
    assert not ToolVersion.objects.filter(tool__in=sandbox_tools).exclude(state="draft").exists()
    assert not DraftLock.objects.filter(tool__in=sandbox_tools).exists()
    # The parent's tools are exactly as they were.
    assert DraftLock.objects.get(tool=parent_tools["edited"]).holder_id == alice.pk
    assert Tool.objects.filter(project=parent, origin__isnull=False).count() == 0


def test_runs_sessions_and_settings_are_never_copied(alice, parent, parent_tools, api_client_for):
    stable = parent_tools["stable"]
    ToolRun.objects.create(
        tool=stable,
        version=stable.active_version,
        context=RunContext.PRODUCTION,
        requested_by=alice,
        session_context="default",
    )
    ToolSession.objects.create(tool=stable, user=alice, context="default", state={"n": 1})
    ToolSession.objects.create(tool=stable, user=alice, context="settings", state={"x": 2})
    response = provision(api_client_for(alice), parent, name="No history")
    copies = Tool.objects.filter(project_id=response.json()["id"])
    assert not ToolRun.objects.filter(tool__in=copies).exists()
    assert not ToolSession.objects.filter(tool__in=copies).exists()
    assert ToolSession.objects.count() == 2 and ToolRun.objects.count() == 1


# --- Collections (cases 78-80) -------------------------------------------------------------------


def test_case_78_one_empty_collection_per_parent_collection_items_never_copied(
    alice, parent, api_client_for
):
    collections.create_collection(project=parent, name="col-a")
    col_b = collections.create_collection(project=parent, name="col-b")
    collections.put_item(collection=col_b, key="k", value='"secret"')
    response = provision(api_client_for(alice), parent, name="Collections")
    assert response.status_code == 201, response.json()
    sandbox_id = response.json()["id"]
    assert collection_rows(sandbox_id) == [("col-a", 0, 0), ("col-b", 0, 0)]
    assert not CollectionItem.objects.filter(collection__project_id=sandbox_id).exists()
    assert collection_rows(parent) == [("col-a", 0, 0), ("col-b", 1, 9)]
    assert CollectionItem.objects.get(collection=col_b).value == '"secret"'


def test_case_79_a_parent_without_collections_gives_a_sandbox_without_any(
    alice, parent, api_client_for
):
    response = provision(api_client_for(alice), parent, name="Empty")
    assert response.status_code == 201
    assert collection_rows(response.json()["id"]) == []


def test_case_80_two_sandboxes_each_get_their_own_copies(alice, parent, api_client_for):
    collections.create_collection(project=parent, name="books")
    client = api_client_for(alice)
    first = provision(client, parent, name="One").json()["id"]
    second = provision(client, parent, name="Two").json()["id"]
    one, two = (Collection.objects.get(project_id=pk, name="books") for pk in (first, second))
    assert one.pk != two.pk
    assert Collection.objects.filter(name="books").count() == 3


# --- Who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 201), ("ada", 201), ("bob", 201), ("vera", 403), ("charlie", 404)],
)
def test_role_matrix(request, parent, api_client_for, persona, status):
    user = request.getfixturevalue(persona)
    response = provision(api_client_for(user), parent, name=f"By {persona}")
    assert response.status_code == status, response.json()
    sandboxes = Project.objects.filter(parent=parent)
    if status == 201:
        assert sandboxes.get().created_by_id == user.pk
    else:
        code = {403: "FORBIDDEN", 404: "NOT_FOUND"}[status]
        error_of(response, status, code)
        assert not sandboxes.exists()


def test_anonymous_is_401(parent, anon_client):
    error_of(provision(anon_client, parent, name="Anon"), 401)
    error_of(anon_client.get(sandboxes_url(parent)), 401)
    assert not Project.objects.filter(parent=parent).exists()


def test_unknown_malformed_and_scheduled_parents_are_not_found(alice, parent, api_client_for):
    client = api_client_for(alice)
    error_of(provision(client, "0" * 8 + "-0000-0000-0000-" + "0" * 12, name="X"), 404)
    assert provision(client, "not-a-uuid", name="X").status_code in (400, 404)
    project_services.schedule_project_deletion(project=parent, actor=alice)
    error_of(provision(client, parent, name="X"), 404, "NOT_FOUND")
    assert not Project.objects.filter(parent=parent).exists()


# --- Names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 121},
        {"name": 12},
        {"name": None},
        {"name": ["Try"]},
        {"name": {"n": "Try"}},
        {"name": "Tr\x00y"},
        {"name": "Try", "colour": "#ABCDEF"},
        {"name": "Try", "colour": "red"},
        {"name": "Try", "colour": 5},
    ],
)
def test_bad_bodies_are_422_and_create_nothing(alice, parent, api_client_for, body):
    error = error_of(provision(api_client_for(alice), parent, **body), 422, "VALIDATION_ERROR")
    assert error["details"]
    assert not Project.objects.filter(parent=parent).exists()


def test_non_object_bodies_are_4xx(alice, parent, api_client_for):
    client = api_client_for(alice)
    for raw in ("[]", '"Try"', "{", "null"):
        response = client.post(sandboxes_url(parent), raw, content_type="application/json")
        assert 400 <= response.status_code < 500, (raw, response.status_code)
    assert not Project.objects.filter(parent=parent).exists()


def test_a_name_of_120_characters_is_accepted(alice, parent, api_client_for):
    response = provision(api_client_for(alice), parent, name="x" * 120)
    assert response.status_code == 201, response.json()
    assert Project.objects.get(parent=parent).name == "x" * 120


def test_a_duplicate_name_in_the_same_parent_is_409(alice, bob, parent, api_client_for):
    assert provision(api_client_for(alice), parent, name="Try").status_code == 201
    error = error_of(provision(api_client_for(bob), parent, name="Try"), 409, "SANDBOX_NAME_TAKEN")
    assert error["details"] == {"name": "Try"}
    assert Project.objects.filter(parent=parent).count() == 1


def test_the_same_name_under_another_parent_is_fine(alice, parent, api_client_for):
    other = make_project({alice: ProjectRole.OWNER}, name="Other")
    client = api_client_for(alice)
    assert provision(client, parent, name="Try").status_code == 201
    assert provision(client, other, name="Try").status_code == 201
    # A sandbox of the sandbox may carry the name too: its parent is another project.
    first = Project.objects.get(parent=parent)
    assert provision(client, first, name="Try").status_code == 201


def test_a_name_freed_by_scheduled_deletion_can_be_used_again(alice, parent, api_client_for):
    client = api_client_for(alice)
    old = provision(client, parent, name="Try").json()["id"]
    assert client.delete(f"{V1}/{old}").status_code == 202
    response = provision(client, parent, name="Try")
    assert response.status_code == 201, response.json()
    assert Project.objects.filter(parent=parent, name="Try").count() == 2
    assert Project.objects.live().get(parent=parent, name="Try").pk != old


# --- Depth ---------------------------------------------------------------------------------------


def test_depth_three_is_allowed_and_depth_four_is_422(alice, parent, api_client_for, settings):
    assert settings.SANDBOX_PROJECT_MAX_DEPTH == 3
    client = api_client_for(alice)
    level = parent
    for depth in (1, 2, 3):
        response = provision(client, level, name=f"Depth {depth}")
        assert response.status_code == 201, response.json()
        level = Project.objects.get(pk=response.json()["id"])
        assert project_services.depth_of(level.pk) == depth
    error = error_of(provision(client, level, name="Depth 4"), 422, "SANDBOX_TOO_DEEP")
    assert error["details"] == {"max_depth": 3}
    assert not Project.objects.filter(parent=level).exists()


def test_the_depth_limit_is_a_setting(alice, parent, api_client_for, settings):
    settings.SANDBOX_PROJECT_MAX_DEPTH = 1
    client = api_client_for(alice)
    child = provision(client, parent, name="One").json()["id"]
    error_of(provision(client, child, name="Two"), 422, "SANDBOX_TOO_DEEP")


# --- All or nothing ------------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


def everything_in_sandboxes():
    sandboxes = Project.objects.filter(parent__isnull=False)
    return {
        "projects": sandboxes.count(),
        "memberships": ProjectMembership.objects.filter(content_object__in=sandboxes).count(),
        "tools": Tool.objects.filter(project__in=sandboxes).count(),
        "versions": ToolVersion.objects.filter(tool__project__in=sandboxes).count(),
        "maintainers": ToolMaintainer.objects.filter(content_object__project__in=sandboxes).count(),
        "collections": Collection.objects.filter(project__in=sandboxes).count(),
    }


NOTHING = {
    "projects": 0,
    "memberships": 0,
    "tools": 0,
    "versions": 0,
    "maintainers": 0,
    "collections": 0,
}


def test_a_failure_after_the_last_write_step_leaves_nothing(
    alice, parent, parent_tools, api_client_for, monkeypatch
):
    collections.create_collection(project=parent, name="books")
    real = collections.create_empty_collections

    def create_then_fail(**kwargs):
        assert real(**kwargs) == ["books"]  # the rows were really written before the failure
        raise Boom()

    monkeypatch.setattr(collections, "create_empty_collections", create_then_fail)
    client = api_client_for(alice)
    client.raise_request_exception = False
    assert provision(client, parent, name="Doomed").status_code == 500
    assert everything_in_sandboxes() == NOTHING
    monkeypatch.undo()
    assert provision(client, parent, name="Doomed").status_code == 201  # nothing left in the way


def test_a_failure_while_copying_tools_leaves_nothing(alice, parent, parent_tools, monkeypatch):
    real = tool_copies.copy_tools_into

    def copy_then_fail(**kwargs):
        assert len(real(**kwargs)) == 4
        raise Boom()

    monkeypatch.setattr(tool_copies, "copy_tools_into", copy_then_fail)
    with pytest.raises(Boom):
        services.provision_sandbox(parent=parent, actor=alice, name="Doomed")
    assert everything_in_sandboxes() == NOTHING
    assert Tool.objects.filter(project=parent).count() == 4


# --- Listing -------------------------------------------------------------------------------------


def test_list_shows_live_sandboxes_to_members_only(alice, bob, charlie, parent, api_client_for):
    client = api_client_for(alice)
    first = provision(client, parent, name="First").json()["id"]
    second = provision(client, parent, name="Second").json()["id"]
    gone = provision(client, parent, name="Gone").json()["id"]
    nested = provision(client, first, name="Nested").json()["id"]
    client.delete(f"{V1}/{gone}")
    listed = client.get(sandboxes_url(parent))
    assert listed.status_code == 200
    assert [(s["id"], s["role"]) for s in listed.json()["results"]] == [
        (first, "owner"),
        (second, "owner"),
    ]
    assert [s["id"] for s in client.get(sandboxes_url(first)).json()["results"]] == [nested]
    # Bob (editor of the parent) sees them; once removed from one he no longer does.
    project_services.remove_member(
        project=Project.objects.get(pk=second),
        actor=alice,
        actor_role=ProjectRole.OWNER,
        member_id=bob.pk,
    )
    bobs = api_client_for(bob).get(sandboxes_url(parent)).json()["results"]
    assert [(s["id"], s["role"]) for s in bobs] == [(first, "editor")]
    error_of(api_client_for(charlie).get(sandboxes_url(parent)), 404, "NOT_FOUND")


# --- Two at once ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_provisions_with_one_name_at_once_give_one_sandbox(alice, bob, parent):
    results = run_together(
        lambda: services.provision_sandbox(parent=parent, actor=alice, name="Race").pk,
        lambda: services.provision_sandbox(parent=parent, actor=bob, name="Race").pk,
    )
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"], results
    [error] = [value for kind, value in results if kind == "error"]
    assert error.code == "SANDBOX_NAME_TAKEN"
    assert Project.objects.filter(parent=parent).count() == 1
    assert everything_in_sandboxes()["memberships"] == 4
