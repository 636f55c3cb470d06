"""Draft lock primitives. Callers (the tools services) open the transaction and lock the Tool row
first, then call these inside it: lock order is Tool row, then DraftLock row. Every expiry decision
is made by PostgreSQL's clock (`now()`), never the app server's."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction

from apps.accounts.models import User
from apps.core.logs import current_request_id
from apps.locks.exceptions import (
    DraftLockExpired,
    DraftLockHeld,
    DraftLockRequired,
    DraftLockStaleToken,
    ForceRequiresAdmin,
    NotDraftHead,
)
from apps.locks.models import DraftLock, DraftLockEvent

log = structlog.get_logger(__name__)
Action = DraftLockEvent.Action
LOCKS = DraftLock._meta.db_table
USERS = User._meta.db_table
EVENTS = DraftLockEvent._meta.db_table


@dataclass(frozen=True)
class LockState:
    tool_id: uuid.UUID
    draft_head_id: uuid.UUID
    holder_id: int | None
    expires_at: datetime
    token: int
    live: bool
    # Read with the row so a refusal or the editor's lock badge can name the holder without
    # the page being sent a list of everyone who might hold the lock.
    holder_email: str | None = None
    # Set while the current holding began with an admin's forced takeover: the forced event's
    # reason, whom it displaced and when (read from the append-only event log).
    forced_by_id: int | None = None
    takeover_reason: str | None = None
    takeover_from_id: int | None = None
    takeover_at: datetime | None = None

    def details(self, *, viewer_id: int | None = None) -> dict[str, Any]:
        return {
            "holder": self.holder_id,
            "holder_email": self.holder_email,
            "expires_at": self.expires_at.isoformat(),
            "takeover": self.takeover_for(viewer_id),
        }

    def takeover_for(self, viewer_id: int | None) -> dict[str, Any] | None:
        """The forced takeover behind this holding, for the one it displaced and the holder
        (the reason was written for them, not for every maintainer); None for anyone else."""
        if self.forced_by_id is None or self.takeover_reason is None:
            return None
        if viewer_id is None or viewer_id not in (self.takeover_from_id, self.holder_id):
            return None
        return {
            "by_user_id": self.forced_by_id,
            "from_user_id": self.takeover_from_id,
            "reason": self.takeover_reason,
            "taken_at": self.takeover_at.isoformat() if self.takeover_at else None,
        }


_HOLDER_EMAIL = f"(SELECT u.email FROM {USERS} u WHERE u.id = l.holder_id)"  # noqa: S608

# forced_by is set by a forced takeover and cleared whenever that holding ends (release, expiry,
# another holder), so while it is set the tool's newest `forced` event is the takeover behind it.
_STATE_SQL = f"""
SELECT l.tool_id, l.draft_head_id, l.holder_id, l.expires_at, l.token,
       l.holder_id IS NOT NULL AND l.expires_at > now() AS live, {_HOLDER_EMAIL},
       l.forced_by_id, f.reason, f.previous_holder_id, f.created_at
FROM {LOCKS} l
LEFT JOIN LATERAL (
    SELECT e.reason, e.previous_holder_id, e.created_at FROM {EVENTS} e
    WHERE l.forced_by_id IS NOT NULL AND e.tool_id = l.tool_id AND e.action = 'forced'
    ORDER BY e.created_at DESC, e.id DESC LIMIT 1
) f ON true
WHERE l.tool_id = %s FOR UPDATE OF l
"""  # noqa: S608

# One conditional upsert: free, expired, already mine, or forced -> mine. A new holder gets
# token + 1; a refresh keeps the token, the acquisition time and the takeover record. A renewal
# (`renew`: the holder acquiring again from another window or client) is a new acquisition of
# the same holder: token + 1, so the old window's token is stale; the takeover record stays.
_ACQUIRE_SQL = f"""
INSERT INTO {LOCKS} AS l (tool_id, draft_head_id, holder_id, acquired_at, refreshed_at,
                          expires_at, token, forced_by_id)
VALUES (%(tool)s, %(head)s, %(actor)s, now(), now(),
        now() + make_interval(secs => %(ttl)s), 1, NULL)
