"""Sandbox preview: run unsaved editor content, continue it with actions, keep per-draft sandbox
settings. Every use-case validates its input first, then checks permission, head and lock under
the tool's row lock and writes everything in one transaction."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.contrib.postgres.functions import TransactionNow
from django.db import connection, transaction
from django.db.models.functions import Now

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.core.identifiers import parse_uuid
from apps.locks import services as locks
from apps.locks.exceptions import NotDraftHead
from apps.runs import services as runs
from apps.runs import session_files
from apps.runs.exceptions import SessionNotFound
from apps.runs.models import RunContext, ToolRun, ToolSession
from apps.runs.services import NewRun, SessionFilesMode
from apps.runs.services.sessions import SettingsState
from apps.runs.services.submission import Upload, reject_nul
from apps.sandbox.exceptions import (
    SnapshotExpired,
    SnapshotMismatch,
    SnapshotNotFound,
    SnapshotTooLarge,
)
from apps.sandbox.models import SandboxSnapshot
from apps.tools import access as tools_access
from apps.tools.exceptions import ToolEditDenied
from apps.tools.models import Tool, ToolVersion
from apps.tools.schemas import canonical_json, normalize_input_schema, normalize_settings_schema

log = structlog.get_logger(__name__)

_SNAPSHOT_KEYS = frozenset(
    {"entrypoint", "source_code", "settings_schema", "input_schema", "usage_instructions"}
)


@dataclass(frozen=True)
class SnapshotContent:
    entrypoint: str
    source_code: str
    settings_schema: list[dict[str, Any]] | None
    input_schema: list[dict[str, Any]]
    usage_instructions: str

    def canonical_bytes(self) -> int:
        return len(canonical_json(self.__dict__))


def snapshot_context(snapshot_id: uuid.UUID) -> str:
    return f"sandbox:{snapshot_id}"


def parse_snapshot(raw: object) -> SnapshotContent:
    """The unsaved editor content, normalised; problems are reported per field.

    :raises ValidationFailed, SnapshotTooLarge:
    """
    if not isinstance(raw, dict):
        raise ValidationFailed("snapshot must be a JSON object")
    unknown = sorted(set(raw) - _SNAPSHOT_KEYS)
    if unknown:
        raise ValidationFailed("snapshot has unknown keys", details={"unknown_keys": unknown})
    reject_nul(raw, "snapshot")
    entrypoint = raw.get("entrypoint", "run_tool")
    source = raw.get("source_code")
    instructions = raw.get("usage_instructions")
    if not isinstance(entrypoint, str) or not 1 <= len(entrypoint.strip()) <= 128:
        raise _field_error("entrypoint", "entrypoint must be 1 to 128 characters.")
    if not entrypoint.strip().isidentifier():
        raise _field_error("entrypoint", "entrypoint must be a Python identifier.")
    if not isinstance(source, str) or not source:
        raise _field_error("source_code", "source_code must be a non-empty string.")
    if instructions is not None and not isinstance(instructions, str):
        raise _field_error("usage_instructions", "usage_instructions must be a string or null.")
    content = SnapshotContent(
        entrypoint=entrypoint.strip(),
        source_code=source,
        settings_schema=normalize_settings_schema(raw.get("settings_schema")),
        input_schema=_input_schema(raw.get("input_schema")),
        usage_instructions=(instructions or "").strip(),
    )
    size = content.canonical_bytes()
    if size > settings.SANDBOX_SNAPSHOT_MAX_BYTES:
        raise SnapshotTooLarge(
            details={"payload_bytes": size, "max_bytes": settings.SANDBOX_SNAPSHOT_MAX_BYTES}
        )
    return content


def _input_schema(raw: object) -> list[dict[str, Any]]:
    # Absent or null means "no form"; anything else must be an array (0, "" or {} are errors,
    # not an empty form).
    return normalize_input_schema([] if raw is None else raw)


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": {field: [message]}})


def _check_editor(tool: Tool, version: ToolVersion, actor: User, lock_token: int | None) -> None:
    """Edit permission; and when the tool has a draft head, `version` is it and the actor holds
    its live lock. Call under the tool's row lock.

    :raises ToolEditDenied, NotDraftHead, DraftLockRequired…:
    """
    if not tools_access.can_edit(user=actor, tool=tool):
        raise ToolEditDenied()
    if tool.draft_head_id is None:
        return
    if tool.draft_head_id != version.pk:
        raise NotDraftHead(details={"draft_head_id": str(tool.draft_head_id)})
    locks.require_active_draft_lock(
        tool_id=tool.pk, draft_head_id=version.pk, actor_id=actor.pk, token=lock_token
    )


def _locked_tool(version: ToolVersion) -> Tool:
    return (
        Tool.objects.select_for_update(of=("self",))
        .select_related("project")
        .get(pk=version.tool_id)
    )


@dataclass(frozen=True)
class PreviewRequest:
    snapshot: object
    inputs: dict[str, Any]
    uploads: list[Upload]
    session_files_mode: str = SessionFilesMode.NONE
    session_context: str | None = None
    lock_token: int | None = None


@transaction.atomic
def run_sandbox_preview(
    *, version: ToolVersion, actor: User, request: PreviewRequest
) -> tuple[ToolRun, SandboxSnapshot]:
    """Store the snapshot and queue its run together, after every check has passed.

    :raises ValidationFailed, SnapshotTooLarge, ToolEditDenied, DraftLock…, RunLimitReached:
    """
    content = parse_snapshot(request.snapshot)
    uploads = runs.validate_uploads(request.uploads)
    tool = _locked_tool(version)
    _check_editor(tool, version, actor, request.lock_token)
    previous = _previous_files(request, has_uploads=bool(uploads))
    reused = _reused_files(tool, actor, previous)
    inputs = runs.validate_inputs(
        input_schema=content.input_schema,
        raw_values=request.inputs,
        uploads=uploads,
        reused=reused,
    )
    snapshot = SandboxSnapshot.objects.create(
        id=uuid.uuid4(),
        tool=tool,
        draft_head=version,
        created_by=actor,
        payload_bytes=content.canonical_bytes(),
        expires_at=Now() + timedelta(seconds=settings.SANDBOX_SNAPSHOT_TTL_SECONDS),
        **content.__dict__,
    )
    settings_context = (
        runs.sandbox_settings_context(version.pk, content.settings_schema)
        if content.settings_schema
        else ""
    )
    run = runs.create_initial_run(
        new=NewRun(
            tool=tool,
            version=version,
            context=RunContext.SANDBOX,
            requested_by=actor,
            session_context=snapshot_context(snapshot.pk),
            settings_context=settings_context,
            snapshot_id=snapshot.pk,
        ),
        inputs=inputs,
    )
    if previous is not None and previous.mode == SessionFilesMode.CLEAR:
        # Only once the run is stored for good: a refused request keeps the earlier files.
        cleared = previous.context
        transaction.on_commit(
            lambda: session_files.clear_files(tool_id=tool.pk, user_id=actor.pk, context=cleared)
        )
    log.info("sandbox.preview_queued", run_id=str(run.pk), snapshot_id=str(snapshot.pk))
    return run, snapshot


@dataclass(frozen=True)
class _PreviousFiles:
    mode: str
    context: str


def _previous_files(request: PreviewRequest, *, has_uploads: bool) -> _PreviousFiles | None:
    """What to do with an earlier preview's files: `reuse` them or `clear` them. New uploads
    replace the session's files, so with uploads the mode changes nothing.

    :raises ValidationFailed: unknown mode, or a context that is not `sandbox:<uuid>`
    """
    mode = request.session_files_mode
    if mode not in SessionFilesMode.ALL:
        raise _field_error("session_files_mode", "session_files_mode must be none, reuse or clear.")
    if mode == SessionFilesMode.NONE:
        return None
    context = _previous_preview_context(request.session_context)
    return None if has_uploads else _PreviousFiles(mode=mode, context=context)


def _reused_files(
    tool: Tool, actor: User, previous: _PreviousFiles | None
) -> list[tuple[str, Any]]:
    if previous is None or previous.mode != SessionFilesMode.REUSE:
        return []
    stored = session_files.list_files(tool_id=tool.pk, user_id=actor.pk, context=previous.context)
    return [(f.name, f.path) for f in stored]


def _previous_preview_context(raw: str | None) -> str:
    """`sandbox:<uuid>` of an earlier preview (a body field: malformed is a 422, not a 400)."""
    prefix = "sandbox:"
    message = "session_context must be sandbox:<snapshot id>."
    if not raw or not raw.startswith(prefix):
        raise _field_error("session_context", message)
    try:
        snapshot_id = uuid.UUID(raw[len(prefix) :])
    except ValueError:
        raise _field_error("session_context", message) from None
    return snapshot_context(snapshot_id)


def _snapshot_of(actor: User, raw_snapshot_id: object) -> SandboxSnapshot:
    """The actor's own snapshot (another user's is as unknown as a missing one).

    :raises ValidationFailed, BadRequest, SnapshotNotFound:
    """
    if raw_snapshot_id is None or raw_snapshot_id == "":
        raise _field_error("snapshot_id", "snapshot_id is required.")
    if not isinstance(raw_snapshot_id, str):
        raise _field_error("snapshot_id", "snapshot_id must be a UUID string.")
    pk = parse_uuid(raw_snapshot_id, name="snapshot_id")
    snapshot = SandboxSnapshot.objects.filter(pk=pk, created_by=actor).first()
    if snapshot is None:
        if _was_swept(actor, pk):
            raise SnapshotExpired()
        raise SnapshotNotFound()
    return snapshot


def _was_swept(actor: User, snapshot_id: uuid.UUID) -> bool:
    """The expiry job deleted this snapshot of the actor's: its runs are still there (with
    snapshot_id null), so the client can be told to run the sandbox again, not "not found"."""
    return ToolRun.objects.filter(
        requested_by=actor,
        context=RunContext.SANDBOX,
        snapshot__isnull=True,
        session_context=snapshot_context(snapshot_id),
    ).exists()


def _check_live(snapshot: SandboxSnapshot) -> None:
    """:raises SnapshotExpired: expires_at <= now(), by the database clock like every other
    time decision (so an expired snapshot the job has not deleted yet is refused too). The
    transaction's now(), as the lock checks use: one instant for every check of a request."""
    live = SandboxSnapshot.objects.filter(pk=snapshot.pk, expires_at__gt=TransactionNow())
    if not live.exists():
        raise SnapshotExpired()


