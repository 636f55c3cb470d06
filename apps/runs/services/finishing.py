"""Finishing runs: the terminal status, the session state a run leaves behind, its files; and
the reaper for runs whose worker vanished."""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.core.identifiers import is_uuid
from apps.runs import session_files
from apps.runs.models import ACTIVE_STATUSES, RunContext, RunStatus, ToolRun, ToolSession
from apps.runs.runner.backends import CapturedStream, get_runner, run_folder_names, sweep_folders
from apps.runs.services.sessions import get_or_create_session
from apps.runs.services.submission import enqueue
from apps.runs.ui_payload import failure_payload

log = structlog.get_logger(__name__)

_EMPTY = CapturedStream(text="", total_bytes=0, truncated=False)


@dataclass
class Outcome:
    status: str
    error_summary: str = ""
    stdout: CapturedStream = _EMPTY
    stderr: CapturedStream = _EMPTY
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    ui_payload: dict[str, Any] | None = None
    state: dict[str, Any] | None = None

    @classmethod
    def failed(
        cls,
        summary: str,
        *,
        status: str = RunStatus.FAILED,
        stdout: CapturedStream = _EMPTY,
        stderr: CapturedStream = _EMPTY,
    ) -> "Outcome":
        payload = failure_payload(summary)
        return cls(status, summary, stdout, stderr, ui_payload=payload)


def finish_run(*, run: ToolRun, outcome: Outcome) -> bool:
    """Record the outcome if the run is still running (False when the reaper was first)."""
    with transaction.atomic():
        finished = ToolRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=outcome.status,
            finished_at=Now(),
            error_summary=_text(outcome.error_summary),
            stdout=_text(outcome.stdout.text),
            stderr=_text(outcome.stderr.text),
            stdout_bytes=outcome.stdout.total_bytes,
            stderr_bytes=outcome.stderr.total_bytes,
            stdout_truncated=outcome.stdout.truncated,
            stderr_truncated=outcome.stderr.truncated,
            artifacts_manifest={"artifacts": outcome.artifacts},
            ui_payload=_scrub(outcome.ui_payload),
        )
        if not finished:
            log.info("run.finish_skipped", run_id=str(run.pk))
            return False
        _persist_session(run, outcome)
    if run.store_session_files:
        _store_session_files(run)
    log.info("run.finished", run_id=str(run.pk), status=outcome.status)
    return True


def _persist_session(run: ToolRun, outcome: Outcome) -> None:
    """Action runs: a success replaces the state (revision + 1), anything else keeps it. Initial
    runs: the state is kept only when the run offers next actions."""
    succeeded = outcome.status == RunStatus.SUCCEEDED
    state = _scrub(outcome.state) or {}
    if run.is_action:
        session = ToolSession.objects.select_for_update().filter(pending_run=run).first()
        if session is None:
            return
        if succeeded and session.state_rev == run.expected_state_rev:
            _replace_state(session, state, run)
        session.pending_run = None
        session.save(update_fields=_SESSION_FIELDS)
        return
    offers_actions = bool((outcome.ui_payload or {}).get("next_actions"))
    if not (succeeded and offers_actions):
        return
    created = get_or_create_session(
        tool_id=run.tool_id, user_id=run.requested_by_id, context=run.session_context
    )
    session = ToolSession.objects.select_for_update().get(pk=created.pk)
    _replace_state(session, state, run)
    # A new first run starts over: an action still working on the old state loses its claim.
    session.pending_run = None
    session.save(update_fields=_SESSION_FIELDS)


_SESSION_FIELDS = ["state", "state_rev", "latest_run", "pending_run", "updated_at"]


def _replace_state(session: ToolSession, state: dict[str, Any], run: ToolRun) -> None:
    session.state = state
    session.state_rev += 1
    session.latest_run = run


def _store_session_files(run: ToolRun) -> None:
    spool = session_files.inputs_dir(run.pk)
    files = [
        (entry["name"], f"{spool}/{entry['name']}") for entry in run.input_manifest.get("files", [])
    ]
    session_files.store_files(
        tool_id=run.tool_id, user_id=run.requested_by_id, context=run.session_context, files=files
    )


def keeps_inputs(run: ToolRun) -> bool:
    """Whether the run's input files are kept after it ends: a production first run can be run
    again with them (services.rerun); previews and actions cannot."""
    return run.context == RunContext.PRODUCTION and not run.is_action


def keep_run_inputs(run: ToolRun) -> None:
    """Copy the input files of a run that keeps them (keeps_inputs) to where re-runs find them.
    Its worker does so before the run is seen to end, so a re-run asked for right then finds
    them; a copy made already stays."""
    if keeps_inputs(run):
        session_files.keep_run_inputs(run.pk)


def retire_run_inputs(run: ToolRun) -> None:
    """The run has ended: keep its spooled input files for re-runs if it keeps them, and
    remove the spool."""
    keep_run_inputs(run)
    session_files.remove_run_folders(run.pk)


