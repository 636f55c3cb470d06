"""Sandbox settings: per user, draft head and (unsaved) schema; never read by production."""

from typing import Any

from django.db import connection, transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs import services as runs
from apps.runs.models import ToolSession
from apps.runs.services.sessions import SettingsState, reject_nul
from apps.sandbox.services.common import (
    check_editor,
    locked_tool,
)
from apps.tools.models import Tool, ToolVersion
from apps.tools.schemas import normalize_settings_schema


def _settings_schema(raw: object) -> list[dict[str, Any]]:
    schema = normalize_settings_schema(raw)
    if not schema:
        raise ValidationFailed.for_field("settings_schema", "settings_schema is required")
    return schema


@transaction.atomic
def resolve_sandbox_settings(
    *, version: ToolVersion, actor: User, settings_schema: object, lock_token: int | None = None
) -> SettingsState:
    """The actor's sandbox settings for this draft head and (unsaved) schema."""
    schema = _settings_schema(settings_schema)
    tool = locked_tool(version)
    check_editor(tool, version, actor, lock_token)
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
    tool = locked_tool(version)
    check_editor(tool, version, actor, lock_token)
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
