"""The toolkit's `collections` helper end to end: tool code in the real sandbox talks to the
worker's bridge, which acts on committed rows of the run's project only (SPEC §6, §11)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import ApiToken, User
from apps.kvcollections.models import Collection, CollectionItem
from apps.kvcollections.services import create_collection, put_items
from apps.projects.access import assign_role, revoke_role
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunStatus, ToolRun
from tests.factories.accounts import UserFactory
from tests.factories.projects import make_project
from tests.factories.runs import execute
from tests.runs.helpers import (
    RunDirs,
    editor_world_in,
    isolated_run_dirs,
    published_in,
    queue_preview,
    queue_production_run,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Every call's result (or the CollectionError code it raised) in one JSON notice.
REPORTING_TOOL = """\
import json
from skriptoteket_toolkit import collections

def attempt(call, *args):
    try:
        return getattr(collections, call)(*args)
    except collections.CollectionError as error:
        return "error:" + error.code

def run_tool(input_dir, output_dir):
    report = {{}}
{calls}
    return {{"outputs": [{{"kind": "notice", "level": "info", "message": json.dumps(report)}}]}}
"""


def reporting_tool(*calls: tuple[str, str, tuple[Any, ...]]) -> str:
    """Source of a tool that makes each (label, call, args) and reports what it got."""
    lines = [f"    report[{label!r}] = attempt({call!r}, *{args!r})" for label, call, args in calls]
    return REPORTING_TOOL.format(calls="\n".join(lines))


def report(run: ToolRun) -> dict[str, Any]:
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    [output] = run.ui_payload["outputs"]
    return json.loads(output["message"])


def items(collection: Collection) -> dict[str, str]:
    rows = CollectionItem.objects.filter(collection=collection).values_list("key", "value")
    return dict(rows)


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory(email="olga@example.com", contributor=True)


@pytest.fixture
def project(owner: User) -> Project:
    return make_project({owner: ProjectRole.OWNER}, name="School")


@pytest.fixture
def scores(project: Project) -> Collection:
    collection = create_collection(project=project, name="scores")
    put_items(collection=collection, items=[("anna", "12"), ("arne", "3")])
    return collection


READ_WRITE_CALLS = (
    ("get_anna", "get", ("scores", "anna")),
    ("get_missing", "get", ("scores", "nobody")),
    ("set_bo", "set", ("scores", "bo", "7")),
    (
        "set_many",
        "set_many",
        ("scores", [{"key": "cy", "value": "1"}, {"key": "dan", "value": "2"}]),
    ),
    ("remove_arne", "remove", ("scores", "arne")),
    ("keys", "get_all", ("scores", "*")),
    ("a_keys", "get_all", ("scores", "a*")),
)


@pytest.mark.usefixtures("each_backend")
def test_production_run_reads_and_writes_its_projects_collection(owner, project, scores):
    tool = published_in(project, owner, reporting_tool(*READ_WRITE_CALLS))
    run = execute(queue_production_run(tool, owner).pk)
    got = report(run)
    assert (got["get_anna"], got["get_missing"], got["set_bo"], got["set_many"]) == (
        "12",
        None,
        None,
        None,
    )
    assert got["remove_arne"] == 1
    assert [item["key"] for item in got["keys"]] == ["anna", "bo", "cy", "dan"]
    assert set(got["keys"][0]) == {"key", "value", "created", "updated"}
    assert [item["key"] for item in got["a_keys"]] == ["anna"]
    assert items(scores) == {"anna": "12", "bo": "7", "cy": "1", "dan": "2"}
    # The token that authorised all of this is dead now.
    assert ApiToken.objects.get(run_id=run.pk).revoked_at is not None


# One call of each right the project roles grant: read, write, single delete, pattern delete.
EVERY_RIGHT = reporting_tool(
    ("get", "get", ("scores", "anna")),
    ("set", "set", ("scores", "new", "1")),
    ("remove_one", "remove", ("scores", "anna")),
    ("remove_pattern", "remove", ("scores", "a*")),
)
FORBIDDEN = "error:FORBIDDEN"


def test_a_viewer_running_a_published_tool_reads_but_cannot_write(owner, project, scores):
    # Before, the run token let every run write: a viewer's token got 403, their run did not.
    viewer = UserFactory(email="vera@example.com")
    assign_role(user=viewer, project=project, role=ProjectRole.VIEWER)
    tool = published_in(project, owner, EVERY_RIGHT)
    run = execute(queue_production_run(tool, viewer).pk)
    assert report(run) == {
        "get": "12",
        "set": FORBIDDEN,
        "remove_one": FORBIDDEN,
        "remove_pattern": FORBIDDEN,
    }
    assert items(scores) == {"anna": "12", "arne": "3"}
    assert run.requester_role == ProjectRole.VIEWER
    assert ApiToken.objects.get(run_id=run.pk).project_role == ProjectRole.VIEWER


def test_an_editors_run_writes_and_deletes_single_items_but_not_by_pattern(owner, project, scores):
    editor = UserFactory(email="edith@example.com")
    assign_role(user=editor, project=project, role=ProjectRole.EDITOR)
    tool = published_in(project, owner, EVERY_RIGHT)
    got = report(execute(queue_production_run(tool, editor).pk))
    assert got == {"get": "12", "set": None, "remove_one": 1, "remove_pattern": FORBIDDEN}
    assert items(scores) == {"arne": "3", "new": "1"}


@pytest.mark.parametrize("role", [ProjectRole.ADMIN, ProjectRole.OWNER])
def test_admin_and_owner_runs_may_delete_by_pattern(owner, project, scores, role):
    member = UserFactory(email="adam@example.com")
    assign_role(user=member, project=project, role=role)
    tool = published_in(project, owner, EVERY_RIGHT)
    got = report(execute(queue_production_run(tool, member).pk))
    assert got == {"get": "12", "set": None, "remove_one": 1, "remove_pattern": 1}
    assert items(scores) == {"new": "1"}


def test_the_role_is_read_when_the_run_starts_not_when_it_was_queued(owner, project, scores):
    editor = UserFactory(email="edith@example.com")
    assign_role(user=editor, project=project, role=ProjectRole.EDITOR)
    queued = queue_production_run(published_in(project, owner, EVERY_RIGHT), editor)
    assign_role(user=editor, project=project, role=ProjectRole.VIEWER)
    assert report(execute(queued.pk))["set"] == FORBIDDEN
    revoked = queue_production_run(queued.tool, editor)
    revoke_role(user=editor, project=project)
    run = execute(revoked.pk)
    # Not a member any more: not even reads.
    assert set(report(run).values()) == {FORBIDDEN}
    assert run.requester_role == ""
    assert items(scores) == {"anna": "12", "arne": "3"}


def test_collections_of_other_projects_are_not_found(owner, project, scores):
    # The owner is a member of the other project too: the run token still knows only this one.
    other = make_project({owner: ProjectRole.OWNER}, name="Other")
    secret = create_collection(project=other, name="secret")
    put_items(collection=secret, items=[("x", "hidden")])
    tool = published_in(
        project,
        owner,
        reporting_tool(
            ("read", "get", ("secret", "x")),
            ("write", "set", ("secret", "x", "changed")),
            ("bad_name", "get", ("../secret", "x")),
        ),
    )
    got = report(execute(queue_production_run(tool, owner).pk))
    assert got == {
        "read": "error:COLLECTION_NOT_FOUND",
        "write": "error:COLLECTION_NOT_FOUND",
        "bad_name": "error:COLLECTION_NOT_FOUND",
    }
    assert items(secret) == {"x": "hidden"}


@pytest.mark.usefixtures("each_backend")
def test_preview_in_a_top_level_project_reads_but_never_writes(owner, project, scores):
    world = editor_world_in(project, owner)
    source = reporting_tool(
        ("read", "get", ("scores", "anna")),
        ("all", "get_all", ("scores",)),
        ("set", "set", ("scores", "anna", "0")),
        ("set_many", "set_many", ("scores", [{"key": "z", "value": "1"}])),
        ("remove", "remove", ("scores", "a*")),
    )
    got = report(execute(queue_preview(world, source).pk))
    assert got["read"] == "12"
    assert [item["key"] for item in got["all"]] == ["anna", "arne"]
    assert (got["set"], got["set_many"], got["remove"]) == ("error:PREVIEW_READ_ONLY",) * 3
    assert items(scores) == {"anna": "12", "arne": "3"}


def test_preview_in_a_sandbox_project_writes_there_and_the_parent_stays_untouched(
    owner, project, scores
):
    sandbox = Project.objects.create(parent=project, name="School (sandbox)")
    assign_role(user=owner, project=sandbox, role=ProjectRole.OWNER)
    sandbox_scores = create_collection(project=sandbox, name="scores")
    world = editor_world_in(sandbox, owner)
    source = reporting_tool(
        ("before", "get", ("scores", "anna")),
        ("set", "set", ("scores", "anna", "99")),
        ("after", "get", ("scores", "anna")),
        ("remove", "remove", ("scores", "*")),
        ("set_again", "set", ("scores", "bo", "1")),
    )
    got = report(execute(queue_preview(world, source).pk))
    assert got == {"before": None, "set": None, "after": "99", "remove": 1, "set_again": None}
    assert items(sandbox_scores) == {"bo": "1"}
    assert items(scores) == {"anna": "12", "arne": "3"}


def test_a_viewer_maintainer_previewing_in_a_sandbox_project_only_reads(
    owner, project, scores, api_client_for
):
    """The reviewer's finding: a viewer who maintains a tool wrote and pattern-deleted items of
    a sandbox project through a preview, though their own token got 403 for both."""
    sandbox = Project.objects.create(parent=project, name="School (sandbox)")
    maintainer = UserFactory(email="mia@example.com", contributor=True)
    assign_role(user=maintainer, project=sandbox, role=ProjectRole.OWNER)
    sandbox_scores = create_collection(project=sandbox, name="scores")
    put_items(collection=sandbox_scores, items=[("anna", "1"), ("arne", "2")])
    world = editor_world_in(sandbox, maintainer)
    assign_role(user=maintainer, project=sandbox, role=ProjectRole.VIEWER)
    got = report(execute(queue_preview(world, EVERY_RIGHT).pk))
    assert got == {
        "get": "1",
        "set": FORBIDDEN,
        "remove_one": FORBIDDEN,
        "remove_pattern": FORBIDDEN,
    }
    token = api_client_for(maintainer)
    headers = {"HTTP_X_API_VERSION": "2"}
    url = f"/collections/{sandbox.pk}/scores"
    assert token.put(f"{url}/new", {"value": "1"}, format="json", **headers).status_code == 403
    assert token.delete(f"{url}?key=a*", **headers).status_code == 403
    assert items(sandbox_scores) == {"anna": "1", "arne": "2"}