def _check_snapshot(snapshot: SandboxSnapshot, version: ToolVersion) -> None:
    """:raises SnapshotExpired, SnapshotMismatch:"""
    _check_live(snapshot)
    if snapshot.tool_id != version.tool_id or snapshot.draft_head_id != version.pk:
        raise SnapshotMismatch(details={"snapshot_draft_head_id": str(snapshot.draft_head_id)})


@dataclass(frozen=True)
class ActionRequest:
    snapshot_id: object
    action_id: object
    input: object
    expected_state_rev: object
    lock_token: int | None = None


@transaction.atomic
def start_sandbox_action(
    *, version: ToolVersion, actor: User, request: ActionRequest
) -> tuple[ToolRun, ToolSession]:
    """Queue the snapshot's code with the chosen action and the server's session state.

    :raises SnapshotNotFound, SnapshotExpired, SnapshotMismatch, SessionNotFound,
        StateRevConflict, ActionNotOffered, ValidationFailed, DraftLock…:
    """
    reject_nul(request.input, "input")
    tool = _locked_tool(version)
    _check_editor(tool, version, actor, request.lock_token)
    snapshot = _snapshot_of(actor, request.snapshot_id)
    _check_snapshot(snapshot, version)
    context = snapshot_context(snapshot.pk)
    session = runs.get_session(tool_id=tool.pk, user_id=actor.pk, context=context)
    if session is None:
        raise SessionNotFound()
    settings_context = (
        runs.sandbox_settings_context(snapshot.draft_head_id, snapshot.settings_schema)
        if snapshot.settings_schema
        else ""
    )
    run = runs.create_action_run(
        new=NewRun(
            tool=tool,
            version=version,
            context=RunContext.SANDBOX,
            requested_by=actor,
            session_context=context,
            settings_context=settings_context,
            snapshot_id=snapshot.pk,
        ),
        session=session,
        action_id=request.action_id,
        raw_input=request.input,
        expected_state_rev=request.expected_state_rev,
    )
    session.refresh_from_db()
    return run, session


