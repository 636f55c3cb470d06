"""Sandbox preview runs: unsaved editor content, validated in full, stored as an immutable
snapshot together with its queued run."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs import services as runs
from apps.runs import session_files
from apps.runs.models import ToolRun
from apps.runs.services import SessionFilesMode
from apps.runs.services.sessions import reject_nul
from apps.runs.services.submission import Upload
from apps.sandbox.exceptions import (
    SnapshotTooLarge,
)
from apps.sandbox.models import SandboxSnapshot
from apps.sandbox.services.common import (
    check_editor,
    field_error,
    locked_tool,
    sandbox_run,
    snapshot_context,
)
from apps.tools.models import Tool, ToolVersion
from apps.tools.schemas import canonical_json, normalize_input_schema, normalize_settings_schema
from apps.tools.services import content_hash

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

    def content_hash(self) -> str:
        """The hash a ToolVersion of this content has (one function for both)."""
        return content_hash(self.__dict__)


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
        raise field_error("entrypoint", "entrypoint must be 1 to 128 characters.")
    if not entrypoint.strip().isidentifier():
        raise field_error("entrypoint", "entrypoint must be a Python identifier.")
    if not isinstance(source, str) or not source:
        raise field_error("source_code", "source_code must be a non-empty string.")
    if instructions is not None and not isinstance(instructions, str):
        raise field_error("usage_instructions", "usage_instructions must be a string or null.")
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
    tool = locked_tool(version)
    check_editor(tool, version, actor, request.lock_token)
    previous = _previous_files(request, has_uploads=bool(uploads))
    reused = _reused_files(tool, actor, previous)
    inputs = runs.validate_inputs(
        input_schema=content.input_schema,
        raw_values=request.inputs,
        uploads=uploads,
        reused=reused,
    )
    run, snapshot = store_preview(
        tool=tool, version=version, actor=actor, content=content, inputs=inputs
    )
    if previous is not None and previous.mode == SessionFilesMode.CLEAR:
        # Only once the run is stored for good: a refused request keeps the earlier files.
        cleared = previous.context
        transaction.on_commit(
            lambda: session_files.clear_files(tool_id=tool.pk, user_id=actor.pk, context=cleared)
        )
    log.info("sandbox.preview_queued", run_id=str(run.pk), snapshot_id=str(snapshot.pk))
    return run, snapshot


def store_preview(
    *,
    tool: Tool,
    version: ToolVersion,
    actor: User,
    content: SnapshotContent,
    inputs: runs.RunInputs,
) -> tuple[ToolRun, SandboxSnapshot]:
    """The immutable snapshot and its queued run, anchored to `version`. Call inside the
    use-case's transaction, after every check."""
    snapshot = SandboxSnapshot.objects.create(
        id=uuid.uuid4(),
        tool=tool,
        draft_head=version,
        created_by=actor,
        payload_bytes=content.canonical_bytes(),
        content_hash=content.content_hash(),
        expires_at=Now() + timedelta(seconds=settings.SANDBOX_SNAPSHOT_TTL_SECONDS),
        **content.__dict__,
    )
    run = runs.create_initial_run(new=sandbox_run(snapshot, version, actor), inputs=inputs)
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
        raise field_error("session_files_mode", "session_files_mode must be none, reuse or clear.")
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
        raise field_error("session_context", message)
    try:
        snapshot_id = uuid.UUID(raw[len(prefix) :])
    except ValueError:
        raise field_error("session_context", message) from None
    return snapshot_context(snapshot_id)
