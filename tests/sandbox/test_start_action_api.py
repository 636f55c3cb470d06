"""POST .../start-action and GET .../session through HTTP: actions continue a snapshot's code
with the server's state, one action per revision, and every refusal creates no run."""

import json
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from django.contrib.postgres.functions import TransactionNow
from django.test import override_settings

from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.runs.models import RunContext, RunStatus, ToolRun, ToolSession
from apps.sandbox.models import SandboxSnapshot
from apps.tools import access as tools_access
from apps.tools import services as tools
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.factories.runs import (
    ECHO_SOURCE,
    STEPS_SOURCE,
    editor_world,
    error_of,
    execute,
    message_of,
    post_action,
    post_preview,
    preview_and_execute,
    version_url,
)

pytestmark = pytest.mark.django_db

# Prints the raw action payload the runner was given, and offers one action with typed fields.
ACTION_DUMP_SOURCE = """\
import os

def run_tool(input_dir, output_dir):
    raw = os.environ.get("SKRIPTOTEKET_ACTION")
    return {
        "outputs": [{"kind": "notice", "level": "info", "message": raw or "initial"}],
        "next_actions": [{"action_id": "go", "label": "Go", "kind": "form", "fields": [
            {"kind": "integer", "name": "n", "label": "N"},
            {"kind": "boolean", "name": "flag", "label": "Flag"},
            {"kind": "string", "name": "note", "label": "Note"}]}],
        "state": {"runs": 1 if raw is None else 2, "note": "from the server"},
    }
"""


@pytest.fixture
def world(alice):
    return editor_world(alice)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def started(client, world, source=STEPS_SOURCE):
    """Preview `source` and run it: returns the snapshot id of a session at revision 1."""
    body, run = preview_and_execute(client, world, source)
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    return body["snapshot_id"]


def act(
    client, world, snapshot_id, rev=1, action_id="next", payload=None, lock_token=None, **extra
):
    body = {"snapshot_id": snapshot_id, "action_id": action_id, "expected_state_rev": rev}
    if payload is not None:
        body["input"] = payload
    return post_action(client, world.head, lock_token=lock_token, **body, **extra)


def session_of(snapshot_id):
    return ToolSession.objects.get(context=f"sandbox:{snapshot_id}")


def refused(response, status, code):
    """The envelope; and no action run was created (only the initial preview's run exists)."""
    error = error_of(response, status, code)
    assert not ToolRun.objects.exclude(action_id="").exists()
    return error


# --- accepted ----------------------------------------------------------------------------------


