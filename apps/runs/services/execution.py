"""Executing a queued run in a worker: claim, prepare /work, run the sandbox, read what it left,
finish. Claim and finish are compare-and-swap updates, so a redelivered task or a reaper that
got there first makes the later call a no-op."""

import shutil
import tempfile
import uuid
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any

import structlog
from django.conf import settings
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts.services import create_run_token, revoke_api_token
from apps.projects.access import role_in_project
from apps.runs import session_files
from apps.runs.bridge import CollectionsBridge
from apps.runs.exceptions import RunnerUnavailable
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.runs.runner.artifacts import ArtifactViolation, collect_artifacts
from apps.runs.runner.backends import RunLimits, RunRequest, RunResult, get_runner
from apps.runs.runner.contract import ContractViolation, RunnerOutput, read_result
from apps.runs.runner.runner_files import ensure_work_root
from apps.runs.runner.workdir import (
    InputFile,
    prepare_workdir,
    runner_env,
    syntax_error_summary,
    truncate_utf8,
)
from apps.runs.services import finishing
from apps.runs.services.finishing import Outcome
from apps.runs.services.sessions import get_session, stored_settings
from apps.runs.ui_payload import NormalizationError, normalize_result
from apps.tools.content import ToolContent

log = structlog.get_logger(__name__)

# Seen from inside the sandbox; the worker serves it from <workdir>/.collections.sock.
SOCKET_NAME = ".collections.sock"


def execute_run(*, run_id: str | uuid.UUID) -> str | None:
    """Run a queued run to its end; returns its final status, or None if it was not queued."""
    run = _claim(run_id)
    if run is None:
        return None
    workdir = Path(settings.SANDBOX_WORK_ROOT) / str(run.pk)
    try:
        outcome = _execute(run, workdir)
    except RunnerUnavailable as exc:
        # The hint is for operators; the author sees the plain message.
        log.error("run.runner_unavailable", run_id=str(run.pk), hint=exc.message)
        outcome = Outcome.failed(RunnerUnavailable.default_message)
    except Exception:
        # Whatever broke, the run must not stay "running" until the reaper comes.
        log.exception("run.execution_error", run_id=str(run.pk))
        outcome = Outcome.failed("Execution failed (internal error).")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        finishing.keep_run_inputs(run)
    except Exception:
        # The run still ends; the sweep retires its spool later (cleanup_run_files).
        log.exception("run.keep_inputs_error", run_id=str(run.pk))
    try:
        finishing.finish_run(run=run, outcome=outcome)
    except Exception:
        # Something in the outcome the database refused: record the failure without it, so
        # the run does not stay "running" (and its session's action pending) until the reaper.
        log.exception("run.finish_error", run_id=str(run.pk))
        outcome = Outcome.failed("Execution failed (internal error).")
        finishing.finish_run(run=run, outcome=outcome)
    finishing.retire_run_inputs(run)
    return outcome.status


def _claim(run_id: str | uuid.UUID) -> ToolRun | None:
    claimed = ToolRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=Now()
    )
    if not claimed:
        log.info("run.claim_skipped", run_id=str(run_id))
        return None
    run = ToolRun.objects.select_related("tool__project", "version", "snapshot").get(pk=run_id)
    # The tool acts with its requester's rights as they are now, not as they were when queued.
    role = role_in_project(user_id=run.requested_by_id, project_id=run.tool.project_id)
    run.requester_role = role.value if role else ""
    ToolRun.objects.filter(pk=run.pk).update(requester_role=run.requester_role)
    return run


def _execute(run: ToolRun, workdir: Path) -> Outcome:
    content = _content(run)
    if content is None:
        return Outcome.failed("Sandbox snapshot has expired. Run the sandbox again.")
    summary = syntax_error_summary(content.source_code)
    if summary is not None:
        return Outcome.failed(truncate_utf8(summary, settings.RUN_ERROR_SUMMARY_MAX_BYTES))
    ensure_work_root(workdir.parent)
    workdir.mkdir(exist_ok=False)
    manifest = prepare_workdir(
        workdir=workdir,
        source_code=content.source_code,
        memory={"settings": _settings(run, content.settings_schema)},
        input_files=_input_files(run),
    )
    env = runner_env(
        entrypoint=content.entrypoint,
        manifest_files=manifest,
        inputs=run.input_values if not run.is_action else {},
        action=_action_payload(run),
        collections_socket=f"/work/{SOCKET_NAME}",
    )
    result = _run_sandboxed(
        run, RunRequest(workdir=workdir, env=env, limits=RunLimits.for_context(run.context))
    )
    return _interpret(run, result, workdir)


def _content(run: ToolRun) -> ToolContent | None:
    if run.context == RunContext.SANDBOX:
        snapshot = run.snapshot
        if snapshot is None:  # expired and deleted while the run waited in the queue
            return None
        return ToolContent.of(snapshot)
    version = run.version
    return ToolContent.of(version)


def _settings(run: ToolRun, schema: list[dict[str, Any]] | None) -> dict[str, Any]:
    if not schema or not run.settings_context:
        return {}
    session = get_session(
        tool_id=run.tool_id, user_id=run.requested_by_id, context=run.settings_context
    )
    return stored_settings(schema, session.state) if session else {}


def _input_files(run: ToolRun) -> list[InputFile]:
    """The run's input files, read from the run files storage as the workdir is filled."""
    if run.is_action:
        stored = session_files.list_files(
            tool_id=run.tool_id, user_id=run.requested_by_id, context=run.session_context
        )
        keys = [(f.name, f.key) for f in stored]
    else:
        spool = session_files.inputs_dir(run.pk)
        keys = [(e["name"], f"{spool}/{e['name']}") for e in run.input_manifest.get("files", [])]
    return [InputFile(name=name, open=partial(_open_input, key)) for name, key in keys]


