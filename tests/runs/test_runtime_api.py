"""The production runtime API (/api/v1/tools/{id}/..., start_action, runs, my-runs): who sees
what, what is queued, and what the runs executed by the real runner leave behind
(reference §4.12, §1.5, §1.9, §2.6; SPEC §4, §11; bad input B.7)."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.runs import session_files
from apps.runs.models import RunContext, RunStatus, ToolRun, ToolSession
from apps.runs.services import ProductionRunRequest, parse_json_object, run_published_tool
from apps.tools import services as tool_services
from tests.factories.accounts import UserFactory
from tests.factories.runs import (
    ECHO_SOURCE,
    FILE_FIELD,
    STEPS_SOURCE,
    editor_world,
    execute,
)
from tests.factories.tools import make_draft, make_tool
from tests.runs.helpers import RunDirs, isolated_run_dirs, messages, published, queue_preview

pytestmark = pytest.mark.django_db

NAME_SCHEMA = [{"kind": "string", "name": "name", "label": "Name"}]
SETTINGS_SCHEMA = [{"kind": "string", "name": "colour", "label": "Colour"}]
FILES_SOURCE = """\
from skriptoteket_toolkit import list_input_files, read_settings

def run_tool(input_dir, output_dir):
    found = ["%s=%s" % (f["name"], open(f["path"]).read()) for f in list_input_files()]
    open(output_dir + "/report.txt", "w").write("report for " + ",".join(found))
    return {"outputs": [{"kind": "notice", "level": "info", "message": ";".join(found) or "-"}]}
