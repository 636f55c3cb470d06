"""POST /api/v1/editor/tool-versions/{id}/run-sandbox through HTTP: what is accepted, what is
stored, and every refusal leaving nothing behind (no SandboxSnapshot, no ToolRun)."""

import uuid
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.contrib.postgres.functions import TransactionNow
from django.test import override_settings

from apps.locks.models import DraftLock
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.runs.services import (
    sandbox_settings_context,
)
from apps.sandbox.models import SandboxSnapshot
from apps.tools import access as tools_access
from apps.tools import services as tools
from apps.tools.schemas import canonical_json
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.factories.runs import (
    FILE_FIELD,
    FILES_SOURCE,
    echoed,
    editor_world,
    error_of,
    execute,
    message_of,
    post_preview,
    preview_and_execute,
    snapshot_payload,
    stored_counts,
    upload,
    version_url,
)
from tests.factories.tools import make_publishable

pytestmark = pytest.mark.django_db

SETTINGS_SCHEMA = [{"kind": "string", "name": "theme_color", "label": "Theme"}]
NAME_FIELD = {"kind": "string", "name": "name", "label": "Name"}
COUNT_FIELD = {"kind": "integer", "name": "count", "label": "Count"}
COLOR_FIELD = {
    "kind": "enum",
    "name": "color",
    "label": "Color",
    "options": [{"value": "red", "label": "Red"}],
}


@pytest.fixture
def world(alice):
    return editor_world(alice)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def refused(response, status, code=None):
    """The error envelope, and nothing stored by the refused request."""
    error = error_of(response, status, code)
    assert stored_counts() == (0, 0)
    return error


# --- accepted ----------------------------------------------------------------------------------


def test_accepted_run_answers_queued_with_its_snapshot(world, client):
    content = snapshot_payload(
        entrypoint="  run_tool ",
        input_schema=[NAME_FIELD],
        usage_instructions="  Read me.  ",
    )
    response = post_preview(client, world.head, content, inputs={"name": " Ada "})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"run_id", "status", "snapshot_id", "state_rev"}
    assert (body["status"], body["state_rev"]) == ("queued", None)
    snapshot = SandboxSnapshot.objects.get(pk=body["snapshot_id"])
    assert (snapshot.tool_id, snapshot.draft_head_id) == (world.tool.pk, world.head.pk)
    assert snapshot.created_by_id == world.author.pk
    assert snapshot.entrypoint == "run_tool"
    assert snapshot.source_code == content["source_code"]
    assert snapshot.input_schema == [NAME_FIELD]
    assert snapshot.settings_schema is None
    assert snapshot.usage_instructions == "Read me."
    normalised = {
        "entrypoint": "run_tool",
        "source_code": content["source_code"],
        "settings_schema": None,
        "input_schema": [NAME_FIELD],
        "usage_instructions": "Read me.",
    }
    assert snapshot.payload_bytes == len(canonical_json(normalised))
    assert snapshot.expires_at - snapshot.created_at == timedelta(seconds=86_400)
    run = ToolRun.objects.get(pk=body["run_id"])
    assert run.snapshot_id == snapshot.pk
    assert run.version_id == world.head.pk
    assert (run.context, run.status) == (RunContext.SANDBOX, RunStatus.QUEUED)
    assert run.session_context == f"sandbox:{snapshot.pk}"
    assert run.settings_context == ""
    assert run.input_values == {"name": "Ada"}


def test_settings_context_of_the_run_follows_the_unsaved_schema(world, client):
    content = snapshot_payload(settings_schema=SETTINGS_SCHEMA)
    body = post_preview(client, world.head, content).json()
    run = ToolRun.objects.get(pk=body["run_id"])
    expected = sandbox_settings_context(world.head.pk, SETTINGS_SCHEMA)
    assert run.settings_context == expected
    assert len(expected) == 49
    assert SandboxSnapshot.objects.get(pk=body["snapshot_id"]).settings_schema == SETTINGS_SCHEMA


