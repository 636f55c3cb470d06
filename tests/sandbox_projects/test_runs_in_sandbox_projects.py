"""Tool runs in a sandbox project, end to end with the real runner (SPEC §8, §11): the sandbox's
copy of a published tool, previewed in the sandbox, writes to the SANDBOX's collection and the
parent's stays untouched; a preview in the top-level parent may read but never write.
transactional_db: the collections bridge runs in a worker thread and sees committed rows only."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.kvcollections.models import Collection, CollectionItem
from apps.kvcollections.services import create_collection, put_items
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.tools import services as tools
from apps.tools.models import Tool, VersionState
from tests.factories.accounts import UserFactory
from tests.factories.projects import make_project
from tests.factories.runs import execute, post_preview, published_tool, snapshot_payload
from tests.runs.helpers import RunDirs, isolated_run_dirs, queue_production_run

pytestmark = pytest.mark.django_db(transaction=True)

WRITER = """\
import json
from skriptoteket_toolkit import collections

def attempt(call, *args):
    try:
        return getattr(collections, call)(*args)
    except collections.CollectionError as error:
        return "error:" + error.code

def run_tool(input_dir, output_dir):
    report = {
        "before": attempt("get", "scores", "anna"),
        "set": attempt("set", "scores", "anna", "99"),
        "set_many": attempt("set_many", "scores", [{"key": "new", "value": "1"}]),
        "after": attempt("get", "scores", "anna"),
        "keys": [item["key"] for item in attempt("get_all", "scores") or []],
    }
    return {"outputs": [{"kind": "notice", "level": "info", "message": json.dumps(report)}]}
"""

PARENT_ITEMS = {"anna": "12", "arne": "3"}


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


@pytest.fixture
def owner(db: None):
    return UserFactory(email="olga@example.com", contributor=True)


@pytest.fixture
def school(owner) -> Project:
    return make_project({owner: ProjectRole.OWNER}, name="School")


@pytest.fixture
def scores(school) -> Collection:
    collection = create_collection(project=school, name="scores")
    put_items(collection=collection, items=list(PARENT_ITEMS.items()))
    return collection


@pytest.fixture
def writer(owner, school, scores) -> Tool:
    return published_tool(owner, WRITER, project=school)


def report(run: ToolRun) -> dict[str, Any]:
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    [output] = run.ui_payload["outputs"]
    return json.loads(output["message"])


def items(collection: Collection) -> dict[str, str]:
    return dict(CollectionItem.objects.filter(collection=collection).values_list("key", "value"))


def lock(client, tool: Tool) -> int:
    response = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock",
        {"draft_head_id": str(tool.draft_head_id)},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return int(response.json()["lock_token"])


def preview(client, tool: Tool) -> ToolRun:
    """Lock the tool's draft head and preview its own code through the API; run it now."""
    token = lock(client, tool)
    response = post_preview(
        client, tool.draft_head, snapshot_payload(tool.draft_head.source_code), lock_token=token
    )
    assert response.status_code == 202, response.json()
    return execute(response.json()["run_id"])


def provision(client, project: Project, name: str) -> Project:
    response = client.post(
        f"/api/v1/projects/{project.pk}/sandboxes", {"name": name}, format="json"
    )
    assert response.status_code == 201, response.json()
    return Project.objects.get(pk=response.json()["id"])


def test_the_sandbox_copy_writes_to_the_sandboxs_collection_and_the_parent_is_untouched(
    owner, school, scores, writer, api_client_for
):
    client = api_client_for(owner)
    sandbox = provision(client, school, "Try")
    copy = Tool.objects.get(project=sandbox, origin=writer)
    # The copy is not published: its draft head (the parent's active code) is previewed.
    assert (copy.is_published, copy.draft_head.state) == (False, VersionState.DRAFT)
    assert copy.draft_head.source_code == WRITER
    mine = Collection.objects.get(project=sandbox, name="scores")
    assert items(mine) == {}

    run = preview(client, copy)
    assert (run.context, run.tool_id) == (RunContext.SANDBOX, copy.pk)
    assert report(run) == {
        "before": None,  # the sandbox's namesake starts empty: items are never copied
        "set": None,
        "set_many": None,
        "after": "99",
        "keys": ["anna", "new"],
    }
    assert items(mine) == {"anna": "99", "new": "1"}
    assert items(scores) == PARENT_ITEMS


def test_a_preview_in_the_top_level_parent_reads_but_cannot_write(
    owner, school, scores, writer, api_client_for
):
    client = api_client_for(owner)
    provision(client, school, "Try")  # a sandbox with a namesake does not confuse the run
    got = report(preview(client, _new_head(writer, owner)))
    assert got == {
        "before": "12",
        "set": "error:PREVIEW_READ_ONLY",
        "set_many": "error:PREVIEW_READ_ONLY",
        "after": "12",
        "keys": ["anna", "arne"],
    }
    assert items(scores) == PARENT_ITEMS


def test_the_parents_production_run_writes_to_the_parent_only(
    owner, school, scores, writer, api_client_for
):
    sandbox = provision(api_client_for(owner), school, "Try")
    got = report(execute(queue_production_run(writer, owner).pk))
    assert (got["before"], got["after"]) == ("12", "99")
    assert items(scores) == {"anna": "99", "arne": "3", "new": "1"}
    assert items(Collection.objects.get(project=sandbox, name="scores")) == {}


def _new_head(tool: Tool, author) -> Tool:
    """Give the published tool a draft head with the same code (its editors' usual start)."""
    tools.create_draft(
        tool=Tool.objects.get(pk=tool.pk),
        actor=author,
        content=tools.ContentEdit(source_code=WRITER),
    )
    return Tool.objects.get(pk=tool.pk)
