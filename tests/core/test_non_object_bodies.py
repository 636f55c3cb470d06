"""One condition, one status: a JSON body that is not an object (a list, string, number or null)
is 422 VALIDATION_ERROR on every /api/v1 operation that takes a JSON body (docs/api.md).

The operations come from the OpenAPI schema, so a new endpoint is covered without editing this
file; the path parameters name real objects the caller may change, so the body is what fails.
"""

import json
from typing import Any

import pytest

from apps.kvcollections import services as collection_services
from apps.projects.models import ProjectRole
from apps.sandbox_projects.services import provision_sandbox
from apps.tools.models import VersionState
from tests.factories.accounts import UserFactory
from tests.factories.projects import make_project
from tests.factories.runs import editor_world, execute, lock_header, published_tool

pytestmark = pytest.mark.django_db

NOT_OBJECTS = ["[1, 2]", '"text"', "5", "null"]


@pytest.fixture
def world(api_client_for: Any) -> dict[str, Any]:
    """Real objects for every path parameter, all changeable by a superuser."""
    root = UserFactory(superuser=True)
    member = UserFactory()
    project = make_project({root: ProjectRole.OWNER, member: ProjectRole.VIEWER})
    collection_services.create_collection(project=project, name="books")
    sandbox = provision_sandbox(parent=project, actor=root, name="Staging")
    tool = published_tool(root, project=project)
    run = execute(_first_run(api_client_for(root), tool.pk))
    editing = editor_world(root, project=project)
    return {
        "client": api_client_for(root),
        "lock": editing.lock_token,
        "params": {
            "project_id": str(project.pk),
            "name": "books",
            "user_id": str(member.pk),
            "tool_id": str(editing.tool.pk),
            "version_id": str(editing.head.pk),
            "run_id": str(run.pk),
        },
        # Operations on another object than the generic parameter names suggest.
        "overrides": {
            "/api/v1/projects/{project_id}/merge": {"project_id": str(sandbox.pk)},
            "/api/v1/editor/tool-versions/{version_id}/rollback": {
                "version_id": str(tool.versions.get(state=VersionState.ARCHIVED).pk)
            },
            "/api/v1/tools/{tool_id}/run": {"tool_id": str(tool.pk)},
            "/api/v1/tools/{tool_id}/settings": {"tool_id": str(tool.pk)},
            "/api/v1/tools/{tool_id}/usage-instructions/seen": {"tool_id": str(tool.pk)},
        },
    }


def _first_run(client: Any, tool_id: Any) -> str:
    response = client.post(f"/api/v1/tools/{tool_id}/run", {"inputs": {}}, format="json")
    assert response.status_code == 202, response.json()
    return str(response.json()["run_id"])


def _json_body_operations(client: Any) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    return [
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path.startswith("/api/v1/")
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def test_every_json_operation_answers_422_for_a_body_that_is_not_an_object(world):
    client = world["client"]
    operations = _json_body_operations(client)
    assert len(operations) > 25  # the schema lists the API, not a handful of endpoints
    answers = {}
    for method, path in operations:
        url = path.format_map({**world["params"], **world["overrides"].get(path, {})})
        for body in NOT_OBJECTS:
            response = getattr(client, method)(
                url, body, content_type="application/json", **lock_header(world["lock"])
            )
            answers[(method.upper(), path, body)] = (response.status_code, _code(response))
    wrong = {op: answer for op, answer in answers.items() if answer != (422, "VALIDATION_ERROR")}
    assert wrong == {}


def _code(response: Any) -> str | None:
    try:
        return json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