def test_output_reflects_the_unsaved_code_not_the_saved_draft(world, client):
    unsaved = "def main(input_dir, output_dir):\n    return 'from the editor'\n"
    _, run = preview_and_execute(client, world, unsaved, content={"entrypoint": "main"})
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    assert run.ui_payload["outputs"] == [{"kind": "html_sandboxed", "html": "from the editor"}]
    world.head.refresh_from_db()
    assert "from the editor" not in world.head.source_code
    assert world.head.entrypoint == "run_tool"


def test_json_body_works_like_multipart(world, client):
    content = snapshot_payload(input_schema=[COUNT_FIELD])
    response = post_preview(client, world.head, content, json_body=True, inputs={"count": "7"})
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert echoed(run) == ({"count": 7}, {})
    # The snapshot may also be sent as JSON text inside a JSON body.
    as_text = post_preview(client, world.head, canonical_json(content).decode(), json_body=True)
    assert as_text.status_code == 202, as_text.json()


def test_a_tool_without_drafts_previews_its_version_without_a_lock(alice, project, client):
    tool = make_publishable(tools.create_tool(project=project, creator=alice, title="Tool"))
    version = tools.create_draft(
        tool=tool, actor=alice, content=tools.ContentEdit(source_code="x = 1\n")
    )
    tools.submit_for_review(version=version, actor=alice)  # no draft head any more
    assert post_preview(client, version).status_code == 202


# --- who may preview ---------------------------------------------------------------------------


def test_unknown_and_unparseable_version_ids(client):
    missing = client.post(
        "/api/v1/editor/tool-versions/00000000-0000-4000-8000-000000000000/run-sandbox",
        {"snapshot": "{}"},
    )
    refused(missing, 404, "NOT_FOUND")
    garbage = client.post("/api/v1/editor/tool-versions/not-a-uuid/run-sandbox", {"snapshot": "{}"})
    refused(garbage, 400, "INVALID_ID")


def test_invisible_tool_is_not_found(world, api_client_for):
    outsider = UserFactory(contributor=True)
    refused(post_preview(api_client_for(outsider), world.head), 404, "NOT_FOUND")


def test_contributor_who_is_not_a_maintainer_is_forbidden(world, bob, api_client_for):
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    refused(post_preview(api_client_for(bob), world.head), 403, "FORBIDDEN")


def test_global_role_user_is_forbidden_when_a_member_and_not_found_otherwise(
    world, charlie, api_client_for
):
    # Documented rule: visibility first (404 for non-members), then edit rights (403), even
    # for a project editor who was made a maintainer but has only the global role "user".
    client = api_client_for(charlie)
    refused(post_preview(client, world.head), 404, "NOT_FOUND")
    projects_access.assign_role(user=charlie, project=world.tool.project, role=ProjectRole.EDITOR)
    tools_access.assign_maintainer(user=charlie, tool=world.tool)
    refused(post_preview(client, world.head), 403, "FORBIDDEN")


def test_no_lock_is_draft_lock_required(world, client):
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    refused(post_preview(client, world.head), 409, "DRAFT_LOCK_REQUIRED")


def test_expired_lock_is_draft_lock_expired(world, client):
    DraftLock.objects.filter(tool=world.tool).update(expires_at=TransactionNow())
    refused(post_preview(client, world.head), 409, "DRAFT_LOCK_EXPIRED")


def test_lock_held_by_another_maintainer(world, client, bob):
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    tools_access.assign_maintainer(user=bob, tool=world.tool)
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    tools.acquire_draft_lock(tool=world.tool, actor=bob, draft_head_id=str(world.head.pk))
    error = refused(post_preview(client, world.head), 403, "DRAFT_LOCK_HELD")
    assert error["details"]["holder"] == bob.pk
    assert error["details"]["expires_at"]


def test_admin_without_the_lock_is_refused_too(world, api_client_for):
    admin = UserFactory(admin=True)
    refused(post_preview(api_client_for(admin), world.head), 403, "DRAFT_LOCK_HELD")


