"""The toolkit's `collections` helper end to end: tool code in the real sandbox talks to the
worker's bridge, which acts on committed rows of the run's project only (SPEC §6, §11)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import ApiToken, User
from apps.kvcollections.models import Collection, CollectionItem
from apps.kvcollections.services import create_collection, put_items
from apps.projects.access import assign_role
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


def test_a_viewer_running_a_published_tool_writes_through_the_run_token(owner, project, scores):
    viewer = UserFactory(email="vera@example.com")
    assign_role(user=viewer, project=project, role=ProjectRole.VIEWER)
    tool = published_in(project, owner, reporting_tool(("set", "set", ("scores", "vera", "1"))))
    assert report(execute(queue_production_run(tool, viewer).pk)) == {"set": None}
    assert items(scores)["vera"] == "1"


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
