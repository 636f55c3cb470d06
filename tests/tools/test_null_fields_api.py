"""The original editor API's clients send `null` for optional text (`"usage_instructions": null`):
every optional field of the editor bodies accepts it and reads it as omitted."""

import pytest

from apps.projects.models import ProjectRole
from apps.tools.models import Tool, ToolVersion
from tests.factories import UserFactory, make_project
from tests.factories.tools import SOURCE, make_publishable

pytestmark = pytest.mark.django_db

CONTENT_NULLS = {
    "entrypoint": None,
    "input_schema": None,
    "settings_schema": None,
    "usage_instructions": None,
    "change_summary": None,
}


@pytest.fixture
def author():
    return UserFactory(contributor=True)


@pytest.fixture
def client(author, api_client_for):
    return api_client_for(author)


@pytest.fixture
def tool(client, author):
    project = make_project({author: ProjectRole.OWNER})
    body = {"title": "Reading list", "summary": None}
    response = client.post(f"/api/v1/projects/{project.pk}/tools", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["summary"] == ""
    return Tool.objects.get(pk=response.json()["id"])


def create_draft(client, tool, **body):
    return client.post(f"/api/v1/editor/tools/{tool.pk}/draft", body, format="json")


def test_a_draft_created_with_null_fields_gets_the_defaults(client, tool):
    response = create_draft(
        client, tool, source_code=SOURCE, derived_from_version_id=None, **CONTENT_NULLS
    )
    assert response.status_code == 201, response.json()
    version = ToolVersion.objects.get(pk=response.json()["version_id"])
    assert (version.entrypoint, version.usage_instructions, version.input_schema) == (
        "run_tool",
        "",
        [],
    )
    assert (version.settings_schema, version.change_summary) == (None, "")


def test_null_content_fields_keep_the_saved_values_and_an_empty_string_clears(client, tool):
    head = create_draft(
        client, tool, source_code=SOURCE, usage_instructions="Read me", change_summary="first"
    ).json()["version_id"]
    lock = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock", {"draft_head_id": head}, format="json"
    ).json()
    headers = {"HTTP_X_DRAFT_LOCK_TOKEN": str(lock["lock_token"])}

    def save(version_id, **content):
        body = {"expected_parent_version_id": version_id, **content}
        url = f"/api/v1/editor/tool-versions/{version_id}/save"
        return client.post(url, body, format="json", **headers)

    kept = save(head, source_code=SOURCE + "# v2\n", **CONTENT_NULLS)
    assert kept.status_code == 200, kept.json()
    second = ToolVersion.objects.get(pk=kept.json()["version_id"])
    assert (second.usage_instructions, second.source_code) == ("Read me", SOURCE + "# v2\n")
    cleared = save(second.pk, usage_instructions="", source_code=None)
    assert cleared.status_code == 200, cleared.json()
    third = ToolVersion.objects.get(pk=cleared.json()["version_id"])
    assert (third.usage_instructions, third.source_code) == ("", SOURCE + "# v2\n")


def test_null_notes_and_summaries_read_as_omitted(client, tool, api_client_for):
    make_publishable(tool)
    head = create_draft(client, tool, source_code=SOURCE).json()["version_id"]
    client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock", {"draft_head_id": head}, format="json"
    )
    submitted = client.post(
        f"/api/v1/editor/tool-versions/{head}/submit-review", {"text": None}, format="json"
    )
    assert submitted.status_code == 200, submitted.json()
    admin = api_client_for(UserFactory(admin=True))
    url = f"/api/v1/editor/tools/{tool.pk}/metadata"
    admin.patch(url, {"title": "Renamed", "summary": "For classes"}, format="json")
    kept = admin.patch(url, {"title": "Renamed", "summary": None}, format="json")
    assert (kept.status_code, kept.json()["summary"]) == (200, "For classes")


@pytest.mark.parametrize("field", ["usage_instructions", "change_summary", "entrypoint"])
@pytest.mark.parametrize("value", [5, True, ["x"], {"a": 1}, "a\x00b"])
def test_wrong_types_are_still_refused(client, tool, field, value):
    response = create_draft(client, tool, source_code=SOURCE, **{field: value})
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