def test_lock_token_header(world, client):
    stale = post_preview(client, world.head, lock_token=world.lock_token + 1)
    refused(stale, 409, "DRAFT_LOCK_STALE_TOKEN")
    bad = client.post(
        version_url(world.head, "run-sandbox"),
        {"snapshot": "{}"},
        HTTP_X_DRAFT_LOCK_TOKEN="abc",
    )
    refused(bad, 400, "INVALID_LOCK_TOKEN")
    assert post_preview(client, world.head, lock_token=world.lock_token).status_code == 202


def test_a_version_that_is_not_the_head_is_refused(world, client):
    new_head = tools.save_draft(
        version=world.head,
        actor=world.author,
        expected_parent_version_id=world.head.pk,
        content=tools.ContentEdit(source_code="x = 2\n"),
    )
    error = refused(post_preview(client, world.head), 409, "NOT_DRAFT_HEAD")
    assert error["details"]["draft_head_id"] == str(new_head.pk)
    assert post_preview(client, new_head).status_code == 202


# --- the snapshot field ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"entrypoint": ""}, "entrypoint"),
        ({"entrypoint": "   "}, "entrypoint"),
        ({"entrypoint": "run-tool"}, "entrypoint"),
        ({"entrypoint": "1st"}, "entrypoint"),
        ({"entrypoint": "a" * 129}, "entrypoint"),
        ({"entrypoint": 5}, "entrypoint"),
        ({"entrypoint": None}, "entrypoint"),
        ({"source_code": ""}, "source_code"),
        ({"source_code": None}, "source_code"),
        ({"source_code": 12}, "source_code"),
        ({"source_code": ["print(1)"]}, "source_code"),
        ({"usage_instructions": 5}, "usage_instructions"),
        ({"usage_instructions": {"a": 1}}, "usage_instructions"),
    ],
)
def test_bad_snapshot_field_is_named(world, client, overrides, field):
    error = refused(post_preview(client, world.head, snapshot_payload(**overrides)), 422)
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"], error


def test_entrypoint_of_128_characters_is_accepted(world, client):
    content = snapshot_payload(entrypoint="a" * 128)
    assert post_preview(client, world.head, content).status_code == 202


def test_missing_source_code_is_refused(world, client):
    content = snapshot_payload()
    del content["source_code"]
    error = refused(post_preview(client, world.head, content), 422, "VALIDATION_ERROR")
    assert "source_code" in error["details"]["fields"]


@pytest.mark.parametrize("text", ["{not json", "", '{"entrypoint": "run_tool",}', "[" * 2000])
def test_snapshot_that_is_not_json(world, client, text):
    if text == "":
        # Blank = an empty object: then the source code is what is missing.
        error = refused(post_preview(client, world.head, text), 422, "VALIDATION_ERROR")
        assert "source_code" in error["details"]["fields"]
        return
    error = refused(post_preview(client, world.head, text), 422, "VALIDATION_ERROR")
    assert error["message"] == "snapshot must be valid JSON"


@pytest.mark.parametrize("text", ["[1, 2]", "5", '"text"', "null"])
def test_snapshot_json_that_is_not_an_object(world, client, text):
    error = refused(post_preview(client, world.head, text), 422, "VALIDATION_ERROR")
    assert error["message"] == "snapshot must be a JSON object"


@pytest.mark.parametrize("value", [[1, 2], 5, True])
def test_snapshot_of_the_wrong_type_in_a_json_body(world, client, value):
    response = post_preview(client, world.head, value, json_body=True)
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "snapshot must be a JSON object"


@pytest.mark.parametrize("body", [[1, 2], "snapshot", 5, None])
def test_a_json_body_that_is_not_an_object(world, client, body):
    response = client.post(version_url(world.head, "run-sandbox"), body, format="json")
    refused(response, 422, "VALIDATION_ERROR")


def test_missing_snapshot_is_refused(world, client):
    response = client.post(version_url(world.head, "run-sandbox"), {"inputs": "{}"})
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "snapshot must be a JSON object"


