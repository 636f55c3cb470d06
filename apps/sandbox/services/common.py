"""What every sandbox use-case shares: the editor checks under the tool row lock, and
looking up the caller's own snapshots."""

import uuid

import structlog
from django.contrib.postgres.functions import TransactionNow

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.core.identifiers import parse_uuid
from apps.locks import services as locks
from apps.locks.exceptions import NotDraftHead
from apps.runs import services as runs
from apps.runs.models import RunContext, ToolRun
from apps.runs.services import NewRun
from apps.sandbox.exceptions import (
    SnapshotExpired,
    SnapshotMismatch,
    SnapshotNotFound,
)
from apps.sandbox.models import SandboxSnapshot
from apps.tools import access as tools_access
from apps.tools.exceptions import ToolEditDenied
from apps.tools.models import Tool, ToolVersion

log = structlog.get_logger(__name__)


def snapshot_context(snapshot_id: uuid.UUID) -> str:
    return f"sandbox:{snapshot_id}"


def check_editor(tool: Tool, version: ToolVersion, actor: User, lock_token: int | None) -> None:
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


def locked_tool(version: ToolVersion) -> Tool:
    return (
        Tool.objects.select_for_update(of=("self",))
        .select_related("project")
        .get(pk=version.tool_id)
    )


def snapshot_of(actor: User, raw_snapshot_id: object) -> SandboxSnapshot:
    """The actor's own snapshot (another user's is as unknown as a missing one).

    :raises ValidationFailed, BadRequest, SnapshotNotFound:
    """
    if raw_snapshot_id is None or raw_snapshot_id == "":
        raise ValidationFailed.for_field("snapshot_id", "snapshot_id is required.")
    if not isinstance(raw_snapshot_id, str):
        raise ValidationFailed.for_field("snapshot_id", "snapshot_id must be a UUID string.")
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


def check_live(snapshot: SandboxSnapshot) -> None:
    """:raises SnapshotExpired: expires_at <= now(), by the database clock like every other
    time decision (so an expired snapshot the job has not deleted yet is refused too). The
    transaction's now(), as the lock checks use: one instant for every check of a request."""
    live = SandboxSnapshot.objects.filter(pk=snapshot.pk, expires_at__gt=TransactionNow())
    if not live.exists():
        raise SnapshotExpired()


def check_snapshot(snapshot: SandboxSnapshot, version: ToolVersion) -> None:
    """:raises SnapshotExpired, SnapshotMismatch:"""
    check_live(snapshot)
    if snapshot.tool_id != version.tool_id or snapshot.draft_head_id != version.pk:
        raise SnapshotMismatch(details={"snapshot_draft_head_id": str(snapshot.draft_head_id)})


def sandbox_run(snapshot: SandboxSnapshot, version: ToolVersion, actor: User) -> NewRun:
    """A run of the snapshot's code: its session and files under `sandbox:<id>`, its settings
    from the sandbox settings of the snapshot's head and settings schema."""
    schema = snapshot.settings_schema
    return NewRun(
        tool=snapshot.tool,
        version=version,
        context=RunContext.SANDBOX,
        requested_by=actor,
        session_context=snapshot_context(snapshot.pk),
        settings_context=runs.sandbox_settings_context(snapshot.draft_head_id, schema)
        if schema
        else "",
        snapshot_id=snapshot.pk,
    )
