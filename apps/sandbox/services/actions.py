"""Continuing a preview: actions on the snapshot's code with the server's session state, and
reading the caller's own sandbox session and files."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.runs import services as runs
from apps.runs import session_files
from apps.runs.exceptions import SessionNotFound
from apps.runs.models import ToolRun, ToolSession
from apps.runs.services.sessions import reject_nul
from apps.sandbox.exceptions import (
    SnapshotMismatch,
)
from apps.sandbox.services.common import (
    check_editor,
    check_live,
    check_snapshot,
    locked_tool,
    sandbox_run,
    snapshot_context,
    snapshot_of,
)
from apps.tools import access as tools_access
from apps.tools.exceptions import ToolEditDenied
from apps.tools.models import ToolVersion


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
    tool = locked_tool(version)
    check_editor(tool, version, actor, request.lock_token)
    snapshot = snapshot_of(actor, request.snapshot_id)
    check_snapshot(snapshot, version)
    context = snapshot_context(snapshot.pk)
    session = runs.get_session(tool_id=tool.pk, user_id=actor.pk, context=context)
    if session is None:
        raise SessionNotFound()
    run = runs.create_action_run(
        new=sandbox_run(snapshot, version, actor),
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
    snapshot = snapshot_of(actor, snapshot_id)
    check_live(snapshot)
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
    snapshot = snapshot_of(actor, snapshot_id)
    check_snapshot(snapshot, version)
    stored = session_files.list_files(
        tool_id=version.tool_id, user_id=actor.pk, context=snapshot_context(snapshot.pk)
    )
    return [{"name": f.name, "bytes": f.bytes} for f in stored]
