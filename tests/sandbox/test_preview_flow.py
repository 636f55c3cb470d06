"""The sandbox preview through the HTTP API, executed by the real runner (bwrap) in-process."""

import json

import pytest

from apps.runs.models import RunStatus, ToolRun, ToolSession
from apps.sandbox.models import SandboxSnapshot
from tests.factories.runs import STEPS_SOURCE, editor_world, execute, snapshot_payload

pytestmark = pytest.mark.django_db


def _preview(client, world, source, **fields):
    return client.post(
        f"/api/v1/editor/tool-versions/{world.head.pk}/run-sandbox",
        {"snapshot": json.dumps(snapshot_payload(source)), **fields},
        format="multipart",
    )


def test_preview_runs_the_unsaved_code(alice, api_client_for):
    world = editor_world(alice)
    client = api_client_for(alice)
    unsaved = "def run_tool(input_dir, output_dir):\n    return 'unsaved text'\n"
    response = _preview(client, world, unsaved, inputs="{}")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued"
    snapshot = SandboxSnapshot.objects.get(pk=body["snapshot_id"])
    assert snapshot.source_code == unsaved
    run = execute(body["run_id"])
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    assert run.ui_payload["outputs"] == [{"kind": "html_sandboxed", "html": "unsaved text"}]
    details = client.get(f"/api/v1/editor/tool-runs/{run.pk}").json()
    assert details["snapshot_id"] == str(snapshot.pk)
    assert details["status"] == "succeeded"


def test_actions_continue_the_snapshot_with_server_state(alice, api_client_for):
    world = editor_world(alice)
    client = api_client_for(alice)
    body = _preview(client, world, STEPS_SOURCE).json()
    run = execute(body["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    session = client.get(
        f"/api/v1/editor/tool-versions/{world.head.pk}/session",
        {"snapshot_id": body["snapshot_id"]},
    ).json()
    assert session["state_rev"] == 1
    assert session["state"] == {"step": 0}
    action = client.post(
        f"/api/v1/editor/tool-versions/{world.head.pk}/start-action",
        {
            "snapshot_id": body["snapshot_id"],
            "action_id": "next",
            "input": {"by": "2"},
            "expected_state_rev": 1,
        },
        format="json",
    )
    assert action.status_code == 202, action.json()
    action_run = execute(action.json()["run_id"])
    assert action_run.status == RunStatus.SUCCEEDED, action_run.stderr
    assert "step=2 action=next input={'by': 2}" in action_run.ui_payload["outputs"][0]["message"]
    session = ToolSession.objects.get(context=f"sandbox:{body['snapshot_id']}")
    assert (session.state, session.state_rev, session.pending_run_id) == ({"step": 2}, 2, None)
    assert ToolRun.objects.count() == 2