"""
FILE_SCHEMA = [{"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 3}]


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


@pytest.fixture
def client(alice: User, api_client_for: Any) -> Any:
    return api_client_for(alice)


def _error(response: Any) -> str:
    return response.json()["error"]["code"]


def _run(client: Any, tool: Any, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(f"/api/v1/tools/{tool.pk}/run", body or {}, **kwargs)


def _run_and_execute(client: Any, tool: Any, body: dict[str, Any] | None = None) -> ToolRun:
    response = _run(client, tool, body, format="json")
    assert response.status_code == 202, response.json()
    return execute(response.json()["run_id"])


# --- GET /tools/{id}/runtime --------------------------------------------------------------------


def test_runtime_shows_a_published_tool(alice, client):
    tool = published(alice, ECHO_SOURCE, input_schema=NAME_SCHEMA, usage_instructions="Hej")
    body = client.get(f"/api/v1/tools/{tool.pk}/runtime").json()
    assert body["id"] == str(tool.pk)
    assert body["slug"] == tool.slug
    assert body["input_schema"] == NAME_SCHEMA
    assert body["usage_instructions"] == "Hej"
    assert body["has_settings"] is False
    assert set(body["upload_constraints"]) == {"max_files", "max_file_bytes", "max_total_bytes"}


def test_runtime_hides_tools_that_are_not_published_active_and_visible(
    alice, charlie, client, api_client_for
):
    tool = published(alice)
    assert api_client_for(charlie).get(f"/api/v1/tools/{tool.pk}/runtime").status_code == 404
    drafted = make_tool(owner=alice)
    make_draft(drafted, alice)
    depublished = published(alice)
    tool_services.depublish_tool(tool=depublished, actor=UserFactory(admin=True))
    for hidden in (drafted, depublished):
        for path in ("runtime", "settings", "sessions/default", "session-files"):
            response = client.get(f"/api/v1/tools/{hidden.pk}/{path}")
            assert response.status_code == 404, (path, response.json())
            assert _error(response) == "NOT_FOUND"
        assert _run(client, hidden, format="json").status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/api/v1/tools/{missing}/runtime").status_code == 404
    response = client.get("/api/v1/tools/not-a-uuid/runtime")
    assert (response.status_code, _error(response)) == (400, "INVALID_ID")


def test_runtime_needs_authentication(alice, anon_client):
    tool = published(alice)
    assert anon_client.get(f"/api/v1/tools/{tool.pk}/runtime").status_code == 401
    assert anon_client.post(f"/api/v1/tools/{tool.pk}/run", {}).status_code == 401


# --- POST /tools/{id}/run -----------------------------------------------------------------------


def test_run_queues_and_executes_the_active_version_not_the_draft(alice, client):
    tool = published(alice, ECHO_SOURCE, input_schema=NAME_SCHEMA)
    active_id = tool.active_version_id
    newer = "def run_tool(input_dir, output_dir):\n    return 'unpublished draft'\n"
    tool_services.create_draft(
        tool=tool, actor=alice, content=tool_services.ContentEdit(source_code=newer)
    )
    response = _run(client, tool, {"inputs": {"name": "  Ada "}}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued"
    run = execute(body["run_id"])
    assert (run.status, run.context, run.version_id) == (
        RunStatus.SUCCEEDED,
        RunContext.PRODUCTION,
        active_id,
    )
    assert messages(run) == ["inputs={'name': 'Ada'} settings={}"]
    assert run.input_values == {"name": "Ada"}


def test_run_with_multipart_inputs_and_files_then_reuse_and_clear(
    alice, client, dirs, django_capture_on_commit_callbacks
):
    tool = published(alice, FILES_SOURCE, input_schema=FILE_SCHEMA)
    files = [SimpleUploadedFile("a.txt", b"one"), SimpleUploadedFile("b.txt", b"two")]
    response = _run(client, tool, {"inputs": "{}", "files": files}, format="multipart")
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert messages(run) == ["a.txt=one;b.txt=two"]
    assert run.input_manifest == {
        "files": [{"name": "a.txt", "bytes": 3}, {"name": "b.txt", "bytes": 3}]
    }
    assert not (dirs.files / "inputs" / str(run.pk)).exists()  # the spool is gone
    listed = client.get(f"/api/v1/tools/{tool.pk}/session-files").json()
    assert listed == {
        "tool_id": str(tool.pk),
        "context": "default",
        "files": [{"name": "a.txt", "bytes": 3}, {"name": "b.txt", "bytes": 3}],
    }
    reused = _run_and_execute(client, tool, {"session_files_mode": "reuse"})
    assert messages(reused) == ["a.txt=one;b.txt=two"]
    plain = _run_and_execute(client, tool, {})
    assert messages(plain) == ["-"]  # mode none: nothing injected, the files are kept
    assert len(client.get(f"/api/v1/tools/{tool.pk}/session-files").json()["files"]) == 2
    # The files go when the run's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        cleared = _run_and_execute(client, tool, {"session_files_mode": "clear"})
    assert messages(cleared) == ["-"]
    assert client.get(f"/api/v1/tools/{tool.pk}/session-files").json()["files"] == []


def test_session_files_are_kept_per_context(alice, client):
    tool = published(alice, FILES_SOURCE, input_schema=FILE_SCHEMA)
    files = [SimpleUploadedFile("x.txt", b"ctx")]
    response = _run(
        client, tool, {"files": files, "session_context": "lesson-2"}, format="multipart"
    )
    execute(response.json()["run_id"])
    url = f"/api/v1/tools/{tool.pk}/session-files"
    assert client.get(url).json()["files"] == []
    assert client.get(url, {"context": "lesson-2"}).json()["files"] == [
        {"name": "x.txt", "bytes": 3}
    ]
    run = _run_and_execute(
        client, tool, {"session_files_mode": "reuse", "session_context": "lesson-2"}
    )
    assert messages(run) == ["x.txt=ctx"]


@pytest.mark.parametrize(
    ("context", "status"),
    [("c" * 64, 202), ("c" * 65, 422), ("bad\x00context", 422), (5, 422), ("   ", 422), ("", 202)],
    ids=["64", "65", "nul", "not-a-string", "blank", "empty-is-default"],
)
def test_session_context_bounds(alice, client, context, status):
    tool = published(alice)
    response = _run(client, tool, {"session_context": context}, format="json")
    assert response.status_code == status, response.json()
    if status == 422:
        assert _error(response) == "VALIDATION_ERROR"
        assert not ToolRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"inputs": "not json"}, "VALIDATION_ERROR"),
        ({"inputs": "[1]"}, "VALIDATION_ERROR"),
        ({"inputs": {"unknown": 1}}, "VALIDATION_ERROR"),
        ({"inputs": {"name": ["x"]}}, "VALIDATION_ERROR"),
        ({"inputs": {"name": "a\x00b"}}, "VALIDATION_ERROR"),
        ({"inputs": '{"name": "a\\u0000b"}'}, "VALIDATION_ERROR"),
        ({"session_files_mode": "bogus"}, "VALIDATION_ERROR"),
        ({"session_files_mode": ["reuse"]}, "VALIDATION_ERROR"),
    ],
)
def test_bad_run_input_is_refused_before_anything_is_stored(alice, client, dirs, body, code):
    tool = published(alice, ECHO_SOURCE, input_schema=NAME_SCHEMA)
    response = _run(client, tool, body, format="json")
    assert (response.status_code, _error(response)) == (422, code), response.json()
    assert not ToolRun.objects.exists()
    assert not (dirs.files / "inputs").exists() or not any((dirs.files / "inputs").iterdir())


def test_files_for_a_tool_without_a_file_field_are_refused(alice, client):
    tool = published(alice)
    response = _run(
        client, tool, {"files": [SimpleUploadedFile("a.txt", b"x")]}, format="multipart"
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "Tool does not accept files"


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'"text"', b"null", b"1e400", b"[" * 10_000 + b"]" * 10_000, b"{", b"\xff\xfe"],
    ids=["list", "string", "null", "huge-number", "deep", "truncated", "not-utf8"],
)
def test_malformed_json_bodies_never_cause_a_server_error(alice, client, raw):
    tool = published(alice, STEPS_SOURCE, settings_schema=SETTINGS_SCHEMA)
    client.raise_request_exception = False
    for method, url in (
        ("post", f"/api/v1/tools/{tool.pk}/run"),
        ("post", "/api/v1/start_action"),
        ("put", f"/api/v1/tools/{tool.pk}/settings"),
    ):
        response = getattr(client, method)(url, raw, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, response.status_code, response.content)
        assert "error" in response.json()
    assert not ToolRun.objects.exists()


def test_oversized_run_body_is_a_json_413(alice, client, settings):
    settings.API_MAX_RUN_BODY_BYTES = 1000
    tool = published(alice, FILES_SOURCE, input_schema=FILE_SCHEMA)
    files = [SimpleUploadedFile("big.txt", b"x" * 5000)]
    response = _run(client, tool, {"files": files}, format="multipart")
    assert (response.status_code, _error(response)) == (413, "PAYLOAD_TOO_LARGE")


# --- settings -----------------------------------------------------------------------------------


def test_settings_round_trip_and_reach_the_run(alice, client):
    tool = published(alice, ECHO_SOURCE, settings_schema=SETTINGS_SCHEMA)
    url = f"/api/v1/tools/{tool.pk}/settings"
    got = client.get(url).json()
    assert (got["values"], got["state_rev"], got["settings_schema"]) == ({}, 0, SETTINGS_SCHEMA)
    assert len(got["schema_version"]) == 64
    saved = client.put(url, {"expected_state_rev": 0, "values": {"colour": "red"}}, format="json")
    assert saved.status_code == 200, saved.json()
    assert (saved.json()["values"], saved.json()["state_rev"]) == ({"colour": "red"}, 1)
    stale = client.put(url, {"expected_state_rev": 0, "values": {"colour": "blue"}}, format="json")
    assert (stale.status_code, _error(stale)) == (409, "STATE_REV_CONFLICT")
    assert stale.json()["error"]["details"] == {"expected_state_rev": 0, "current_state_rev": 1}
    assert client.get(url).json()["values"] == {"colour": "red"}
    run = _run_and_execute(client, tool)
    assert messages(run) == ["inputs={} settings={'colour': 'red'}"]


@pytest.mark.parametrize(
    "body",
    [
        {"values": {"colour": "red"}},
        {"expected_state_rev": -1, "values": {}},
        {"expected_state_rev": "0", "values": {}},
        {"expected_state_rev": True, "values": {}},
        {"expected_state_rev": 0, "values": {"colour": 5}},
        {"expected_state_rev": 0, "values": {"shape": "round"}},
        {"expected_state_rev": 0, "values": ["red"]},
        {"expected_state_rev": 0, "values": {"colour": "r\x00ed"}},
    ],
)
def test_bad_settings_are_422(alice, client, body):
    tool = published(alice, ECHO_SOURCE, settings_schema=SETTINGS_SCHEMA)
    response = client.put(f"/api/v1/tools/{tool.pk}/settings", body, format="json")
    assert (response.status_code, _error(response)) == (422, "VALIDATION_ERROR"), response.json()
    assert client.get(f"/api/v1/tools/{tool.pk}/settings").json()["state_rev"] == 0


def test_settings_of_a_tool_without_a_schema_are_422(alice, client):
    tool = published(alice)
    url = f"/api/v1/tools/{tool.pk}/settings"
    for response in (
        client.get(url),
        client.put(url, {"expected_state_rev": 0, "values": {}}, format="json"),
    ):
        assert response.status_code == 422
        assert response.json()["error"]["message"] == "Tool has no settings schema."


def test_settings_are_per_user(alice, bob, client, api_client_for):
    tool = published(alice, ECHO_SOURCE, settings_schema=SETTINGS_SCHEMA)
    url = f"/api/v1/tools/{tool.pk}/settings"
    client.put(url, {"expected_state_rev": 0, "values": {"colour": "red"}}, format="json")
    # bob is a member of another project: the tool is not his to see.
    assert api_client_for(bob).get(url).status_code == 404


# --- actions and sessions -----------------------------------------------------------------------


def _action(client: Any, tool: Any, **body: Any) -> Any:
    payload = {"tool_id": str(tool.pk), "action_id": "next", "input": {}, **body}
    return client.post("/api/v1/start_action", payload, format="json")


def _session(client: Any, tool: Any, context: str = "default") -> dict[str, Any]:
    response = client.get(f"/api/v1/tools/{tool.pk}/sessions/{context}")
    assert response.status_code == 200, response.json()
    return response.json()["session_state"]


def test_session_get_creates_the_row(alice, client):
    tool = published(alice, STEPS_SOURCE)
    assert not ToolSession.objects.exists()
    assert _session(client, tool, "fresh") == {
        "tool_id": str(tool.pk),
        "context": "fresh",
        "state": {},
        "state_rev": 0,
        "latest_run_id": None,
        "pending_run_id": None,
    }
    assert ToolSession.objects.filter(tool=tool, user=alice, context="fresh").count() == 1
    response = client.get(f"/api/v1/tools/{tool.pk}/sessions/{'c' * 65}")
    assert (response.status_code, _error(response)) == (422, "VALIDATION_ERROR")


def test_rev_zero_action_needs_an_offered_action(alice, client):
    tool = published(alice, STEPS_SOURCE)
    response = _action(client, tool, expected_state_rev=0)
    assert (response.status_code, _error(response)) == (422, "ACTION_NOT_OFFERED")
    assert not ToolRun.objects.exists()


def test_actions_continue_the_session_with_server_state(alice, client):
    tool = published(alice, STEPS_SOURCE)
    first = _run_and_execute(client, tool)
    assert first.status == RunStatus.SUCCEEDED, first.stderr
    session = _session(client, tool)
    assert (session["state"], session["state_rev"], session["latest_run_id"]) == (
        {"step": 0},
        1,
        str(first.pk),
    )
    accepted = _action(client, tool, input={"by": "2"}, expected_state_rev=1, context="default")
    assert accepted.status_code == 202, accepted.json()
    assert accepted.json()["state_rev"] == 1 and accepted.json()["status"] == "queued"
    # The revision is reserved: a second action for it is a conflict until the first ends.
    again = _action(client, tool, expected_state_rev=1)
    assert (again.status_code, _error(again)) == (409, "STATE_REV_CONFLICT")
    assert _session(client, tool)["pending_run_id"] == accepted.json()["run_id"]
    action_run = execute(accepted.json()["run_id"])
    assert action_run.status == RunStatus.SUCCEEDED, action_run.stderr
    assert messages(action_run) == ["step=2 action=next input={'by': 2}"]
    session = _session(client, tool)
    assert (session["state"], session["state_rev"], session["pending_run_id"]) == (
        {"step": 2},
        2,
        None,
    )
    stale = _action(client, tool, expected_state_rev=1)
    assert stale.json()["error"]["details"]["current_state_rev"] == 2


def test_a_failed_action_keeps_the_state(alice, client):
    tool = published(alice, STEPS_SOURCE)
    _run_and_execute(client, tool)
    accepted = _action(client, tool, action_id="explode", expected_state_rev=1)
    assert accepted.status_code == 202, accepted.json()
    run = execute(accepted.json()["run_id"])
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Tool execution failed (RuntimeError).",
    )
    session = _session(client, tool)
    assert (session["state"], session["state_rev"], session["pending_run_id"]) == (
        {"step": 0},
        1,
        None,
    )
    # The last offered actions are still those of the run that made the state.
    assert _action(client, tool, expected_state_rev=1).status_code == 202


def test_actions_run_in_their_own_session_context(alice, client):
    tool = published(alice, STEPS_SOURCE)
    _run_and_execute(client, tool, {"session_context": "group-b"})
    assert _session(client, tool)["state_rev"] == 0
    nothing_offered = _action(client, tool, expected_state_rev=0)  # in "default"
    assert (nothing_offered.status_code, _error(nothing_offered)) == (422, "ACTION_NOT_OFFERED")
    accepted = _action(client, tool, expected_state_rev=1, context="group-b")
    assert accepted.status_code == 202, accepted.json()
    execute(accepted.json()["run_id"])
    assert _session(client, tool, "group-b")["state"] == {"step": 1}
    assert ToolRun.objects.get(pk=accepted.json()["run_id"]).session_context == "group-b"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"input": {"by": "x"}}, 422, "VALIDATION_ERROR"),
        ({"input": {"unknown": 1}}, 422, "VALIDATION_ERROR"),
        ({"input": ["by"]}, 422, "VALIDATION_ERROR"),
        ({"action_id": "nope"}, 422, "ACTION_NOT_OFFERED"),
        ({"action_id": 7}, 422, "ACTION_NOT_OFFERED"),
        ({"expected_state_rev": "1"}, 422, "VALIDATION_ERROR"),
        ({"expected_state_rev": -1}, 422, "VALIDATION_ERROR"),
        ({"expected_state_rev": None}, 422, "VALIDATION_ERROR"),
        ({"context": "c" * 65}, 422, "VALIDATION_ERROR"),
        ({"context": ["default"]}, 422, "VALIDATION_ERROR"),
        ({"input": {"by": "1\x00"}}, 422, "VALIDATION_ERROR"),
        ({"tool_id": "not-a-uuid"}, 400, "INVALID_ID"),
        ({"tool_id": None}, 400, "INVALID_ID"),
        ({"tool_id": "00000000-0000-0000-0000-000000000000"}, 404, "NOT_FOUND"),
    ],
)
def test_bad_action_requests(alice, client, body, status, code):
    tool = published(alice, STEPS_SOURCE)
    _run_and_execute(client, tool)
    response = _action(client, tool, **{"expected_state_rev": 1, **body})
    assert (response.status_code, _error(response)) == (status, code), response.json()
    assert ToolRun.objects.count() == 1
    assert ToolSession.objects.get(context="default").pending_run_id is None


def test_missing_action_fields_are_422(alice, client):
    tool = published(alice, STEPS_SOURCE)
    response = client.post("/api/v1/start_action", {"tool_id": str(tool.pk)}, format="json")
    assert (response.status_code, _error(response)) == (422, "VALIDATION_ERROR")


# --- run details, artifacts, my-runs ------------------------------------------------------------


ARTIFACT_SOURCE = """\
def run_tool(input_dir, output_dir):
    open(output_dir + "/Report 1.txt", "w").write("the report")
    return "done"
