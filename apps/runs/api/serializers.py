from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.runs.models import RunStatus, ToolRun, ToolSession
from apps.runs.runner.workdir import syntax_error_location


def run_details(run: ToolRun, *, artifact_url: str) -> dict[str, Any]:
    """What a client polls: status, output streams with their real truncation flags, the
    normalised UI payload, artifacts with download links (`artifact_url` takes the id)."""
    artifacts = run.artifacts_manifest.get("artifacts", [])
    return {
        "run_id": str(run.pk),
        "tool_id": str(run.tool_id),
        "version_id": str(run.version_id),
        "snapshot_id": str(run.snapshot_id) if run.snapshot_id else None,
        "context": run.context,
        "status": run.status,
        "requested_at": run.requested_at.isoformat() if run.requested_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "action_id": run.action_id or None,
        "session_context": run.session_context,
        "input_manifest": run.input_manifest,
        "input_values": run.input_values,
        "error_summary": run.error_summary or None,
        # Where the pre-flight syntax check failed, so an editor can mark the line.
        "error_location": syntax_error_location(run.error_summary)
        if run.status == RunStatus.FAILED and run.error_summary
        else None,
        "stdout": run.stdout if run.stdout_bytes is not None else None,
        "stderr": run.stderr if run.stderr_bytes is not None else None,
        "stdout_bytes": run.stdout_bytes,
        "stderr_bytes": run.stderr_bytes,
        "stdout_max_bytes": settings.RUN_STDOUT_MAX_BYTES,
        "stderr_max_bytes": settings.RUN_STDERR_MAX_BYTES,
        "stdout_truncated": run.stdout_truncated,
        "stderr_truncated": run.stderr_truncated,
        "ui_payload": run.ui_payload,
        "artifacts": [
            {**artifact, "download_url": artifact_url.format(artifact_id=artifact["artifact_id"])}
            for artifact in artifacts
        ],
    }


def session_json(session: ToolSession) -> dict[str, Any]:
    return {
        "tool_id": str(session.tool_id),
        "context": session.context,
        "state": session.state,
        "state_rev": session.state_rev,
        "latest_run_id": str(session.latest_run_id) if session.latest_run_id else None,
        "pending_run_id": str(session.pending_run_id) if session.pending_run_id else None,
    }


def accepted_run(run: ToolRun, **extra: Any) -> dict[str, Any]:
    return {"run_id": str(run.pk), "status": run.status, **extra}


class ActionSerializer(serializers.Serializer[None]):
    """Types are checked by the service so every problem gets the same error code."""

    action_id = serializers.JSONField()
    input = serializers.JSONField(required=False, default=dict)
    expected_state_rev = serializers.JSONField()


class SettingsSaveSerializer(serializers.Serializer[None]):
    expected_state_rev = serializers.JSONField()
    values = serializers.JSONField(required=False, default=dict)


class UsageInstructionsSeenSerializer(serializers.Serializer[None]):
    """The hash of the text the page showed (from GET …/runtime); omitted: the current text."""

    usage_instructions_hash = serializers.JSONField(required=False, default=None)