def test_unknown_snapshot_keys_are_refused(world, client):
    content = snapshot_payload(state={"step": 9}, version_id="x")
    error = refused(post_preview(client, world.head, content), 422, "VALIDATION_ERROR")
    assert error["details"]["unknown_keys"] == ["state", "version_id"]


@pytest.mark.parametrize(
    ("overrides", "schema", "path", "words"),
    [
        ({"input_schema": [{"kind": "bogus", "name": "a", "label": "A"}]}, "input_schema",
         "/0/kind", "kind must be one of"),
        ({"input_schema": [{"kind": "string", "label": "A"}]}, "input_schema", "/0/name",
         "name is required"),
        ({"input_schema": [{**FILE_FIELD, "min": 3, "max": 1}]}, "input_schema", "/0/max",
         "max must be >= min"),
        ({"input_schema": [FILE_FIELD, {**FILE_FIELD, "name": "more"}]}, "input_schema", None,
         "at most one file field"),
        ({"input_schema": {"kind": "string"}}, "input_schema", None, "must be an array"),
        ({"input_schema": "[]"}, "input_schema", None, "must be an array"),
        ({"input_schema": 0}, "input_schema", None, "must be an array"),
        ({"settings_schema": [NAME_FIELD, NAME_FIELD]}, "settings_schema", None,
         "duplicate field names"),
        ({"settings_schema": "theme"}, "settings_schema", None, "array or null"),
        ({"settings_schema": [{**NAME_FIELD, "kind": "file"}]}, "settings_schema", "/0/kind",
         "kind must be one of"),
    ],
)  # fmt: skip
def test_snapshot_schema_errors_name_the_schema_and_path(
    world, client, overrides, schema, path, words
):
    error = refused(post_preview(client, world.head, snapshot_payload(**overrides)), 422)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] != "snapshot must be valid JSON"
    issue = error["details"]["issues"][0]
    assert (issue["schema"], issue["path"]) == (schema, path), error
    assert words in issue["message"]


def test_null_input_schema_means_no_inputs(world, client):
    content = snapshot_payload(input_schema=None)
    response = post_preview(client, world.head, content)
    assert response.status_code == 202, response.json()
    assert SandboxSnapshot.objects.get().input_schema == []


def test_nul_characters_are_refused_not_a_server_error(world, client):
    for content in (
        snapshot_payload("x = '\x00'\n"),
        snapshot_payload(usage_instructions="a\x00b"),
        snapshot_payload(input_schema=[{**NAME_FIELD, "label": "N\x00"}]),
    ):
        error = refused(post_preview(client, world.head, content), 422, "VALIDATION_ERROR")
        assert "NUL" in error["message"]


# --- inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ("{oops", "inputs must be valid JSON"),
        ("[1, 2]", "inputs must be a JSON object"),
        ("42", "inputs must be a JSON object"),
        ('"name"', "inputs must be a JSON object"),
        ('{"name": "a\\u0000b"}', "inputs must not contain NUL characters."),
        ('{"nope": 1}', "Unknown input keys"),
    ],
)
def test_bad_inputs_text(world, client, inputs, message):
    content = snapshot_payload(input_schema=[NAME_FIELD])
    response = post_preview(client, world.head, content, inputs=inputs)
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == message


@pytest.mark.parametrize("inputs", ['{"count": 1e400}', '{"count": 100000000000000000000000}'])
def test_huge_numbers_in_inputs_are_refused(world, client, inputs):
    content = snapshot_payload(input_schema=[COUNT_FIELD])
    refused(post_preview(client, world.head, content, inputs=inputs), 422, "VALIDATION_ERROR")


def test_lone_surrogates_in_a_json_body_are_a_parse_error(world, client):
    raw = b'{"snapshot": {"source_code": "x = \'\\ud800\'"}}'
    response = client.post(
        version_url(world.head, "run-sandbox"), raw, content_type="application/json"
    )
    refused(response, 400, "PARSE_ERROR")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"session_files_mode": 5}, "session_files_mode"),
        ({"session_files_mode": ["reuse"]}, "session_files_mode"),
        ({"session_files_mode": "reuse", "session_context": 5}, "session_context"),
        ({"session_files_mode": "clear", "session_context": {"a": 1}}, "session_context"),
    ],
)
def test_wrong_types_for_session_files_fields_in_a_json_body(world, client, fields, field):
    response = post_preview(client, world.head, json_body=True, **fields)
    error = refused(response, 422, "VALIDATION_ERROR")
    assert field in error["details"]["fields"]