def reap_stuck_runs() -> dict[str, int]:
    """Time out runs still running past their wall limit (their worker died); send queued runs
    nobody picked up to the queue again (claiming is idempotent, so duplicates are harmless)."""
    grace = settings.RUN_STUCK_GRACE_SECONDS
    timed_out = 0
    walls = {
        RunContext.SANDBOX.value: settings.RUN_WALL_SECONDS_SANDBOX,
        RunContext.PRODUCTION.value: settings.RUN_WALL_SECONDS_PRODUCTION,
    }
    for context, wall in walls.items():
        cutoff = timezone.now() - timedelta(seconds=wall + grace)
        stuck = ToolRun.objects.filter(
            status=RunStatus.RUNNING, context=context, started_at__lt=cutoff
        )
        for run in stuck:
            outcome = Outcome.failed("Execution timed out.", status=RunStatus.TIMED_OUT)
            if finish_run(run=run, outcome=outcome):
                ApiToken.objects.filter(run_id=run.pk, revoked_at__isnull=True).update(
                    revoked_at=Now()
                )
                timed_out += 1
    requeue_cutoff = timezone.now() - timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS)
    waiting = list(
        ToolRun.objects.filter(
            status=RunStatus.QUEUED, requested_at__lt=requeue_cutoff
        ).values_list("pk", "context")
    )
    for run_id, context in waiting:
        enqueue(run_id, context)
    counts = {"timed_out": timed_out, "requeued": len(waiting)}
    log.info("runs.reaped", **counts)
    return counts


def cleanup_run_files() -> dict[str, Any]:
    """Expired session files, old artifacts and kept inputs, and the input spools of runs that
    no longer wait (a run the reaper ended keeps its inputs like one its worker finished)."""
    expired = session_files.cleanup_expired(ttl_seconds=settings.SESSION_FILES_TTL_SECONDS)
    artifacts = session_files.cleanup_old_artifacts(
        retention_days=settings.ARTIFACTS_RETENTION_DAYS
    )
    kept_inputs = session_files.cleanup_kept_inputs(
        retention_days=settings.RUN_INPUTS_RETENTION_DAYS
    )
    spools = session_files.spooled_run_ids()
    runs = {
        run.pk: run
        for run in ToolRun.objects.filter(pk__in=spools).only(
            "pk", "status", "context", "action_id"
        )
    }
    orphans = [
        run_id
        for run_id in spools
        if run_id not in runs or runs[run_id].status not in ACTIVE_STATUSES
    ]
    for run_id in orphans:
        if run_id in runs:
            retire_run_inputs(runs[run_id])
        else:  # its transaction rolled back: no run will ever read these files
            session_files.remove_run_folders(run_id)
    counts = {
        "session_folders": expired.sessions,
        "session_files": expired.files,
        "session_bytes": expired.bytes,
        "artifact_folders": artifacts,
        "kept_input_folders": kept_inputs,
        "orphan_spools": len(orphans),
    }
    log.info("runs.files_cleaned", **counts)
    return counts


def sweep_run_folders() -> int:
    """Delete the folders in SANDBOX_WORK_ROOT of runs that are over or unknown, and what the
    backend keeps of them (their containers); return how many.

    A worker killed mid-run leaves its run folder (what the tool wrote, owned by a slot uid)
    behind; once the reaper has ended that run, the next sweep removes it. Folders of queued or
    running runs stay: their worker may be using them right now.
    """
    # List first, then ask: a run folder is made after its run was claimed (running), so a
    # listed folder whose run is not active now is no longer used. Folders made after the
    # listing are not judged at all.
    listed = set(run_folder_names())
    live = {
        str(pk)
        for pk in ToolRun.objects.filter(
            pk__in=[name for name in listed if is_uuid(name)], status__in=ACTIVE_STATUSES
        ).values_list("pk", flat=True)
    }
    removed = sweep_folders(keep=lambda name: name in live or name not in listed)
    # The backend's own leftovers (docker: the containers of a killed worker). A container is
    # made after its run was claimed and removed before the run ends, so one whose run is not
    # active now belongs to nobody.
    containers = get_runner().remove_leftovers(keep=_is_active_run)
    log.info("runs.folders_swept", removed=removed, kept=len(live), sandboxes_removed=containers)
    return removed + containers


def _is_active_run(folder_name: str) -> bool:
    return (
        is_uuid(folder_name)
        and ToolRun.objects.filter(pk=folder_name, status__in=ACTIVE_STATUSES).exists()
    )


# PostgreSQL text cannot hold U+0000, and UTF-8 cannot encode a lone surrogate (a forged
# result.json may escape one, "\ud800"); either would fail the finishing UPDATE.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: str) -> str:
    return _UNSTORABLE.sub("\ufffd", value)


def _scrub(value: Any) -> Any:
    """Replace U+0000 and lone surrogates in every string of a JSON value."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_text(key): _scrub(item) for key, item in value.items()}
    return value
