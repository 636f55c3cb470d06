"""Sessions: server-owned state per (tool, user, context) with optimistic revisions, and the
per-user settings kept in them."""

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from django.db import connection

from apps.core.exceptions import ValidationFailed
from apps.runs.exceptions import SessionNotFound, StateRevConflict
from apps.runs.models import SESSION_CONTEXT_MAX_LENGTH, ToolSession
from apps.tools.schema_values import coerce_settings_values
from apps.tools.schemas import canonical_json

log = structlog.get_logger(__name__)
SESSIONS = ToolSession._meta.db_table


def clean_context(raw: object) -> str:
    """A session context as the API accepts it: a stripped string of 1 to 64 characters.

    :raises ValidationFailed:
    """
    if not isinstance(raw, str) or "\x00" in raw:
        raise ValidationFailed("session context must be a string.")
    context = raw.strip()
    if not 1 <= len(context) <= SESSION_CONTEXT_MAX_LENGTH:
        raise ValidationFailed(
            f"session context must be 1 to {SESSION_CONTEXT_MAX_LENGTH} characters.",
            details={"max_length": SESSION_CONTEXT_MAX_LENGTH},
        )
    return context


def reject_nul(value: Any, name: str) -> None:
    """PostgreSQL cannot store U+0000 in text or jsonb; refuse it up front (422, not a 500).

    :raises ValidationFailed:
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ValidationFailed(f"{name} must not contain NUL characters.")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def schema_version(schema: list[dict[str, Any]]) -> str:
    """Full sha256 of the canonical settings schema: equal schemas share settings."""
    return hashlib.sha256(canonical_json(schema)).hexdigest()


def production_settings_context(schema: list[dict[str, Any]]) -> str:
    return "settings:" + schema_version(schema)[:32]


def sandbox_settings_context(draft_head_id: uuid.UUID, schema: list[dict[str, Any]]) -> str:
    # 49 characters; 128 bits of the hash keep variants apart.
    digest = hashlib.sha256(f"{draft_head_id}:{schema_version(schema)}".encode()).hexdigest()
    return "sandbox-settings:" + digest[:32]


def get_session(*, tool_id: uuid.UUID, user_id: int, context: str) -> ToolSession | None:
    return ToolSession.objects.filter(tool_id=tool_id, user_id=user_id, context=context).first()


def get_or_create_session(*, tool_id: uuid.UUID, user_id: int, context: str) -> ToolSession:
    """Race-free: insert-or-nothing, then read (a new session has state {} at revision 0)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SESSIONS} (id, tool_id, user_id, context, state, state_rev,"  # noqa: S608
            " created_at, updated_at) VALUES (%s, %s, %s, %s, '{}', 0, now(), now())"
            " ON CONFLICT (tool_id, user_id, context) DO NOTHING",
            [uuid.uuid4(), tool_id, user_id, clean_context(context)],
        )
    return ToolSession.objects.get(tool_id=tool_id, user_id=user_id, context=context)


def update_state(
    *, session: ToolSession, expected_state_rev: int, state: dict[str, Any], **extra: Any
) -> ToolSession:
    """Replace the state if the revision is still `expected_state_rev`; the revision goes up by one.

    :raises SessionNotFound, StateRevConflict:
    """
    updated = ToolSession.objects.filter(pk=session.pk, state_rev=expected_state_rev).update(
        state=state, state_rev=expected_state_rev + 1, **extra
    )
    if not updated:
        current = ToolSession.objects.filter(pk=session.pk).values_list("state_rev", flat=True)
        if not current:
            raise SessionNotFound()
        raise StateRevConflict(
            details={"expected_state_rev": expected_state_rev, "current_state_rev": current[0]}
        )
    session.refresh_from_db()
    return session


def check_expected_rev(raw: object) -> int:
    """:raises ValidationFailed: not a non-negative integer"""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ValidationFailed(
            "expected_state_rev must be an integer >= 0.", details={"field": "expected_state_rev"}
        )
    return raw


@dataclass(frozen=True)
class SettingsState:
    tool_id: uuid.UUID
    schema_version: str
    settings_schema: list[dict[str, Any]]
    values: dict[str, Any]
    state_rev: int

    def as_json(self) -> dict[str, Any]:
        return {
            "tool_id": str(self.tool_id),
            "schema_version": self.schema_version,
            "settings_schema": self.settings_schema,
            "values": self.values,
            "state_rev": self.state_rev,
        }


def stored_settings(schema: list[dict[str, Any]] | None, state: dict[str, Any]) -> dict[str, Any]:
    """Stored values re-checked against the schema; values that no longer fit are ignored."""
    try:
        return coerce_settings_values(schema or [], state)
    except ValidationFailed:
        log.info("settings.stored_values_ignored", keys=sorted(state))
        return {}


def resolve_settings(
    *, tool_id: uuid.UUID, user_id: int, schema: list[dict[str, Any]], context: str
) -> SettingsState:
    session = get_or_create_session(tool_id=tool_id, user_id=user_id, context=context)
    return SettingsState(
        tool_id=tool_id,
        schema_version=schema_version(schema),
        settings_schema=schema,
        values=stored_settings(schema, session.state),
        state_rev=session.state_rev,
    )


def save_settings(
    *,
    tool_id: uuid.UUID,
    user_id: int,
    schema: list[dict[str, Any]],
    context: str,
    expected_state_rev: object,
    values: object,
) -> SettingsState:
    """:raises ValidationFailed: bad revision or values; StateRevConflict: stale revision"""
    expected = check_expected_rev(expected_state_rev)
    reject_nul(values, "values")
    clean = coerce_settings_values(schema, values)
    session = get_or_create_session(tool_id=tool_id, user_id=user_id, context=context)
    session = update_state(session=session, expected_state_rev=expected, state=clean)
    return SettingsState(
        tool_id=tool_id,
        schema_version=schema_version(schema),
        settings_schema=schema,
        values=stored_settings(schema, session.state),
        state_rev=session.state_rev,
    )