def sandbox_session(*, version: ToolVersion, actor: User, snapshot_id: object) -> ToolSession:
    """The actor's own session of one of their live snapshots (no fallback to a version context).

    :raises SnapshotNotFound, SnapshotExpired, SnapshotMismatch, SessionNotFound:
    """
    snapshot = _snapshot_of(actor, snapshot_id)
    _check_live(snapshot)
    if snapshot.tool_id != version.tool_id:
        raise SnapshotMismatch()
    session = runs.get_session(
        tool_id=version.tool_id, user_id=actor.pk, context=snapshot_context(snapshot.pk)
    )
    if session is None:
        raise SessionNotFound()
    return session


def sandbox_session_files(
    *, version: ToolVersion, actor: User, snapshot_id: object
) -> list[dict[str, Any]]:
    """:raises ToolEditDenied, SnapshotNotFound, SnapshotExpired, SnapshotMismatch:"""
    if not tools_access.can_edit(user=actor, tool=version.tool):
        raise ToolEditDenied()
    snapshot = _snapshot_of(actor, snapshot_id)
    _check_snapshot(snapshot, version)
    stored = session_files.list_files(
        tool_id=version.tool_id, user_id=actor.pk, context=snapshot_context(snapshot.pk)
    )
    return [{"name": f.name, "bytes": f.bytes} for f in stored]