def _open_input(key: str) -> IO[bytes]:
    return session_files.open_stream(key)[0]


def _action_payload(run: ToolRun) -> dict[str, Any] | None:
    if not run.is_action:
        return None
    # The state is always the server's, never anything a client sent.
    session = get_session(
        tool_id=run.tool_id, user_id=run.requested_by_id, context=run.session_context
    )
    return {
        "action_id": run.action_id,
        "input": run.action_input,
        "state": session.state if session else {},
    }


def _run_sandboxed(run: ToolRun, request: RunRequest) -> RunResult:
    """Run with a collections bridge authorised by a run token that lives only as long as the run
    (plus a grace of 60 s) and is revoked as soon as it ends."""
    expires_at = timezone.now() + timedelta(seconds=request.limits.timeout_s + 60)
    token, secret = create_run_token(
        user=run.requested_by,
        project_id=run.tool.project_id,
        project_role=run.requester_role,
        expires_at=expires_at,
        run_id=run.pk,
    )
    # Unsaved code in a top-level project may read its collections but never change them.
    read_only = run.context == RunContext.SANDBOX and run.tool.project.parent_id is None
    try:
        with CollectionsBridge(
            socket_path=request.workdir / SOCKET_NAME, token_secret=secret, read_only=read_only
        ) as bridge:
            result = get_runner().run(request)
        log.info(
            "run.sandbox_finished",
            run_id=str(run.pk),
            outcome=result.outcome,
            wall_s=round(result.wall_s, 3),
            cpu_s=None if result.cpu_s is None else round(result.cpu_s, 3),
            memory_peak_bytes=result.memory_peak_bytes,
            collection_calls=bridge.calls,
        )
        return result
    finally:
        revoke_api_token(token=token)


def _interpret(run: ToolRun, result: RunResult, workdir: Path) -> Outcome:
    out, err = result.stdout, result.stderr
    if result.outcome == "timed_out":
        outcome = Outcome.failed(
            "Execution timed out.", status=RunStatus.TIMED_OUT, stdout=out, stderr=err
        )
    elif result.outcome != "exited":
        outcome = Outcome.failed(_stopped_summary(result), stdout=out, stderr=err)
    else:
        try:
            output = read_result(workdir / "result.json", max_bytes=settings.RUN_RESULT_MAX_BYTES)
        except ContractViolation as exc:
            log.warning("run.contract_violation", run_id=str(run.pk), reason=str(exc))
            summary = "Execution failed (runner contract violation)."
            outcome = Outcome.failed(summary, stdout=out, stderr=err)
        else:
            outcome = _from_output(run, output)
            outcome.stdout, outcome.stderr = out, err
    return _with_artifacts(run, outcome, workdir)


def _stopped_summary(result: RunResult) -> str:
    """Why the sandbox was stopped before the runner could write its result."""
    if result.outcome == "work_limit":
        return f"The tool wrote more than {settings.RUN_WORK_MAX_BYTES} bytes to /work."
    if result.outcome == "memory_limit":
        limit_mib = settings.RUN_MEMORY_BYTES >> 20
        return f"Memory limit reached: the run used more than {limit_mib} MiB in all."
    if result.outcome == "cpu_limit":
        return f"CPU limit reached: the run used more than {settings.RUN_CPU_SECONDS} s of CPU."
    return _signal_summary(result.signal)


def _from_output(run: ToolRun, output: RunnerOutput) -> Outcome:
    try:
        normalized = normalize_result(
            outputs=output.outputs, next_actions=output.next_actions, state=output.state
        )
    except NormalizationError as exc:
        log.warning("run.normalization_failed", run_id=str(run.pk), reason=str(exc))
        return Outcome.failed("Execution failed (ui_payload normalization error).")
    summary = truncate_utf8(output.error_summary or "", settings.RUN_ERROR_SUMMARY_MAX_BYTES)
    return Outcome(
        status=output.status,
        error_summary=summary.strip(),
        ui_payload=normalized.ui_payload,
        state=normalized.state,
    )


def _with_artifacts(run: ToolRun, outcome: Outcome, workdir: Path) -> Outcome:
    # Collected on every outcome: a timed-out run keeps whatever it wrote in time. The checked
    # copy is made on this host's disk first, then stored (possibly on another host).
    with tempfile.TemporaryDirectory(prefix="skriptoteket-artifacts-") as staging:
        try:
            outcome.artifacts = collect_artifacts(
                output_dir=workdir / "output",
                dest_dir=Path(staging),
                max_bytes=settings.RUN_WORK_MAX_BYTES,
            )
        except ArtifactViolation as exc:
            log.warning("run.artifact_violation", run_id=str(run.pk), reason=str(exc))
            session_files.remove_artifacts(run.pk)
            summary = "Execution failed (artifact extraction violation)."
            return Outcome.failed(summary, stdout=outcome.stdout, stderr=outcome.stderr)
        if outcome.artifacts:
            session_files.store_artifacts(run.pk, Path(staging))
    return outcome


def _signal_summary(signal: str | None) -> str:
    if signal == "SIGXCPU":
        return "The tool used more CPU time than allowed."
    if signal == "SIGKILL":
        return "The tool was stopped (out of memory or killed)."
    return f"The tool was stopped by a signal ({signal})."