def test_server_owned_fields_in_the_body_are_ignored(world, client, bob):
    chosen = "00000000-0000-4000-8000-000000000000"
    response = post_preview(
        client,
        world.head,
        json_body=True,
        snapshot_id=chosen,
        run_id=chosen,
        state_rev=5,
        state={"step": 9},
        created_by=bob.pk,
        status="succeeded",
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert chosen not in (body["snapshot_id"], body["run_id"])
    assert (body["status"], body["state_rev"]) == ("queued", None)
    assert SandboxSnapshot.objects.get().created_by_id == world.author.pk
    assert ToolRun.objects.get().requested_by_id == world.author.pk


@pytest.mark.parametrize(
    "inputs",
    [{"count": "abc"}, {"count": 1.5}, {"count": True}, {"count": [1]}, {"color": "blue"},
     {"color": 3}, {"name": 5}, {"name": {"a": 1}}],
)  # fmt: skip
def test_input_values_of_the_wrong_type_name_their_field(world, client, inputs):
    content = snapshot_payload(input_schema=[NAME_FIELD, COUNT_FIELD, COLOR_FIELD])
    for json_body in (False, True):
        response = post_preview(client, world.head, content, json_body=json_body, inputs=inputs)
        error = refused(response, 422, "VALIDATION_ERROR")
        assert error["details"]["field"] == next(iter(inputs))


@pytest.mark.parametrize("inputs", [[1, 2], "not json", 5, {"name": "a\x00b"}])
def test_bad_inputs_in_a_json_body(world, client, inputs):
    content = snapshot_payload(input_schema=[NAME_FIELD])
    response = post_preview(client, world.head, content, json_body=True, inputs=inputs)
    refused(response, 422, "VALIDATION_ERROR")


def test_inputs_are_coerced_and_reach_the_tool(world, client):
    content = {"input_schema": [NAME_FIELD, COUNT_FIELD, COLOR_FIELD]}
    inputs = {"name": " Ada ", "count": "3", "color": "red"}
    _, run = preview_and_execute(client, world, content=content, inputs=inputs)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert echoed(run) == ({"name": "Ada", "count": 3, "color": "red"}, {})


# --- files -------------------------------------------------------------------------------------


def test_files_for_a_tool_without_a_file_field(world, client):
    response = post_preview(client, world.head, files=[upload()])
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "Tool does not accept files"


@pytest.mark.parametrize(("count", "accepted"), [(0, False), (1, True), (2, True), (3, False)])
def test_file_count_against_the_file_field(world, client, count, accepted):
    content = snapshot_payload(input_schema=[{**FILE_FIELD, "min": 1, "max": 2}])
    files = [upload(f"f{i}.txt") for i in range(count)]
    response = post_preview(client, world.head, content, files=files)
    if accepted:
        assert response.status_code == 202, response.json()
        run = ToolRun.objects.get()
        assert [f["name"] for f in run.input_manifest["files"]] == [f.name for f in files]
        return
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "Invalid number of uploaded files"
    assert error["details"] == {"min": 1, "max": 2, "files_count": count}


@override_settings(UPLOAD_MAX_FILES=2, UPLOAD_MAX_FILE_BYTES=10, UPLOAD_MAX_TOTAL_BYTES=15)
@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([1, 1], None),
        ([1, 1, 1], "Too many files."),
        ([10], None),
        ([11], "File too large."),
        ([10, 5], None),
        ([10, 6], "Files too large in total."),
    ],
)
def test_upload_limits_at_and_past_the_limit(world, client, sizes, message):
    # A file field may not allow more files than the upload limit.
    content = snapshot_payload(input_schema=[{**FILE_FIELD, "max": 2}])
    files = [upload(f"f{i}.bin", b"x" * size) for i, size in enumerate(sizes)]
    response = post_preview(client, world.head, content, files=files)
    if message is None:
        assert response.status_code == 202, response.json()
        return
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == message