"""


def test_run_details_are_for_the_requester_and_admins(alice, bob, client, api_client_for):
    tool = published(alice, ARTIFACT_SOURCE)
    # bob may use the tool too, but alice's runs are hers.
    projects_access.assign_role(user=bob, project=tool.project, role=ProjectRole.ADMIN)
    run = _run_and_execute(client, tool)
    url = f"/api/v1/runs/{run.pk}"
    body = client.get(url).json()
    assert (body["status"], body["context"], body["run_id"]) == (
        "succeeded",
        "production",
        str(run.pk),
    )
    [artifact] = body["artifacts"]
    assert artifact["download_url"] == f"/api/v1/runs/{run.pk}/artifacts/output_report_1_txt"
    download = client.get(artifact["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"the report"
    assert 'filename="Report 1.txt"' in download["Content-Disposition"]
    assert client.get(f"{url}/artifacts/nope").status_code == 404
    other = api_client_for(bob)
    assert other.get(f"/api/v1/tools/{tool.pk}/runtime").status_code == 200
    assert other.get(url).status_code == 404
    assert other.get(artifact["download_url"]).status_code == 404
    admin = api_client_for(UserFactory(admin=True))
    assert admin.get(url).status_code == 200
    assert client.get("/api/v1/runs/not-a-uuid").status_code == 400
    assert client.get("/api/v1/runs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_sandbox_runs_are_not_production_runs(alice, client):
    world = editor_world(alice)
    run = execute(queue_preview(world, ARTIFACT_SOURCE).pk)
    assert run.status == RunStatus.SUCCEEDED
    assert client.get(f"/api/v1/runs/{run.pk}").status_code == 404
    artifact = run.artifacts_manifest["artifacts"][0]["artifact_id"]
    assert client.get(f"/api/v1/runs/{run.pk}/artifacts/{artifact}").status_code == 404
    assert client.get(f"/api/v1/editor/tool-runs/{run.pk}").status_code == 200
    assert client.get("/api/v1/my-runs").json()["runs"] == []


def test_my_runs_lists_the_last_fifty_and_counts_this_month(alice, bob, client):
    tool = published(alice)
    now = timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def make(user: User, at: Any, context: str = RunContext.PRODUCTION) -> ToolRun:
        return ToolRun(
            tool=tool,
            version=tool.active_version,
            context=context,
            requested_by=user,
            session_context="default",
            status=RunStatus.SUCCEEDED,
            requested_at=at,
            started_at=at,
            finished_at=at,
        )

    recent = [make(alice, now - timedelta(seconds=i)) for i in range(52)]
    ToolRun.objects.bulk_create(
        [
            *recent,
            make(alice, month_start - timedelta(days=3)),
            make(bob, now),
            make(alice, now, RunContext.SANDBOX),
        ]
    )
    body = client.get("/api/v1/my-runs").json()
    assert [r["run_id"] for r in body["runs"]] == [str(r.pk) for r in recent[:50]]
    assert body["count_this_month"] == 52
    assert body["runs"][0]["tool_title"] == tool.title


def test_run_limit_per_user_is_429(alice, client, settings):
    settings.RUN_MAX_CONCURRENT_PER_USER = 2
    tool = published(alice)
    assert [_run(client, tool, format="json").status_code for _ in range(3)] == [202, 202, 429]
    assert _error(_run(client, tool, format="json")) == "RUN_LIMIT_REACHED"
    execute(ToolRun.objects.order_by("requested_at").first().pk)
    assert _run(client, tool, format="json").status_code == 202


def test_json_run_body_with_inputs_as_text(alice, client):
    tool = published(alice, ECHO_SOURCE, input_schema=NAME_SCHEMA)
    run = _run_and_execute(client, tool, {"inputs": json.dumps({"name": "Bo"})})
    assert messages(run) == ["inputs={'name': 'Bo'} settings={}"]


NOTE_SOURCE = """\\
from skriptoteket_toolkit import get_action_parts

