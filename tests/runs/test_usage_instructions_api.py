"""Usage instructions "seen" per user (reference §1.5, endpoint list §4.12): GET …/runtime says
whether the caller saw the current text, POST …/usage-instructions/seen remembers it in the
session `ui:usage_instructions`; a new text is unseen again."""

import hashlib
from typing import Any

import pytest

from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.runs.models import USAGE_INSTRUCTIONS_CONTEXT, ToolSession
from apps.tools import services as tool_services
from apps.tools.models import Tool
from tests.factories.accounts import UserFactory
from tests.factories.runs import republish
from tests.runs.helpers import published

pytestmark = pytest.mark.django_db

TEXT = "Upload **one** file."


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def runtime(client: Any, tool: Tool) -> dict[str, Any]:
    response = client.get(f"/api/v1/tools/{tool.pk}/runtime")
    assert response.status_code == 200, response.json()
    return dict(response.json())


def seen(client: Any, tool: Tool, body: dict[str, Any] | None = None) -> Any:
    return client.post(
        f"/api/v1/tools/{tool.pk}/usage-instructions/seen", body or {}, format="json"
    )


def test_instructions_are_unseen_until_marked_then_unseen_again_after_they_change(
    alice, api_client_for
):
    tool = published(alice, usage_instructions=TEXT)
    client = api_client_for(alice)
    body = runtime(client, tool)
    assert body["usage_instructions"] == TEXT
    assert body["usage_instructions_hash"] == digest(TEXT)
    assert body["usage_instructions_seen"] is False

    response = seen(client, tool)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "tool_id": str(tool.pk),
        "usage_instructions_hash": digest(TEXT),
        "usage_instructions_seen": True,
    }
    assert runtime(client, tool)["usage_instructions_seen"] is True
    session = ToolSession.objects.get(tool_id=tool.pk, user=alice)
    assert session.context == USAGE_INSTRUCTIONS_CONTEXT
    assert session.state == {"seen_hash": digest(TEXT)}

    republish(tool, alice, usage_instructions="Upload **two** files.")
    after = runtime(client, tool)
    assert after["usage_instructions_hash"] == digest("Upload **two** files.")
    assert after["usage_instructions_seen"] is False


def test_seen_is_per_user(alice, bob, api_client_for):
    tool = published(alice, usage_instructions=TEXT)
    assign_role(user=bob, project=tool.project, role=ProjectRole.VIEWER)
    assert seen(api_client_for(alice), tool).status_code == 200
    assert runtime(api_client_for(bob), tool)["usage_instructions_seen"] is False


def test_a_page_marks_the_text_it_showed_not_a_newer_one(alice, api_client_for):
    """The instructions changed while the page was open: the old text's hash is stored, so the
    new text is still shown open next time."""
    tool = published(alice, usage_instructions=TEXT)
    client = api_client_for(alice)
    shown = runtime(client, tool)["usage_instructions_hash"]
    republish(tool, alice, usage_instructions="A new text.")
    response = seen(client, tool, {"usage_instructions_hash": shown})
    assert response.status_code == 200
    assert response.json()["usage_instructions_seen"] is False
    assert runtime(client, tool)["usage_instructions_seen"] is False
    assert seen(client, tool).json()["usage_instructions_seen"] is True  # no hash: current text


def test_a_tool_without_instructions_counts_as_seen(alice, api_client_for):
    tool = published(alice, usage_instructions="  ")
    assert runtime(api_client_for(alice), tool)["usage_instructions_seen"] is True


def test_marking_twice_keeps_one_session(alice, api_client_for):
    tool = published(alice, usage_instructions=TEXT)
    client = api_client_for(alice)
    assert seen(client, tool).status_code == 200
    assert seen(client, tool).status_code == 200
    session = ToolSession.objects.get(tool_id=tool.pk, user=alice)
    assert session.state_rev == 2


@pytest.mark.parametrize(
    "value", ["abc", "A" * 64, 12, ["x"], {"a": 1}, "g" * 64, "a" * 63 + "\x00"]
)
def test_a_malformed_hash_is_a_validation_error(alice, api_client_for, value):
    tool = published(alice, usage_instructions=TEXT)
    response = seen(api_client_for(alice), tool, {"usage_instructions_hash": value})
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert not ToolSession.objects.exists()


def test_seen_hides_tools_the_caller_may_not_run(alice, charlie, api_client_for, anon_client):
    tool = published(alice, usage_instructions=TEXT)
    response = seen(api_client_for(charlie), tool)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "NOT_FOUND")
    tool_services.depublish_tool(tool=tool, actor=UserFactory(admin=True))
    assert seen(api_client_for(alice), tool).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    url = f"/api/v1/tools/{missing}/usage-instructions/seen"
    assert api_client_for(alice).post(url).status_code == 404
    bad = api_client_for(alice).post("/api/v1/tools/not-a-uuid/usage-instructions/seen")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "INVALID_ID")
    assert anon_client.post(f"/api/v1/tools/{tool.pk}/usage-instructions/seen").status_code == 401
    assert not ToolSession.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(alice, api_client_for):
    tool = published(alice, usage_instructions=TEXT)
    response = api_client_for(alice).post(
        f"/api/v1/tools/{tool.pk}/usage-instructions/seen", ["x"], format="json"
    )
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_openapi_schema_describes_the_seen_endpoint(anon_client):
    schema = anon_client.get("/api/schema/?format=json").json()
    post = schema["paths"]["/api/v1/tools/{tool_id}/usage-instructions/seen"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"usage_instructions_hash"}