@pytest.mark.parametrize("names", [["a.txt", "a.txt"], ["a.txt", "a.txt "], ["b.txt", " b.txt"]])
def test_duplicate_file_names_after_sanitisation(world, client, names):
    content = snapshot_payload(input_schema=[FILE_FIELD])
    files = [upload(name) for name in names]
    error = refused(post_preview(client, world.head, content, files=files), 422)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["duplicates"] == [names[0].strip()]


def test_uploads_reach_the_tool_and_become_the_snapshots_session_files(world, client):
    content = {"input_schema": [FILE_FIELD]}
    body, run = preview_and_execute(
        client, world, FILES_SOURCE, content=content, files=[upload("a.txt", b"one")]
    )
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    assert "files=[('a.txt', 'one')]" in message_of(run)
    listed = client.get(
        version_url(world.head, "session-files"), {"snapshot_id": body["snapshot_id"]}
    )
    assert listed.status_code == 200, listed.json()
    assert listed.json() == {
        "tool_id": str(world.tool.pk),
        "version_id": str(world.head.pk),
        "snapshot_id": body["snapshot_id"],
        "files": [{"name": "a.txt", "bytes": 3}],
    }


# --- snapshot size -----------------------------------------------------------------------------


def sized_content(total_bytes):
    """Snapshot content whose canonical payload is exactly `total_bytes`, mostly two-byte é."""
    base = snapshot_payload("#")
    overhead = len(canonical_json(base))
    room = total_bytes - overhead
    source = "#" + "é" * (room // 2) + "a" * (room % 2)
    content = {**base, "source_code": source}
    assert len(canonical_json(content)) == total_bytes
    return content


def test_snapshot_of_exactly_the_limit_with_multibyte_characters_is_accepted(world, client):
    content = sized_content(2_000_000)
    assert len(content["source_code"]) < 1_100_000  # characters, not bytes, are far below
    response = post_preview(client, world.head, content)
    assert response.status_code == 202, response.json()
    assert SandboxSnapshot.objects.get().payload_bytes == 2_000_000


def test_snapshot_one_byte_past_the_limit_stores_nothing(world, client):
    response = post_preview(client, world.head, sized_content(2_000_001))
    error = refused(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "Sandbox snapshot payload exceeds size limit"
    assert error["details"] == {"payload_bytes": 2_000_001, "max_bytes": 2_000_000}


# --- session files of earlier previews ---------------------------------------------------------


def test_reuse_reinjects_and_restores_files_and_clear_drops_them(
    world, client, django_capture_on_commit_callbacks
):
    content = {"input_schema": [FILE_FIELD]}
    first, _ = preview_and_execute(
        client, world, FILES_SOURCE, content=content, files=[upload("a.txt", b"one")]
    )
    second, run = preview_and_execute(
        client,
        world,
        FILES_SOURCE,
        content=content,
        session_files_mode="reuse",
        session_context=f"sandbox:{first['snapshot_id']}",
    )
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    assert "files=[('a.txt', 'one')]" in message_of(run)
    assert session_file_names(client, world, second["snapshot_id"]) == ["a.txt"]
    # The files go when the run's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        third, run = preview_and_execute(
            client,
            world,
            FILES_SOURCE,
            content=content,
            session_files_mode="clear",
            session_context=f"sandbox:{second['snapshot_id']}",
        )
    assert "files=[]" in message_of(run)
    assert session_file_names(client, world, second["snapshot_id"]) == []
    assert session_file_names(client, world, third["snapshot_id"]) == []
    assert session_file_names(client, world, first["snapshot_id"]) == ["a.txt"]


def test_new_uploads_win_over_reuse(world, client):
    content = {"input_schema": [FILE_FIELD]}
    first, _ = preview_and_execute(
        client, world, FILES_SOURCE, content=content, files=[upload("a.txt", b"one")]
    )
    second, run = preview_and_execute(
        client,
        world,
        FILES_SOURCE,
        content=content,
        files=[upload("b.txt", b"two")],
        session_files_mode="reuse",
        session_context=f"sandbox:{first['snapshot_id']}",
    )
    assert "files=[('b.txt', 'two')]" in message_of(run)
    assert session_file_names(client, world, second["snapshot_id"]) == ["b.txt"]


def session_file_names(client, world, snapshot_id):
    response = client.get(version_url(world.head, "session-files"), {"snapshot_id": snapshot_id})
    assert response.status_code == 200, response.json()
    return [f["name"] for f in response.json()["files"]]


@pytest.mark.parametrize(
    ("mode", "context"),
    [
        ("reuse", None),
        ("reuse", ""),
        ("reuse", "default"),
        ("clear", "sandbox:not-a-uuid"),
        ("reuse", "sandbox:"),
        ("clear", "settings:00000000-0000-4000-8000-000000000000"),
        ("sometimes", None),
    ],
)
def test_bad_session_files_mode_or_context(world, client, mode, context):
    fields = {"session_files_mode": mode}
    if context is not None:
        fields["session_context"] = context
    response = post_preview(client, world.head, **fields)
    error = refused(response, 422, "VALIDATION_ERROR")
    assert set(error["details"]["fields"]) <= {"session_files_mode", "session_context"}


def test_session_files_need_a_snapshot_id_edit_rights_and_ownership(
    world, client, bob, api_client_for
):
    error_of(client.get(version_url(world.head, "session-files")), 422, "VALIDATION_ERROR")
    body, _ = preview_and_execute(
        client, world, FILES_SOURCE, content={"input_schema": [FILE_FIELD]}, files=[upload()]
    )
    query = {"snapshot_id": body["snapshot_id"]}
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    bobs = api_client_for(bob)
    error_of(bobs.get(version_url(world.head, "session-files"), query), 403, "FORBIDDEN")
    tools_access.assign_maintainer(user=bob, tool=world.tool)
    error_of(bobs.get(version_url(world.head, "session-files"), query), 404, "SNAPSHOT_NOT_FOUND")
    error_of(bobs.get(version_url(world.head, "session"), query), 404, "SNAPSHOT_NOT_FOUND")
    outsider = api_client_for(UserFactory(contributor=True))
    error_of(outsider.get(version_url(world.head, "session-files"), query), 404, "NOT_FOUND")


# --- per-user cap on runs in progress ----------------------------------------------------------


@override_settings(RUN_MAX_CONCURRENT_PER_USER=2)
def test_run_limit_counts_queued_runs_and_frees_up_when_one_finishes(world, client):
    first = post_preview(client, world.head)
    assert post_preview(client, world.head).status_code == 202
    error = error_of(post_preview(client, world.head), 429, "RUN_LIMIT_REACHED")
    assert error["details"] == {"max_concurrent_runs": 2}
    assert stored_counts() == (2, 2)
    execute(first.json()["run_id"])
    assert post_preview(client, world.head).status_code == 202
    assert stored_counts() == (3, 3)


@pytest.mark.django_db(transaction=True)
def test_fifty_previews_at_once_accept_exactly_the_cap(api_client_for):
    author = UserFactory(contributor=True)
    world = editor_world(author)
    clients = [api_client_for(author) for _ in range(50)]
    jobs = [partial(post_preview, client, world.head) for client in clients]
    outcomes = run_together(*jobs)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    statuses = Counter(response.status_code for _, response in outcomes)
    assert statuses == {202: 4, 429: 46}, statuses
    for _, response in outcomes:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "RUN_LIMIT_REACHED"
    assert stored_counts() == (4, 4)
    accepted = {
        response.json()["run_id"] for _, response in outcomes if response.status_code == 202
    }
    assert set(ToolRun.objects.values_list("pk", flat=True)) == {
        uuid.UUID(run_id) for run_id in accepted
    }
