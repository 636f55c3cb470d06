"""Draft lock use-cases: the tool-level checks, then the lock primitives of apps.locks."""

import uuid

import structlog
from django.db import transaction

from apps.accounts.models import Role, User
from apps.core.exceptions import ValidationFailed
from apps.locks import services as locks
from apps.locks.exceptions import NotDraftHead
from apps.projects.models import Project, ProjectMembership
from apps.tools import access
from apps.tools.exceptions import ToolEditDenied
from apps.tools.models import Tool, ToolMaintainer
from apps.tools.services.catalog import locked

log = structlog.get_logger(__name__)


@transaction.atomic
def acquire_draft_lock(  # noqa: PLR0913 - keyword-only; the flags are the client's intent
    *,
    tool: Tool,
    actor: User,
    draft_head_id: str,
    force: bool = False,
    reason: str = "",
    lock_token: int | None = None,
    new_token: bool = False,
) -> locks.LockState:
    """Acquire, refresh (heartbeat) or, for admins, force-take the lock on the current head.

    A heartbeat that sends its `lock_token` refreshes only that acquisition; `new_token` takes
    the lock over from the actor's own other window or client (see apps.locks.services.acquire).

    :raises ToolEditDenied: the actor may not edit the tool
    :raises NotDraftHead: `draft_head_id` is not the tool's current head
    :raises ValidationFailed: a forced takeover without a reason; both lock_token and new_token
    :raises DraftLockHeld, ForceRequiresAdmin, DraftLockStaleToken:
    """
    tool = locked(tool)
    if not access.can_edit(user=actor, tool=tool):
        raise ToolEditDenied()
    if tool.draft_head_id is None or str(tool.draft_head_id) != str(draft_head_id):
        raise NotDraftHead(
            details={"draft_head_id": str(tool.draft_head_id) if tool.draft_head_id else None}
        )
    if force and not reason.strip():
        raise ValidationFailed(
            "A forced takeover needs a reason.",
            details={"fields": {"reason": ["Required with force."]}},
        )
    if lock_token is not None and new_token:
        raise ValidationFailed(
            "Send lock_token (a heartbeat) or new_token (a new acquisition), not both.",
            details={"fields": {"new_token": ["Not with lock_token."]}},
        )
    return locks.acquire(
        tool_id=tool.pk,
        draft_head_id=tool.draft_head_id,
        actor_id=actor.pk,
        force=force,
        is_admin=actor.has_role(Role.ADMIN),
        reason=reason.strip(),
        lock_token=lock_token,
        new_token=new_token,
    )


# What `access.get_tool_for_user` and `access.can_edit` decide, plus "the head is still the
# tool's", as one SQL condition on the lock's tool (apps.locks.services.refresh).
_MAY_HOLD_SQL = f"""EXISTS (
    SELECT 1 FROM {Tool._meta.db_table} t JOIN {Project._meta.db_table} p ON p.id = t.project_id
    WHERE t.id = l.tool_id AND t.draft_head_id = %(head)s AND p.deletion_scheduled_at IS NULL
      AND (%(admin)s OR (%(contributor)s
        AND EXISTS (SELECT 1 FROM {ProjectMembership._meta.db_table} m
                    WHERE m.content_object_id = t.project_id AND m.user_id = %(actor)s)
        AND EXISTS (SELECT 1 FROM {ToolMaintainer._meta.db_table} tm
                    WHERE tm.content_object_id = t.id AND tm.user_id = %(actor)s))))"""  # noqa: S608


def refresh_draft_lock(
    *, tool_id: uuid.UUID, actor: User, draft_head_id: uuid.UUID, lock_token: int | None = None
) -> locks.LockState | None:
    """A heartbeat in one statement: refresh the actor's own live lock on the tool's current
    head while they may still edit the tool. None when that is not the case; then
    `acquire_draft_lock` (after the usual lookups) gives the answer, whatever it is."""
    return locks.refresh(
        tool_id=tool_id,
        draft_head_id=draft_head_id,
        actor_id=actor.pk,
        lock_token=lock_token,
        may_hold=(
            _MAY_HOLD_SQL,
            {"admin": actor.has_role(Role.ADMIN), "contributor": actor.has_role(Role.CONTRIBUTOR)},
        ),
    )


@transaction.atomic
def release_draft_lock(
    *,
    tool: Tool,
    actor: User,
    reason: str = "",
    draft_head_id: uuid.UUID | None = None,
    lock_token: int | None = None,
) -> locks.LockState:
    """Release by the holder, or by an admin for anyone (audited as admin_released); with
    `draft_head_id`, only while the lock is still on that head; with `lock_token`, only while
    the lock is still that acquisition.

    :raises DraftLockRequired, DraftLockHeld, NotDraftHead, DraftLockStaleToken:
    """
    tool = locked(tool)
    return locks.release(
        tool_id=tool.pk,
        actor_id=actor.pk,
        is_admin=actor.has_role(Role.ADMIN),
        reason=reason.strip(),
        draft_head_id=draft_head_id,
        lock_token=lock_token,
    )