def test_accepted_action_then_state_and_revision_move_on(world, client):
    snapshot_id = started(client, world)
    response = act(client, world, snapshot_id, payload={"by": "2"})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert {"run_id", "status", "state_rev"} <= set(body)
    assert (body["status"], body["state_rev"]) == ("queued", 1)
    run = ToolRun.objects.get(pk=body["run_id"])
    assert (run.context, run.action_id, run.action_input) == (RunContext.SANDBOX, "next", {"by": 2})
    assert (run.expected_state_rev, str(run.snapshot_id)) == (1, snapshot_id)
    assert run.session_context == f"sandbox:{snapshot_id}"
    assert session_of(snapshot_id).pending_run_id == run.pk
    run = execute(run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    session = session_of(snapshot_id)
    assert (session.state, session.state_rev, session.pending_run_id) == ({"step": 2}, 2, None)
    assert session.latest_run_id == run.pk
    state = client.get(version_url(world.head, "session"), {"snapshot_id": snapshot_id})
    assert state.status_code == 200
    assert (state.json()["state"], state.json()["state_rev"]) == ({"step": 2}, 2)


def test_action_payload_is_exactly_id_coerced_input_and_server_state(world, client):
    snapshot_id = started(client, world, ACTION_DUMP_SOURCE)
    response = act(client, world, snapshot_id, action_id="go", payload={"n": " 3 ", "flag": "yes"})
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert json.loads(message_of(run)) == {
        "action_id": "go",
        "input": {"n": 3, "flag": True},
        "state": {"runs": 1, "note": "from the server"},
    }


def test_client_sent_state_is_ignored(world, client):
    snapshot_id = started(client, world)
    response = act(client, world, snapshot_id, payload={"by": 1}, state={"step": 100})
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert "step=1 action=next" in message_of(run)
    assert session_of(snapshot_id).state == {"step": 1}


def test_the_action_runs_its_snapshots_code_not_the_latest_preview(world, client):
    first = started(client, world, STEPS_SOURCE.replace('"step=', '"A step='))
    second = started(client, world, STEPS_SOURCE.replace('"step=', '"B step='))
    response = act(client, world, first)
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert message_of(run).startswith("A step=1 action=next")
    assert session_of(second).state_rev == 1  # the other preview's session is untouched


def test_a_failed_action_keeps_state_and_revision(world, client):
    snapshot_id = started(client, world)
    response = act(client, world, snapshot_id, action_id="explode")
    assert response.status_code == 202, response.json()
    run = execute(response.json()["run_id"])
    assert run.status == RunStatus.FAILED
    session = session_of(snapshot_id)
    assert (session.state, session.state_rev, session.pending_run_id) == ({"step": 0}, 1, None)
    assert act(client, world, snapshot_id).status_code == 202


def test_a_pending_action_blocks_another_for_the_same_revision_until_it_ends(world, client):
    snapshot_id = started(client, world)
    first = act(client, world, snapshot_id)
    assert first.status_code == 202
    error = error_of(act(client, world, snapshot_id), 409, "STATE_REV_CONFLICT")
    assert error["details"]["pending_run_id"] == first.json()["run_id"]
    assert ToolRun.objects.exclude(action_id="").count() == 1
    execute(first.json()["run_id"])
    error = error_of(act(client, world, snapshot_id, rev=1), 409, "STATE_REV_CONFLICT")
    assert (error["details"]["expected_state_rev"], error["details"]["current_state_rev"]) == (1, 2)
    assert act(client, world, snapshot_id, rev=2).status_code == 202


# --- refused -----------------------------------------------------------------------------------


def test_missing_snapshot_id(world, client):
    started(client, world)
    response = post_action(client, world.head, action_id="next", expected_state_rev=1)
    error = refused(response, 422, "VALIDATION_ERROR")
    assert "snapshot_id" in error["details"]["fields"]


@pytest.mark.parametrize(
    ("snapshot_id", "status", "code"),
    [
        ("00000000-0000-4000-8000-000000000000", 404, "SNAPSHOT_NOT_FOUND"),
        ("not-a-uuid", 400, "INVALID_ID"),
        ("", 422, "VALIDATION_ERROR"),
        (None, 422, "VALIDATION_ERROR"),
        (5, 422, "VALIDATION_ERROR"),
        (["00000000-0000-4000-8000-000000000000"], 422, "VALIDATION_ERROR"),
    ],
)
def test_unknown_or_malformed_snapshot_id(world, client, snapshot_id, status, code):
    started(client, world)
    refused(act(client, world, snapshot_id), status, code)


def test_another_users_snapshot_is_not_found(world, client, bob, api_client_for):
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    tools_access.assign_maintainer(user=bob, tool=world.tool)
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    tools.acquire_draft_lock(tool=world.tool, actor=bob, draft_head_id=str(world.head.pk))
    bobs = started(api_client_for(bob), world)
    tools.release_draft_lock(tool=world.tool, actor=bob)
    tools.acquire_draft_lock(tool=world.tool, actor=world.author, draft_head_id=str(world.head.pk))
    refused(act(client, world, bobs), 404, "SNAPSHOT_NOT_FOUND")
    hidden = client.get(version_url(world.head, "session"), {"snapshot_id": bobs})
    error_of(hidden, 404, "SNAPSHOT_NOT_FOUND")


def expire(snapshot_id):
    """expires_at = now() exactly, by the database clock of this (test) transaction."""
    SandboxSnapshot.objects.filter(pk=snapshot_id).update(
        created_at=TransactionNow() - timedelta(hours=1), expires_at=TransactionNow()
    )


def test_expired_snapshot_tells_to_run_the_sandbox_again(world, client):
    snapshot_id = started(client, world)
    expire(snapshot_id)
    error = refused(act(client, world, snapshot_id), 409, "SNAPSHOT_EXPIRED")
    assert "Run the sandbox again" in error["message"]
    state = client.get(version_url(world.head, "session"), {"snapshot_id": snapshot_id})
    error_of(state, 409, "SNAPSHOT_EXPIRED")


def test_snapshot_of_another_tool_or_head_is_a_mismatch(world, client, alice):
    other = editor_world(alice)
    foreign = started(client, other)
    refused(act(client, world, foreign), 409, "SNAPSHOT_MISMATCH")
    old = started(client, world)
    new_head = tools.save_draft(
        version=world.head,
        actor=alice,
        expected_parent_version_id=world.head.pk,
        content=tools.ContentEdit(source_code=ECHO_SOURCE + "\n# saved\n"),
    )
    on_new = post_action(client, new_head, snapshot_id=old, action_id="next", expected_state_rev=1)
    error = refused(on_new, 409, "SNAPSHOT_MISMATCH")
    assert error["details"]["snapshot_draft_head_id"] == str(world.head.pk)
    refused(act(client, world, old), 409, "NOT_DRAFT_HEAD")


def test_missing_session(world, client):
    body, run = preview_and_execute(client, world, ECHO_SOURCE)  # offers no actions
    assert run.status == RunStatus.SUCCEEDED
    refused(act(client, world, body["snapshot_id"]), 404, "SESSION_NOT_FOUND")
    state = client.get(version_url(world.head, "session"), {"snapshot_id": body["snapshot_id"]})
    error_of(state, 404, "SESSION_NOT_FOUND")


@pytest.mark.parametrize("rev", [0, 2, 2**31, 2**64 - 1])
def test_stale_revision(world, client, rev):
    snapshot_id = started(client, world)
    error = refused(act(client, world, snapshot_id, rev=rev), 409, "STATE_REV_CONFLICT")
    assert error["details"]["expected_state_rev"] == rev
    assert error["details"]["current_state_rev"] == 1


@pytest.mark.parametrize("rev", [-1, True, False, "1", 1.0, None, [1], {"rev": 1}])
def test_revision_that_is_not_a_non_negative_integer(world, client, rev):
    snapshot_id = started(client, world)
    refused(act(client, world, snapshot_id, rev=rev), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("action_id", ["nope", "", 5, None, ["next"], "NEXT"])
def test_action_not_offered_by_the_last_run(world, client, action_id):
    snapshot_id = started(client, world)
    response = act(client, world, snapshot_id, action_id=action_id)
    if action_id is None:  # JSON null is refused by the body validation
        refused(response, 422, "VALIDATION_ERROR")
        return
    error = refused(response, 422, "ACTION_NOT_OFFERED")
    assert error["details"]["offered_action_ids"] == ["next", "explode"]


@pytest.mark.parametrize(
    ("action_input", "field"),
    [({"by": "abc"}, "by"), ({"by": 1.5}, "by"), ({"by": [1]}, "by"), ({"by": True}, "by")],
)
def test_invalid_action_input_names_the_field(world, client, action_input, field):
    snapshot_id = started(client, world)
    error = refused(act(client, world, snapshot_id, payload=action_input), 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == field


def test_nul_in_action_input_is_refused_not_a_server_error(world, client):
    snapshot_id = started(client, world, ACTION_DUMP_SOURCE)
    response = act(client, world, snapshot_id, action_id="go", payload={"note": "a\x00b"})
    error = refused(response, 422, "VALIDATION_ERROR")
    assert "NUL" in error["message"]


@pytest.mark.parametrize("action_input", [{"other": 1}, [1], "by=1", 5])
def test_action_input_with_unknown_keys_or_not_an_object(world, client, action_input):
    snapshot_id = started(client, world)
    refused(act(client, world, snapshot_id, payload=action_input), 422, "VALIDATION_ERROR")


def test_action_without_the_lock_or_edit_rights(world, client, bob, api_client_for):
    snapshot_id = started(client, world)
    stale = act(client, world, snapshot_id, lock_token=world.lock_token + 1)
    refused(stale, 409, "DRAFT_LOCK_STALE_TOKEN")
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    refused(act(api_client_for(bob), world, snapshot_id), 403, "FORBIDDEN")
    outsider = api_client_for(UserFactory(contributor=True))
    refused(act(outsider, world, snapshot_id), 404, "NOT_FOUND")
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    refused(act(client, world, snapshot_id), 409, "DRAFT_LOCK_REQUIRED")


@override_settings(RUN_MAX_CONCURRENT_PER_USER=1)
def test_an_action_past_the_run_limit_is_refused(world, client):
    snapshot_id = started(client, world)
    assert post_preview(client, world.head).status_code == 202  # one run in progress
    error = refused(act(client, world, snapshot_id), 429, "RUN_LIMIT_REACHED")
    assert error["details"] == {"max_concurrent_runs": 1}
    assert session_of(snapshot_id).pending_run_id is None


# --- the session GET ---------------------------------------------------------------------------


def test_session_is_read_by_snapshot_id_only(world, client):
    snapshot_id = started(client, world)
    response = client.get(version_url(world.head, "session"), {"snapshot_id": snapshot_id})
    assert response.status_code == 200
    body = response.json()
    assert body["context"] == f"sandbox:{snapshot_id}"
    assert (body["state"], body["state_rev"], body["pending_run_id"]) == ({"step": 0}, 1, None)
    # No fallback to a `sandbox:<version_id>` context without a snapshot id.
    ToolSession.objects.create(
        tool=world.tool, user=world.author, context=f"sandbox:{world.head.pk}", state_rev=7
    )
    error = error_of(client.get(version_url(world.head, "session")), 422, "VALIDATION_ERROR")
    assert "snapshot_id" in error["details"]["fields"]
    bad = client.get(version_url(world.head, "session"), {"snapshot_id": "x"})
    error_of(bad, 400, "INVALID_ID")


# --- two actions at once -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_actions_for_one_revision_at_once_create_one_run(api_client_for):
    author = UserFactory(contributor=True)
    world = editor_world(author)
    snapshot_id = started(api_client_for(author), world)
    clients = [api_client_for(author), api_client_for(author)]
    outcomes = run_together(*(partial(act, c, world, snapshot_id) for c in clients))
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    statuses = Counter(response.status_code for _, response in outcomes)
    assert statuses == {202: 1, 409: 1}, statuses
    conflict = next(r for _, r in outcomes if r.status_code == 409)
    assert conflict.json()["error"]["code"] == "STATE_REV_CONFLICT"
    assert ToolRun.objects.exclude(action_id="").count() == 1
