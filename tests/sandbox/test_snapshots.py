"""Snapshot lifetime: the TTL, the expiry boundary by the database clock, and the hourly job that
deletes expired snapshots with their sandbox sessions and files while their runs stay readable."""

from datetime import timedelta

import pytest
from django.contrib.postgres.functions import TransactionNow
from django.test import override_settings
from structlog.testing import capture_logs

from apps.runs import session_files
from apps.runs.models import RunStatus, ToolRun, ToolSession
from apps.runs.services import production_settings_context, sandbox_settings_context
from apps.sandbox.exceptions import SnapshotTooLarge
from apps.sandbox.models import SandboxSnapshot
from apps.sandbox.services import parse_snapshot
from apps.sandbox.tasks import expire_sandbox_snapshots_task
from apps.tools.schemas import canonical_json
from tests.factories.runs import (
    FILE_FIELD,
    STEPS_SOURCE,
    editor_world,
    error_of,
    execute,
    post_action,
    post_preview,
    preview_and_execute,
    snapshot_payload,
    upload,
    version_url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    return editor_world(alice)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def set_expiry(snapshot_id, offset):
    """expires_at = now() + offset by this (test) transaction's database clock."""
    SandboxSnapshot.objects.filter(pk=snapshot_id).update(
        created_at=TransactionNow() - timedelta(hours=2),
        expires_at=TransactionNow() + offset,
    )


def with_session_and_files(client, world):
    """A finished preview offering actions (session at rev 1) that stored one session file."""
    body, run = preview_and_execute(
        client,
        world,
        STEPS_SOURCE,
        content={"input_schema": [FILE_FIELD]},
        files=[upload("a.txt", b"kept")],
    )
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    return body["snapshot_id"]


def files_of(world, snapshot_id):
    context = f"sandbox:{snapshot_id}"
    stored = session_files.list_files(
        tool_id=world.tool.pk, user_id=world.author.pk, context=context
    )
    return [f.name for f in stored]


def action(client, world, snapshot_id):
    return post_action(
        client, world.head, snapshot_id=snapshot_id, action_id="next", expected_state_rev=1
    )


@override_settings(SANDBOX_SNAPSHOT_TTL_SECONDS=90)
def test_ttl_setting_is_respected(world, client):
    body = post_preview(client, world.head).json()
    snapshot = SandboxSnapshot.objects.get(pk=body["snapshot_id"])
    assert snapshot.expires_at - snapshot.created_at == timedelta(seconds=90)


def test_expiry_boundary_now_is_expired(world, client):
    snapshot_id = with_session_and_files(client, world)
    set_expiry(snapshot_id, timedelta(0))
    error = error_of(action(client, world, snapshot_id), 409, "SNAPSHOT_EXPIRED")
    assert error["message"] == "Sandbox snapshot has expired. Run the sandbox again."
    for suffix in ("session", "session-files"):
        response = client.get(version_url(world.head, suffix), {"snapshot_id": snapshot_id})
        error_of(response, 409, "SNAPSHOT_EXPIRED")
    assert not ToolRun.objects.exclude(action_id="").exists()


def test_expiry_boundary_one_microsecond_later_is_live(world, client):
    snapshot_id = with_session_and_files(client, world)
    set_expiry(snapshot_id, timedelta(microseconds=1))
    assert action(client, world, snapshot_id).status_code == 202
    listed = client.get(version_url(world.head, "session-files"), {"snapshot_id": snapshot_id})
    assert listed.json()["files"] == [{"name": "a.txt", "bytes": 4}]


def test_the_job_deletes_expired_snapshots_with_sessions_and_files(world, client):
    expired = with_session_and_files(client, world)
    live = with_session_and_files(client, world)
    expired_run = ToolRun.objects.get(snapshot_id=expired)
    set_expiry(expired, timedelta(0))
    set_expiry(live, timedelta(microseconds=1))
    with capture_logs() as logs:
        counts = expire_sandbox_snapshots_task()
    assert counts == {"snapshots": 1, "sessions": 1, "session_file_folders": 1}
    logged = [entry for entry in logs if entry["event"] == "sandbox.snapshots_expired"]
    assert logged == [{**counts, "event": "sandbox.snapshots_expired", "log_level": "info"}]
    assert [str(pk) for pk in SandboxSnapshot.objects.values_list("pk", flat=True)] == [live]
    assert not ToolSession.objects.filter(context=f"sandbox:{expired}").exists()
    assert ToolSession.objects.filter(context=f"sandbox:{live}").exists()
    assert files_of(world, expired) == []
    assert files_of(world, live) == ["a.txt"]
    expired_run.refresh_from_db()
    assert expired_run.snapshot_id is None
    assert expired_run.session_context == f"sandbox:{expired}"
    details = client.get(f"/api/v1/editor/tool-runs/{expired_run.pk}")
    assert details.status_code == 200, details.json()
    assert (details.json()["snapshot_id"], details.json()["status"]) == (None, "succeeded")
    assert expire_sandbox_snapshots_task() == {
        "snapshots": 0,
        "sessions": 0,
        "session_file_folders": 0,
    }


def test_a_swept_snapshot_still_tells_its_owner_to_run_again(world, client, api_client_for):
    snapshot_id = with_session_and_files(client, world)
    set_expiry(snapshot_id, timedelta(0))
    expire_sandbox_snapshots_task()
    error = error_of(action(client, world, snapshot_id), 409, "SNAPSHOT_EXPIRED")
    assert "Run the sandbox again" in error["message"]
    for suffix in ("session", "session-files"):
        response = client.get(version_url(world.head, suffix), {"snapshot_id": snapshot_id})
        error_of(response, 409, "SNAPSHOT_EXPIRED")


def test_a_queued_run_whose_snapshot_was_swept_fails_with_the_rerun_message(world, client):
    body = post_preview(client, world.head).json()
    set_expiry(body["snapshot_id"], timedelta(0))
    expire_sandbox_snapshots_task()
    run = execute(body["run_id"])
    assert run.status == RunStatus.FAILED
    assert run.error_summary == "Sandbox snapshot has expired. Run the sandbox again."


@override_settings(SANDBOX_SETTINGS_RETENTION_DAYS=30)
def test_the_job_drops_sandbox_settings_untouched_for_the_retention_time(world):
    schema = [{"kind": "string", "name": "x", "label": "X"}]
    old, fresh, production = (
        ToolSession.objects.create(tool=world.tool, user=world.author, context=context)
        for context in (
            sandbox_settings_context(world.head.pk, schema),
            sandbox_settings_context(world.tool.pk, schema),
            production_settings_context(schema),
        )
    )
    stale = TransactionNow() - timedelta(days=30, seconds=1)
    ToolSession.objects.filter(pk__in=[old.pk, production.pk]).update(updated_at=stale)
    ToolSession.objects.filter(pk=fresh.pk).update(
        updated_at=TransactionNow() - timedelta(days=29, hours=23)
    )
    assert expire_sandbox_snapshots_task()["sessions"] == 1
    remaining = set(ToolSession.objects.values_list("pk", flat=True))
    assert remaining == {fresh.pk, production.pk}


# --- service level: the size limit is the setting in force, counted on the canonical form --------


@override_settings(SANDBOX_SNAPSHOT_MAX_BYTES=200)
@pytest.mark.parametrize("extra", [0, 1])
def test_parse_snapshot_reads_the_limit_at_call_time(extra):
    base = snapshot_payload("#", usage_instructions="ü")
    overhead = len(canonical_json({**base, "usage_instructions": ""}))
    room = 200 + extra - overhead
    # Instructions are stripped before measuring: the surrounding blanks do not count.
    content = {**base, "usage_instructions": "  " + "ü" * (room // 2) + "u" * (room % 2) + "  "}
    if extra == 0:
        assert len(parse_snapshot(content).canonical_json()) == 200
        return
    with pytest.raises(SnapshotTooLarge) as caught:
        parse_snapshot(content)
    assert caught.value.details == {"payload_bytes": 201, "max_bytes": 200}