ON CONFLICT (tool_id) DO UPDATE SET
    draft_head_id = EXCLUDED.draft_head_id,
    holder_id = EXCLUDED.holder_id,
    refreshed_at = now(),
    expires_at = EXCLUDED.expires_at,
    acquired_at = CASE WHEN l.holder_id = EXCLUDED.holder_id AND l.expires_at > now()
                            AND NOT %(renew)s
                       THEN l.acquired_at ELSE now() END,
    token = CASE WHEN l.holder_id = EXCLUDED.holder_id AND l.expires_at > now() AND NOT %(renew)s
                 THEN l.token ELSE l.token + 1 END,
    forced_by_id = CASE
        WHEN l.holder_id = EXCLUDED.holder_id AND l.expires_at > now() THEN l.forced_by_id
        WHEN l.holder_id IS NOT NULL AND l.expires_at > now() THEN %(actor)s
        ELSE NULL END
WHERE l.holder_id IS NULL OR l.holder_id = EXCLUDED.holder_id OR l.expires_at <= now() OR %(force)s
RETURNING tool_id, draft_head_id, holder_id, expires_at, token, true, {_HOLDER_EMAIL},
          forced_by_id
"""  # noqa: S608


# A heartbeat as one UPDATE: the actor's own live lock (database clock) on that head, and on that
# acquisition when the token is given, gets a new expiry; nothing else changes (as a refresh by
# `acquire`: same token, acquisition time and takeover record, no event). `{may_hold}` is the
# caller's condition on `l.tool_id` (the tools app owns who may edit a tool).
# It runs in autocommit, and `set_config(..., true)` turns synchronous_commit off for its own
# transaction only: the commit does not wait for the WAL flush (the heartbeat's largest cost
# under load, bench/lock_heartbeat.py). A crash can lose only the last moments' refreshes; such a
# lock keeps its previous expiry (a heartbeat interval earlier), and saves check the lock row.
_REFRESH_SQL = f"""
UPDATE {LOCKS} l SET refreshed_at = now(), expires_at = now() + make_interval(secs => %(ttl)s)
WHERE l.tool_id = %(tool)s AND l.holder_id = %(actor)s AND l.expires_at > now()
  AND l.draft_head_id = %(head)s AND (%(token)s::bigint IS NULL OR l.token = %(token)s)
  AND {{may_hold}}
  AND set_config('synchronous_commit', 'off', true) IS NOT NULL
