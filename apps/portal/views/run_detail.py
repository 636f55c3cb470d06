"""What the run detail page shows: the run's inputs as submitted, its files and whether they are
still kept, its result (rendered in the browser by the shared results renderer from the same
JSON `GET /api/v1/runs/{id}` gives), the re-run offer, and for maintainers its output streams."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from apps.accounts.models import User
from apps.core.exceptions import DomainError
from apps.core.web import poll_ms_param
from apps.runs import access as runs_access
from apps.runs import services as run_services
from apps.runs import session_files
from apps.runs.models import ACTIVE_STATUSES, RunContext, RunStatus, ToolRun

POLL_MS = 1_500


def duration_text(status: str, started: datetime | None, finished: datetime | None) -> str:
    """How long the run took: "2.4 s", "3 min 5 s"; "running" while it runs; "—" unstarted."""
    if started is None:
        return "—"
    if finished is None:
        return "running" if status == RunStatus.RUNNING else "—"
    seconds = (finished - started).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def detail_context(request: HttpRequest, run: ToolRun, user: User) -> dict[str, Any]:
    """Everything the run detail template needs; the view has checked that `user` may see it."""
    terminal = run.status not in ACTIVE_STATUSES
    artifacts = _artifacts(run)
    return {
        "run": run,
        "status_label": RunStatus(run.status).label,
        "terminal": terminal,
        "is_sandbox": run.context == RunContext.SANDBOX,
        "tool_url": _tool_url(run),
        "duration": duration_text(run.status, run.started_at, run.finished_at),
        "inputs": _inputs(run),
        "files": _files(run),
        "artifacts": artifacts,
        "artifacts_retention_days": settings.ARTIFACTS_RETENTION_DAYS,
        "rerun": _rerun(run, user) if terminal else None,
        "streams": _streams(run)
        if runs_access.may_see_tool_runs(user=user, tool=run.tool)
        else None,
        "page_data": {
            "run_id": str(run.pk),
            "status": run.status,
            "terminal": terminal,
            "poll_url": _poll_url(run),
            # Progress counts from the run's request, not from when the page was opened.
            "requested_at_ms": int(run.requested_at.timestamp() * 1000),
            "poll_ms": poll_ms_param(request.GET.get("poll_ms"), POLL_MS),
            "ui_payload": run.ui_payload,
            "artifacts": [
                {key: item.get(key) for key in ("artifact_id", "path", "bytes", "download_url")}
                for item in artifacts["items"]
            ]
            if artifacts["state"] == "kept"
            else [],
        },
    }


def _tool_url(run: ToolRun) -> str:
    if run.context == RunContext.SANDBOX:
        return reverse("editor:tool-edit", kwargs={"tool_id": run.tool_id})
    # The tool's run page: its form, with fresh inputs.
    return reverse("portal:tool-run", kwargs={"tool_id": run.tool_id})


def _poll_url(run: ToolRun) -> str:
    name = "editor-run" if run.context == RunContext.SANDBOX else "run-detail"
    return reverse(name, kwargs={"run_id": str(run.pk)})


def _input_schema(run: ToolRun) -> list[dict[str, Any]]:
    if run.snapshot is not None:
        return list(run.snapshot.input_schema or [])
    return list(run.version.input_schema or [])


def _inputs(run: ToolRun) -> list[dict[str, str]]:
    """The form values as submitted, labelled and in the order of the form that took them."""
    values = run.action_input if run.is_action else run.input_values
    fields = {field["name"]: field for field in _input_schema(run) if "name" in field}
    order = [name for name in fields if name in values]
    order += sorted(name for name in values if name not in fields)
    return [
        {
            "label": str(fields.get(name, {}).get("label") or name),
            "value": _shown(values[name], fields.get(name, {})),
        }
        for name in order
    ]


def _shown(value: Any, field: dict[str, Any]) -> str:
    labels = {option.get("value"): option.get("label") for option in field.get("options", [])}
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(labels.get(item) or item) for item in value)
    return str(labels.get(value) or value)


def _files(run: ToolRun) -> dict[str, Any]:
    """The input files (name, size) and whether they are still kept for a re-run."""
    items = [
        {"name": entry["name"], "bytes": entry["bytes"]}
        for entry in run.input_manifest.get("files", [])
    ]
    days = settings.RUN_INPUTS_RETENTION_DAYS
    state = "none"
    if items and run.context == RunContext.SANDBOX:
        state = "not_kept"
    elif items and run.finished_at is None:
        state = "pending"
    elif items:
        names = [item["name"] for item in items]
        kept = session_files.kept_input_files(run.pk, names) is not None
        state = "kept" if kept else "removed"
    kept_until = run.finished_at + timedelta(days=days) if run.finished_at else None
    return {
        "items": items,
        "state": state,
        "retention_days": days,
        "kept_until": kept_until,
        "removed_message": run_services.files_removed_message(),
    }


def _artifacts(run: ToolRun) -> dict[str, Any]:
    """The files the run left, with download links while they are retained."""
    manifest = run.artifacts_manifest.get("artifacts", [])
    name = "editor-run-artifact" if run.context == RunContext.SANDBOX else "run-artifact"
    items = [
        {
            **entry,
            # Every artifact lives under output/: the prefix says nothing to the person.
            "shown_path": str(entry.get("path", "")).removeprefix("output/"),
            "download_url": reverse(
                name, kwargs={"run_id": str(run.pk), "artifact_id": entry["artifact_id"]}
            ),
        }
        for entry in manifest
    ]
    if not items:
        state = "none"
    elif session_files.artifacts_kept(run.pk):
        state = "kept"
    else:
        state = "removed"
    return {"items": items, "state": state}


def _rerun(run: ToolRun, user: User) -> dict[str, Any]:
    """Whether the page offers "Run again", or why not."""
    try:
        run_services.check_rerun(run=run, actor=user)
    except DomainError as exc:
        return {"allowed": False, "reason": exc.message, "code": exc.code}
    return {"allowed": True, "reason": "", "code": ""}


def _streams(run: ToolRun) -> dict[str, Any]:
    return {
        "stdout": run.stdout,
        "stderr": run.stderr,
        "stdout_bytes": run.stdout_bytes,
        "stderr_bytes": run.stderr_bytes,
        "stdout_truncated": run.stdout_truncated,
        "stderr_truncated": run.stderr_truncated,
        "stdout_max_bytes": settings.RUN_STDOUT_MAX_BYTES,
        "stderr_max_bytes": settings.RUN_STDERR_MAX_BYTES,
    }