def run_tool(input_dir, output_dir):
    action_id, action_input, state = get_action_parts()
    return {
        "outputs": [{"kind": "notice", "level": "info", "message": repr(action_input)}],
        "next_actions": [{"action_id": "note", "label": "Note", "kind": "form",
                          "fields": [{"kind": "string", "name": "text", "label": "Text"}]}],
        "state": {"notes": (state or {}).get("notes", []) + [action_input.get("text")]},
    }
"""


def test_action_input_with_nul_is_refused_and_text_input_is_kept_as_sent(alice, client):
    tool = published(alice, NOTE_SOURCE)
    _run_and_execute(client, tool)
    refused = _action(
        client, tool, action_id="note", input={"text": "a\x00b"}, expected_state_rev=1
    )
    assert (refused.status_code, _error(refused)) == (422, "VALIDATION_ERROR")
    accepted = _action(
        client, tool, action_id="note", input={"text": " hej "}, expected_state_rev=1
    )
    assert accepted.status_code == 202, accepted.json()
    run = execute(accepted.json()["run_id"])
    assert messages(run) == ["{'text': ' hej '}"]
    assert _session(client, tool)["state"] == {"notes": [None, " hej "]}


def test_malformed_ids_and_contexts_on_session_endpoints(alice, client):
    tool = published(alice, STEPS_SOURCE)
    for url in (
        "/api/v1/tools/nope/sessions/default",
        "/api/v1/tools/nope/session-files",
        "/api/v1/tools/nope/settings",
        "/api/v1/runs/nope/artifacts/x",
    ):
        response = client.get(url)
        assert (response.status_code, _error(response)) == (400, "INVALID_ID"), url
    files = client.get(f"/api/v1/tools/{tool.pk}/session-files", {"context": "c" * 65})
    assert (files.status_code, _error(files)) == (422, "VALIDATION_ERROR")
    nul = client.get(f"/api/v1/tools/{tool.pk}/session-files", {"context": "a\x00"})
    assert nul.status_code in (400, 422)


# --- refusals leave earlier state alone ---------------------------------------------------------


@pytest.mark.parametrize("value", [[1, 2], 5])
def test_parse_json_object_names_a_non_object_as_such(value):
    with pytest.raises(ValidationFailed) as caught:
        parse_json_object(value, "inputs")
    assert caught.value.message == "inputs must be a JSON object"


def test_production_clear_keeps_files_when_the_run_is_refused(alice, tmp_path):
    count_field = {"kind": "integer", "name": "count", "label": "Count"}
    tool = published(alice, FILES_SOURCE, input_schema=[FILE_FIELD, count_field])
    source = session_files.storage().save("uploads/a.txt", ContentFile(b"kept"))
    session_files.store_files(
        tool_id=tool.pk, user_id=alice.pk, context="default", files=[("a.txt", source)]
    )
    request = ProductionRunRequest(inputs={"count": "x"}, uploads=[], session_files_mode="clear")
    with pytest.raises(ValidationFailed):
        run_published_tool(tool=tool, actor=alice, request=request)
    stored = session_files.list_files(tool_id=tool.pk, user_id=alice.pk, context="default")
    assert [f.name for f in stored] == ["a.txt"]


def test_run_list_is_mine_only_filtered_and_paginated(alice, bob, client, api_client_for):
    tool = published(alice)
    first = client.post(f"/api/v1/tools/{tool.pk}/run", {}, format="json").json()["run_id"]
    execute(first)
    second = client.post(f"/api/v1/tools/{tool.pk}/run", {}, format="json").json()["run_id"]

    page = client.get("/api/v1/runs").json()
    assert [run["run_id"] for run in page["results"]] == [second, first]
    assert page["count"] == 2
    queued = client.get("/api/v1/runs", {"status": "queued"}).json()["results"]
    assert [run["run_id"] for run in queued] == [second]
    assert client.get("/api/v1/runs", {"context": "sandbox"}).json()["count"] == 0
    assert client.get("/api/v1/runs", {"tool": str(tool.pk)}).json()["count"] == 2
    assert api_client_for(bob).get("/api/v1/runs").json()["count"] == 0
    bad = client.get("/api/v1/runs", {"status": "exploded"})
    assert bad.status_code in (400, 422)
    assert client.get("/api/v1/runs", {"tool": "not-a-uuid"}).status_code in (400, 422)