RETURNING tool_id, draft_head_id, holder_id, expires_at, token, true, {_HOLDER_EMAIL}, forced_by_id
"""  # noqa: S608


def refresh(
    *,
    tool_id: uuid.UUID,
    draft_head_id: uuid.UUID,
    actor_id: int,
    lock_token: int | None,
    may_hold: tuple[str, dict[str, Any]],
) -> LockState | None:
    """Refresh the actor's live lock in one statement, or None when the lock is not that (free,
    expired, someone else's, on another head, another acquisition, or `may_hold` is false):
    `acquire` then gives the answer for that case.

    `may_hold` is an SQL condition on `l.tool_id` with its named parameters, checked in the same
    statement (the caller's edit rights, which this app does not know). Call it outside any
    transaction: it commits asynchronously (see `_REFRESH_SQL`), and inside one that would hold
    for the whole enclosing transaction.
    """
    condition, condition_params = may_hold
    params = {
        **condition_params,
        "tool": tool_id,
        "head": draft_head_id,
        "actor": actor_id,
        "token": lock_token,
        "ttl": settings.DRAFT_LOCK_TTL_SECONDS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_SQL.format(may_hold=condition), params)
        row = cursor.fetchone()
    if row is None:
        return None
    after = LockState(*row)
    if after.forced_by_id is not None:
        after = live_lock(tool_id=tool_id) or after  # with the takeover's reason and time
    return after


def live_lock(*, tool_id: uuid.UUID) -> LockState | None:
    """The tool's lock if someone holds it unexpired (database clock); a plain read, no row lock."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL.replace(" FOR UPDATE OF l", ""), [tool_id])
        row = cursor.fetchone()
    state = LockState(*row) if row else None
    return state if state is not None and state.live else None


def live_locks(*, tool_ids: list[uuid.UUID]) -> dict[uuid.UUID, LockState]:
    """The live locks among these tools (database clock), by tool id; one read, no row locks."""
    if not tool_ids:
        return {}
    sql = _STATE_SQL.replace(" FOR UPDATE OF l", "").replace(
        "l.tool_id = %s", "l.tool_id = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(tool_ids)])
        states = [LockState(*row) for row in cursor.fetchall()]
    return {state.tool_id: state for state in states if state.live}


def lock_state(*, tool_id: uuid.UUID) -> LockState | None:
    """The lock row, locked FOR UPDATE, with `live` decided by the database clock."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [tool_id])
        row = cursor.fetchone()
    return LockState(*row) if row else None


def acquire(  # noqa: PLR0913 - keyword-only; each flag is a distinct client intent
    *,
    tool_id: uuid.UUID,
    draft_head_id: uuid.UUID,
    actor_id: int,
    force: bool,
    is_admin: bool,
    reason: str = "",
    lock_token: int | None = None,
    new_token: bool = False,
) -> LockState:
    """Acquire, refresh or (admins, with `force`) take over the tool's lock.

    `lock_token` makes the call a heartbeat of that acquisition: it refreshes the lock only while
    the token is current. `new_token` makes it a new acquisition even when the actor already
    holds the lock (another window or client of theirs): the token goes up and the older one is
    stale; the event is `acquired` with the actor as previous holder.

    :raises DraftLockHeld: someone else holds a live lock and `force` is off
    :raises ForceRequiresAdmin: `force` on someone else's live lock by a non-admin
    :raises DraftLockStaleToken: `lock_token` is not the lock's current token
    """
    before = lock_state(tool_id=tool_id)
    held_by_other = before is not None and before.live and before.holder_id != actor_id
    if held_by_other and not force:
        raise DraftLockHeld(details=before.details(viewer_id=actor_id))  # type: ignore[union-attr]
    if held_by_other and not is_admin:
        raise ForceRequiresAdmin()
    stale = lock_token is not None and (before is None or before.token != lock_token)
    if stale and not held_by_other:
        raise DraftLockStaleToken(
            "Your lock token is stale: the lock was taken again since (by you in another window, "
            "or by someone else after it lapsed).",
            details={**(before.details(viewer_id=actor_id) if before else {}), "sent": lock_token},
        )
    mine_live = before is not None and before.live and before.holder_id == actor_id
    renew = new_token and mine_live
    with connection.cursor() as cursor:
        cursor.execute(
            _ACQUIRE_SQL,
            {
                "tool": tool_id,
                "head": draft_head_id,
                "actor": actor_id,
                "ttl": settings.DRAFT_LOCK_TTL_SECONDS,
                "force": force,
                "renew": renew,
            },
        )
        after = LockState(*cursor.fetchone())
    if not mine_live or renew:
        action = Action.FORCED if held_by_other else Action.ACQUIRED
        _record(action, after, actor_id=actor_id, before=before, reason=reason)
    if after.forced_by_id is not None:
        after = lock_state(tool_id=tool_id) or after  # with the takeover's reason and time
    return after


def release(
    *,
    tool_id: uuid.UUID,
    actor_id: int,
    is_admin: bool,
    reason: str = "",
    draft_head_id: uuid.UUID | None = None,
    lock_token: int | None = None,
) -> LockState:
    """Release the lock: its holder, an admin, or anyone once it has expired. Releasing a free
    lock is a no-op.

    :raises DraftLockRequired: the tool has never been locked
    :raises NotDraftHead: `draft_head_id` was given and the lock has moved to another head
    :raises DraftLockStaleToken: `lock_token` was given and the lock was acquired again since
    :raises DraftLockHeld: a non-admin releasing someone else's live lock
    """
    before = lock_state(tool_id=tool_id)
    if before is None:
        raise DraftLockRequired("This tool has no draft lock to release.")
    if draft_head_id is not None and before.draft_head_id != draft_head_id:
        # A stale page releasing "its" lock must not free the lock of a newer head.
        raise NotDraftHead(details={"draft_head_id": str(before.draft_head_id)})
    if lock_token is not None and before.token != lock_token:
        # Nor may a window that was displaced (by another window of the same user) free the
        # lock that window now holds.
        raise DraftLockStaleToken(details={"sent": lock_token})
    if before.holder_id is None:
        return before
    if before.holder_id != actor_id and before.live and not is_admin:
        raise DraftLockHeld(details=before.details(viewer_id=actor_id))
    DraftLock.objects.filter(tool_id=tool_id).update(holder=None, forced_by=None)
    if before.holder_id == actor_id:
        action = Action.RELEASED
    else:
        action = Action.ADMIN_RELEASED if before.live else Action.EXPIRED
    after = lock_state(tool_id=tool_id)
    assert after is not None  # noqa: S101 - the row was locked above
    _record(action, after, actor_id=actor_id, before=before, reason=reason)
    return after


@transaction.atomic(durable=True)
def take_over_as_admin(*, tool_id: uuid.UUID, actor_id: int, reason: str) -> LockState:
    """An admin's takeover from the Django admin: the lock becomes theirs, on the head it is on.

    The lock row is locked first; a save moving the head updates that row in its own
    transaction, so it either finished before (the row names the new head) or waits for this one
    (and then moves the admin's lock along). A lock left on a version that is no longer the
    tool's head is refused.

    :raises DraftLockRequired: the tool has no lock row
    :raises NotDraftHead: the lock is on a version that is no longer the head
    """
    current = lock_state(tool_id=tool_id)
    if current is None:
        raise DraftLockRequired("This tool has no draft lock to take over.")
    on_head = DraftLock.objects.filter(
        tool_id=tool_id, tool__draft_head_id=current.draft_head_id
    ).exists()
    if not on_head:
        raise NotDraftHead(details={"draft_head_id": None})
    return acquire(
        tool_id=tool_id,
        draft_head_id=current.draft_head_id,
        actor_id=actor_id,
        force=True,
        is_admin=True,
        reason=reason,
    )


@transaction.atomic(durable=True)
def release_as_admin(*, tool_id: uuid.UUID, actor_id: int, reason: str) -> LockState:
    """An admin's forced release from the Django admin (audited as admin_released).

    :raises DraftLockRequired: the tool has no lock row
    """
    return release(tool_id=tool_id, actor_id=actor_id, is_admin=True, reason=reason)


def require_active_draft_lock(
    *, tool_id: uuid.UUID, draft_head_id: uuid.UUID, actor_id: int, token: int | None = None
) -> LockState:
    """Check, inside the caller's transaction, that `actor_id` holds a live lock on the head.

    :raises DraftLockRequired, DraftLockExpired, DraftLockHeld, DraftLockStaleToken, NotDraftHead:
    """
    state = lock_state(tool_id=tool_id)
    if state is None or state.holder_id is None:
        raise DraftLockRequired()
    if state.holder_id != actor_id:
        if state.live:
            raise DraftLockHeld(details=state.details(viewer_id=actor_id))
        raise DraftLockRequired()
    if not state.live:
        raise DraftLockExpired(details=state.details())
    if token is not None and token != state.token:
        raise DraftLockStaleToken(details={"lock_token": state.token, "sent": token})
    if state.draft_head_id != draft_head_id:
        raise NotDraftHead()
    return state


def move(*, tool_id: uuid.UUID, new_head_id: uuid.UUID, actor_id: int | None) -> None:
    """Point the tool's lock (if any) at the new draft head, in the caller's transaction."""
    state = lock_state(tool_id=tool_id)
    if state is None or state.draft_head_id == new_head_id:
        return
    DraftLock.objects.filter(tool_id=tool_id).update(draft_head_id=new_head_id)
    moved = LockState(**{**state.__dict__, "draft_head_id": new_head_id})
    _record(Action.MOVED, moved, actor_id=actor_id, before=state)


_SWEEP_SQL = f"""
WITH expired AS (
    SELECT tool_id FROM {LOCKS}
    WHERE holder_id IS NOT NULL AND expires_at <= now()
    ORDER BY tool_id FOR UPDATE SKIP LOCKED
)
UPDATE {LOCKS} l SET holder_id = NULL, forced_by_id = NULL
FROM expired e, {LOCKS} old
WHERE l.tool_id = e.tool_id AND old.tool_id = e.tool_id
RETURNING l.tool_id, l.draft_head_id, old.holder_id, old.expires_at, l.token
"""  # noqa: S608


@transaction.atomic
def sweep_expired_draft_locks() -> int:
    """Free every expired lock and write one `expired` event each. Safe to run concurrently."""
    with connection.cursor() as cursor:
        cursor.execute(_SWEEP_SQL)
        rows = cursor.fetchall()
    DraftLockEvent.objects.bulk_create(
        DraftLockEvent(
            tool_id=tool_id,
            draft_head_id=head_id,
            action=Action.EXPIRED,
            previous_holder_id=holder_id,
            previous_expires_at=expires_at,
            token=token,
        )
        for tool_id, head_id, holder_id, expires_at, token in rows
    )
    log.info("draft_lock.swept", expired=len(rows))
    return len(rows)


def _record(
    action: str,
    state: LockState,
    *,
    actor_id: int | None,
    before: LockState | None,
    reason: str = "",
) -> None:
    DraftLockEvent.objects.create(
        tool_id=state.tool_id,
        draft_head_id=state.draft_head_id,
        action=action,
        actor_id=actor_id,
        previous_holder_id=before.holder_id if before else None,
        previous_expires_at=before.expires_at if before else None,
        token=state.token,
        reason=reason,
        request_id=current_request_id() or "",
    )
    log.info(
        "draft_lock." + action,
        tool_id=str(state.tool_id),
        draft_head_id=str(state.draft_head_id),
        actor_id=actor_id,
        previous_holder_id=before.holder_id if before else None,
        token=state.token,
        reason=reason,
    )
