"""GET /api/v1/editor/tool-runs/{id} and its artifacts: the requester's own sandbox runs (global
admins: any), with output streams, truncation flags, UI payload and downloadable artifacts."""

import pytest
from django.test import override_settings

from apps.runs.models import RunStatus
from tests.factories import UserFactory
from tests.factories.runs import (
    editor_world,
    error_of,
    execute,
    post_preview,
    preview_and_execute,
    published_tool,
)

pytestmark = pytest.mark.django_db

ARTIFACT_SOURCE = """\
import sys
from pathlib import Path

def run_tool(input_dir, output_dir):
    Path(output_dir, "report.txt").write_text("artifact body")
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return {"outputs": [{"kind": "notice", "level": "info", "message": "done"}]}
"""

LOUD_SOURCE = """\
import sys

def run_tool(input_dir, output_dir):
    sys.stdout.write("o" * 5000)
    sys.stderr.write("e" * 3000)
    return "loud"
"""


@pytest.fixture
def world(alice):
    return editor_world(alice)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def details_url(run_id):
    return f"/api/v1/editor/tool-runs/{run_id}"


def test_details_of_a_finished_run(world, client):
    body, run = preview_and_execute(client, world, ARTIFACT_SOURCE)
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    response = client.get(details_url(run.pk))
    assert response.status_code == 200, response.json()
    details = response.json()
    assert details["run_id"] == str(run.pk)
    assert (details["version_id"], details["snapshot_id"]) == (
        str(world.head.pk),
        body["snapshot_id"],
    )
    assert (details["status"], details["context"], details["error_summary"]) == (
        "succeeded",
        "sandbox",
        None,
    )
    assert details["started_at"] and details["finished_at"]
    assert (details["stdout"], details["stderr"]) == ("to stdout\n", "to stderr\n")
    assert (details["stdout_bytes"], details["stderr_bytes"]) == (10, 10)
    assert (details["stdout_max_bytes"], details["stderr_max_bytes"]) == (200_000, 200_000)
    assert (details["stdout_truncated"], details["stderr_truncated"]) == (False, False)
    assert details["ui_payload"]["outputs"] == [
        {"kind": "notice", "level": "info", "message": "done"}
    ]
    [artifact] = details["artifacts"]
    assert artifact["bytes"] == len("artifact body")
    assert artifact["path"].endswith("report.txt")
    assert artifact["download_url"] == (
        f"/api/v1/editor/tool-runs/{run.pk}/artifacts/{artifact['artifact_id']}"
    )


def test_details_of_a_queued_run_have_no_streams_yet(world, client):
    body = post_preview(client, world.head).json()
    details = client.get(details_url(body["run_id"])).json()
    assert (details["status"], details["started_at"], details["finished_at"]) == (
        "queued",
        None,
        None,
    )
    for key in ("stdout", "stderr", "stdout_bytes", "stderr_bytes", "ui_payload"):
        assert details[key] is None, key
    assert details["artifacts"] == []


def test_artifact_download(world, client):
    _, run = preview_and_execute(client, world, ARTIFACT_SOURCE)
    [artifact] = client.get(details_url(run.pk)).json()["artifacts"]
    response = client.get(artifact["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"artifact body"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="report.txt"'
    unknown = client.get(f"{details_url(run.pk)}/artifacts/no_such_artifact")
    error_of(unknown, 404, "NOT_FOUND")
    traversal = client.get(f"{details_url(run.pk)}/artifacts/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status_code == 404


def test_only_the_requester_and_global_admins_see_a_run(world, client, bob, api_client_for):
    _, run = preview_and_execute(client, world, ARTIFACT_SOURCE)
    [artifact] = client.get(details_url(run.pk)).json()["artifacts"]
    other = api_client_for(bob)
    error_of(other.get(details_url(run.pk)), 404, "NOT_FOUND")
    error_of(other.get(artifact["download_url"]), 404, "NOT_FOUND")
    for role in ("admin", "superuser"):
        staff = api_client_for(UserFactory(**{role: True}))
        assert staff.get(details_url(run.pk)).status_code == 200
        assert staff.get(artifact["download_url"]).status_code == 200


def test_unknown_malformed_and_anonymous(client, anon_client, world):
    body = post_preview(client, world.head).json()
    error_of(client.get(details_url("00000000-0000-4000-8000-000000000000")), 404, "NOT_FOUND")
    error_of(client.get(details_url("not-a-uuid")), 400, "INVALID_ID")
    error_of(anon_client.get(details_url(body["run_id"])), 401, "UNAUTHENTICATED")


def test_production_runs_are_not_served_here_nor_previews_there(alice, client, world):
    tool = published_tool(alice)
    started = client.post(f"/api/v1/tools/{tool.pk}/run", {"inputs": "{}"}, format="multipart")
    assert started.status_code == 202, started.json()
    production_run = started.json()["run_id"]
    error_of(client.get(details_url(production_run)), 404, "NOT_FOUND")
    assert client.get(f"/api/v1/runs/{production_run}").status_code == 200
    preview = post_preview(client, world.head).json()["run_id"]
    error_of(client.get(f"/api/v1/runs/{preview}"), 404, "NOT_FOUND")


@override_settings(RUN_STDOUT_MAX_BYTES=1000, RUN_STDERR_MAX_BYTES=2000)
def test_output_past_the_cap_is_truncated_and_says_so(world, client):
    _, run = preview_and_execute(client, world, LOUD_SOURCE)
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    details = client.get(details_url(run.pk)).json()
    assert (details["stdout_max_bytes"], details["stderr_max_bytes"]) == (1000, 2000)
    assert details["stdout_truncated"] is True
    assert details["stdout_bytes"] == 5000
    assert len(details["stdout"].encode()) <= 1000
    assert details["stdout"].startswith("o" * 100)
    assert details["stderr_truncated"] is True
    assert details["stderr_bytes"] == 3000
    assert len(details["stderr"].encode()) <= 2000


@override_settings(RUN_STDOUT_MAX_BYTES=5000)
def test_output_exactly_at_the_cap_is_not_truncated(world, client):
    _, run = preview_and_execute(client, world, LOUD_SOURCE)
    details = client.get(details_url(run.pk)).json()
    assert (details["stdout_bytes"], details["stdout_truncated"]) == (5000, False)
    assert details["stdout"] == "o" * 5000


def test_a_failing_tool_reports_its_error(world, client):
    source = "def run_tool(input_dir, output_dir):\n    raise ValueError('bad thing')\n"
    _, run = preview_and_execute(client, world, source)
    details = client.get(details_url(run.pk)).json()
    assert details["status"] == "failed"
    # The summary names the exception class only; the traceback is in stderr (editor only).
    assert details["error_summary"] == "Tool execution failed (ValueError)."
    assert "bad thing" in details["stderr"]
    assert details["ui_payload"] is not None
    execute(run.pk)  # a finished run is not claimed again
    assert client.get(details_url(run.pk)).json()["status"] == "failed"
