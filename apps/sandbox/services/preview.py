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
    locked_tool,
    sandbox_run,
    snapshot_context,
)
from apps.tools.content import DEFAULT_ENTRYPOINT, FIELD_NAMES, ToolContent
from apps.tools.models import Tool, ToolVersion

log = structlog.get_logger(__name__)


def parse_snapshot(raw: object) -> ToolContent:
    """The unsaved editor content, normalised; problems are reported per field.

    :raises ValidationFailed, SnapshotTooLarge:
    """
    if not isinstance(raw, dict):
        raise ValidationFailed("snapshot must be a JSON object")
    unknown = sorted(set(raw) - set(FIELD_NAMES))
    if unknown:
        raise ValidationFailed("snapshot has unknown keys", details={"unknown_keys": unknown})
    reject_nul(raw, "snapshot")
    values = {name: raw.get(name) for name in FIELD_NAMES}
    values["entrypoint"] = raw.get("entrypoint", DEFAULT_ENTRYPOINT)  # null is an error
    content = ToolContent.validated(**values)
    size = len(content.canonical_json())
    if size > settings.SANDBOX_SNAPSHOT_MAX_BYTES:
        raise SnapshotTooLarge(
            details={"payload_bytes": size, "max_bytes": settings.SANDBOX_SNAPSHOT_MAX_BYTES}
        )
    return content


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
    content: ToolContent,
    inputs: runs.RunInputs,
) -> tuple[ToolRun, SandboxSnapshot]:
    """The immutable snapshot and its queued run, anchored to `version`. Call inside the
    use-case's transaction, after every check."""
    snapshot = SandboxSnapshot.objects.create(
        id=uuid.uuid4(),
        tool=tool,
        draft_head=version,
        created_by=actor,
        payload_bytes=len(content.canonical_json()),
        content_hash=content.content_hash,
        expires_at=Now() + timedelta(seconds=settings.SANDBOX_SNAPSHOT_TTL_SECONDS),
        **content.as_fields(),
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
        raise ValidationFailed.for_field(
            "session_files_mode", "session_files_mode must be none, reuse or clear."
        )
    if mode == SessionFilesMode.NONE:
        return None
    context = _previous_preview_context(request.session_context)
    return None if has_uploads else _PreviousFiles(mode=mode, context=context)


def _reused_files(
    tool: Tool, actor: User, previous: _PreviousFiles | None
) -> list[tuple[str, str]]:
    if previous is None or previous.mode != SessionFilesMode.REUSE:
        return []
    stored = session_files.list_files(tool_id=tool.pk, user_id=actor.pk, context=previous.context)
    return [(f.name, f.key) for f in stored]


def _previous_preview_context(raw: str | None) -> str:
    """`sandbox:<uuid>` of an earlier preview (a body field: malformed is a 422, not a 400)."""
    prefix = "sandbox:"
    message = "session_context must be sandbox:<snapshot id>."
    if not raw or not raw.startswith(prefix):
        raise ValidationFailed.for_field("session_context", message)
    try:
        snapshot_id = uuid.UUID(raw[len(prefix) :])
    except ValueError:
        raise ValidationFailed.for_field("session_context", message) from None
    return snapshot_context(snapshot_id)
