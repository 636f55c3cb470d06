"""Creating runs: every input is validated before anything is stored, then the run row (and the
spooled input files) are written in the caller's transaction and the worker is told on commit."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import structlog
from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs import session_files
from apps.runs.exceptions import RunLimitReached, StateRevConflict
from apps.runs.models import ACTIVE_STATUSES, RunContext, ToolRun, ToolSession
from apps.runs.runner.workdir import check_unique_filenames, sanitize_filename

# Re-exported: the sandbox app imports it from here.
from apps.runs.services.sessions import check_expected_rev, reject_nul
from apps.runs.ui_payload import offered_action, validate_action_input
from apps.tools.models import Tool, ToolVersion
from apps.tools.schema_values import coerce_input_values

log = structlog.get_logger(__name__)


class Upload(Protocol):
    """What an uploaded file offers (Django's UploadedFile)."""

    name: str | None

    @property
    def size(self) -> int | None: ...

    def chunks(self) -> Iterable[bytes]: ...


class SessionFilesMode:
    NONE = "none"
    REUSE = "reuse"
    CLEAR = "clear"
    ALL = (NONE, REUSE, CLEAR)


@dataclass(frozen=True)
class RunInputs:
    """Validated inputs of an initial run: form values and the files it will receive."""

    values: dict[str, Any]
    uploads: list[tuple[str, Upload]] = field(default_factory=list)
    # (name, key in the run files storage) of session files used again
    reused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_files(self) -> bool:
        return bool(self.uploads or self.reused)


def parse_json_object(raw: object, name: str) -> dict[str, Any]:
    """A multipart text field holding a JSON object (absent or blank = {}).

    :raises ValidationFailed: "<name> must be valid JSON" / "<name> must be a JSON object"
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, dict):
        value: Any = raw  # a JSON body's object: parsed already, but not checked for NUL
    elif not isinstance(raw, str | bytes):
        value = raw  # any other JSON body value: valid JSON, but not an object
    else:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValidationFailed(f"{name} must be valid JSON") from None
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name} must be a JSON object")
    reject_nul(value, name)
    return value


def validate_uploads(uploads: list[Upload]) -> list[tuple[str, Upload]]:
    """Limits, sanitised names and uniqueness of uploaded files.

    :raises ValidationFailed:
    """
    if len(uploads) > settings.UPLOAD_MAX_FILES:
        raise ValidationFailed("Too many files.", details={"max_files": settings.UPLOAD_MAX_FILES})
    total = 0
    named: list[tuple[str, Upload]] = []
    for upload in uploads:
        size = upload.size or 0
        if size > settings.UPLOAD_MAX_FILE_BYTES:
            raise ValidationFailed(
                "File too large.",
                details={"name": upload.name, "max_file_bytes": settings.UPLOAD_MAX_FILE_BYTES},
            )
        total += size
        named.append((sanitize_filename(upload.name or ""), upload))
    if total > settings.UPLOAD_MAX_TOTAL_BYTES:
        raise ValidationFailed(
            "Files too large in total.",
            details={"max_total_bytes": settings.UPLOAD_MAX_TOTAL_BYTES},
        )
    check_unique_filenames([name for name, _ in named])
    return named


def validate_inputs(
    *,
    input_schema: list[dict[str, Any]],
    raw_values: dict[str, Any],
    uploads: list[tuple[str, Upload]],
    reused: list[tuple[str, str]],
) -> RunInputs:
    """Form values coerced to the schema and the file count checked against its file field.

    :raises ValidationFailed:
    """
    values = coerce_input_values(input_schema, raw_values)
    file_field = next((f for f in input_schema if f["kind"] == "file"), None)
    count = len(uploads) + len(reused)
    if file_field is None and count:
        raise ValidationFailed("Tool does not accept files", details={"files_count": count})
    if file_field is not None and not file_field["min"] <= count <= file_field["max"]:
        raise ValidationFailed(
            "Invalid number of uploaded files",
            details={"min": file_field["min"], "max": file_field["max"], "files_count": count},
        )
    return RunInputs(values=values, uploads=uploads, reused=reused)


def reject_if_at_run_limit(user: User) -> None:
    """Per-user cap on queued + running runs, decided under the user's row lock so two
    submissions cannot both see room for one more.

    :raises RunLimitReached:
    """
    User.objects.select_for_update().filter(pk=user.pk).exists()
    active = ToolRun.objects.filter(requested_by=user, status__in=ACTIVE_STATUSES).count()
    if active >= settings.RUN_MAX_CONCURRENT_PER_USER:
        raise RunLimitReached(details={"max_concurrent_runs": settings.RUN_MAX_CONCURRENT_PER_USER})


@dataclass(frozen=True)
class NewRun:
    tool: Tool
    version: ToolVersion
    context: str
    requested_by: User
    session_context: str
    settings_context: str = ""
    snapshot_id: uuid.UUID | None = None

    def row(self) -> dict[str, Any]:
        """The run's columns this describes."""
        return {
            "tool": self.tool,
            "version": self.version,
            "snapshot_id": self.snapshot_id,
            "context": self.context,
            "requested_by": self.requested_by,
            "session_context": self.session_context,
            "settings_context": self.settings_context,
        }


def create_initial_run(*, new: NewRun, inputs: RunInputs) -> ToolRun:
    """Queue a first run (inside the caller's transaction); its files are spooled first."""
    reject_if_at_run_limit(new.requested_by)
    run_id = uuid.uuid4()
    # Spooled before the row exists, so a worker never sees a run without its files. If the
    # transaction rolls back, the spool folder is left behind for the hourly sweep.
    manifest = _spool(run_id, inputs)
    run = ToolRun.objects.create(
        id=run_id,
        **new.row(),
        input_manifest={"files": manifest},
        input_values=inputs.values,
        store_session_files=inputs.has_files,
    )
    _enqueue_on_commit(run)
    log.info("run.queued", run_id=str(run.pk), tool_id=str(new.tool.pk), context=new.context)
    return run


def create_action_run(
    *,
    new: NewRun,
    session: ToolSession,
    action_id: object,
    raw_input: object,
    expected_state_rev: object,
) -> ToolRun:
    """Queue an action run for the session's current revision (inside the caller's transaction).
    The session row is locked, so for one revision at most one action run is ever created.

    :raises StateRevConflict: stale revision or another action of this session is pending
    :raises ActionNotOffered, ValidationFailed:
    """
    expected = check_expected_rev(expected_state_rev)
    locked = ToolSession.objects.select_for_update().get(pk=session.pk)
    if locked.state_rev != expected or locked.pending_run_id is not None:
        raise StateRevConflict(
            details={
                "expected_state_rev": expected,
                "current_state_rev": locked.state_rev,
                "pending_run_id": str(locked.pending_run_id) if locked.pending_run_id else None,
            }
        )
    latest_payload = locked.latest_run.ui_payload if locked.latest_run else None
    action = offered_action(latest_payload, action_id if isinstance(action_id, str) else "")
    reject_nul(raw_input, "input")
    values = validate_action_input(action, raw_input)
    reject_if_at_run_limit(new.requested_by)
    run = ToolRun.objects.create(
        **new.row(),
        action_id=action["action_id"],
        action_input=values,
        expected_state_rev=expected,
        input_manifest={"files": []},
    )
    ToolSession.objects.filter(pk=locked.pk).update(pending_run=run)
    _enqueue_on_commit(run)
    log.info("run.action_queued", run_id=str(run.pk), action_id=run.action_id, rev=expected)
    return run


def _spool(run_id: uuid.UUID, inputs: RunInputs) -> list[dict[str, Any]]:
    """Store the run's input files where its worker (on any host) will fetch them."""
    manifest = []
    try:
        for name, upload in inputs.uploads:
            size = session_files.save_input(run_id, name, _as_file(upload))
            manifest.append({"name": name, "bytes": size})
        for name, key in inputs.reused:
            manifest.append({"name": name, "bytes": session_files.copy_input(run_id, name, key)})
    except BaseException:
        session_files.remove_run_folders(run_id)
        raise
    return manifest


def _as_file(upload: Upload) -> File[Any]:
    if isinstance(upload, File):
        return upload
    return ContentFile(b"".join(upload.chunks()))


def enqueue(run_id: uuid.UUID, context: str) -> None:
    """Send the run to its queue (`sandbox` or `runs`, see CELERY_TASK_ROUTES). By name: the
    tasks module sits beside this one and may not be imported from here."""
    task = TASK_FOR_CONTEXT[context]
    current_app.send_task(task, args=[str(run_id)])


TASK_FOR_CONTEXT: dict[str, str] = {
    RunContext.SANDBOX: "apps.runs.tasks.execute_sandbox_run_task",
    RunContext.PRODUCTION: "apps.runs.tasks.execute_production_run_task",
}


def _enqueue_on_commit(run: ToolRun) -> None:
    run_id, context = run.pk, run.context
    # robust: with the broker down the run stays queued (stored) and the reaper sends it later,
    # instead of the request failing after its transaction committed.
    transaction.on_commit(lambda: enqueue(run_id, context), robust=True)