def _settings_schema(raw: object) -> list[dict[str, Any]]:
    schema = normalize_settings_schema(raw)
    if not schema:
        raise _field_error("settings_schema", "settings_schema is required")
    return schema


@transaction.atomic
def resolve_sandbox_settings(
    *, version: ToolVersion, actor: User, settings_schema: object, lock_token: int | None = None
) -> SettingsState:
    """The actor's sandbox settings for this draft head and (unsaved) schema."""
    schema = _settings_schema(settings_schema)
    tool = _locked_tool(version)
    _check_editor(tool, version, actor, lock_token)
    return runs.resolve_settings(
        tool_id=tool.pk,
        user_id=actor.pk,
        schema=schema,
        context=runs.sandbox_settings_context(version.pk, schema),
    )


@transaction.atomic
def save_sandbox_settings(
    *,
    version: ToolVersion,
    actor: User,
    settings_schema: object,
    expected_state_rev: object,
    values: object,
    lock_token: int | None = None,
) -> SettingsState:
    """:raises ValidationFailed, StateRevConflict, DraftLock…:"""
    schema = _settings_schema(settings_schema)
    reject_nul(values, "values")
    tool = _locked_tool(version)
    _check_editor(tool, version, actor, lock_token)
    return runs.save_settings(
        tool_id=tool.pk,
        user_id=actor.pk,
        schema=schema,
        context=runs.sandbox_settings_context(version.pk, schema),
        expected_state_rev=expected_state_rev,
        values=values,
    )


_SESSIONS = ToolSession._meta.db_table
_CARRY_OVER_SQL = f"""
INSERT INTO {_SESSIONS} (id, tool_id, user_id, context, state, state_rev, created_at, updated_at)
SELECT gen_random_uuid(), tool_id, user_id, %s, state, 0, now(), now()
FROM {_SESSIONS} WHERE tool_id = %s AND context = %s
ON CONFLICT (tool_id, user_id, context) DO NOTHING
"""  # noqa: S608 - table name from model metadata


def carry_over_sandbox_settings(
    *, tool: Tool, old_head: ToolVersion | None, new_head: ToolVersion | None
) -> int:
    """Copy every user's sandbox settings of the old head to the new one when the saved settings
    schema is the one they were stored under (in the transaction that moved the head)."""
    if old_head is None or new_head is None or not new_head.settings_schema:
        return 0
    schema = new_head.settings_schema
    with connection.cursor() as cursor:
        cursor.execute(
            _CARRY_OVER_SQL,
            [
                runs.sandbox_settings_context(new_head.pk, schema),
                tool.pk,
                runs.sandbox_settings_context(old_head.pk, schema),
            ],
        )
        return int(cursor.rowcount)


def expire_sandbox_snapshots(*, batch_size: int = 500) -> dict[str, int]:
    """Delete expired snapshots with their sandbox sessions and session files; their runs stay
    (snapshot_id becomes null). Also drops sandbox settings untouched for the retention time."""
    snapshots = sessions = folders = 0
    while True:
        with transaction.atomic():
            expired = list(
                SandboxSnapshot.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=TransactionNow())
                .values_list("pk", "tool_id")[:batch_size]
            )
            if not expired:
                break
            contexts = [snapshot_context(pk) for pk, _ in expired]
            sessions += ToolSession.objects.filter(context__in=contexts).delete()[0]
            snapshots += SandboxSnapshot.objects.filter(pk__in=[pk for pk, _ in expired]).delete()[
                0
            ]
        for pk, tool_id in expired:
            folders += session_files.clear_context_for_all_users(
                tool_id=tool_id, context=snapshot_context(pk)
            )
    stale_settings = ToolSession.objects.filter(
        context__startswith="sandbox-settings:",
        updated_at__lt=Now() - timedelta(days=settings.SANDBOX_SETTINGS_RETENTION_DAYS),
    ).delete()[0]
    counts = {
        "snapshots": snapshots,
        "sessions": sessions + stale_settings,
        "session_file_folders": folders,
    }
    log.info("sandbox.snapshots_expired", **counts)
    return counts
