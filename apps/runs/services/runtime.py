"""Production use of published tools: runs, actions and per-user settings (context
`production`). The same pipeline as the sandbox preview, with the active version's code."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs import session_files
from apps.runs.exceptions import NoSettingsSchema
from apps.runs.models import DEFAULT_SESSION_CONTEXT, RunContext, ToolRun, ToolSession
from apps.runs.services.sessions import (
    SettingsState,
    clean_context,
    get_or_create_session,
    production_settings_context,
    resolve_settings,
    save_settings,
)
from apps.runs.services.submission import (
    NewRun,
    SessionFilesMode,
    Upload,
    create_action_run,
    create_initial_run,
    validate_inputs,
    validate_uploads,
)
from apps.tools.models import Tool, ToolVersion


@dataclass(frozen=True)
class ProductionRunRequest:
    inputs: dict[str, Any]
    uploads: list[Upload]
    session_files_mode: str = SessionFilesMode.NONE
    session_context: str = DEFAULT_SESSION_CONTEXT


def _active(tool: Tool) -> ToolVersion:
    version = tool.active_version
    assert version is not None  # noqa: S101 - tools.access.get_published_tool_for_user guarantees it
    return version


def _settings_context(version: ToolVersion) -> str:
    schema = version.settings_schema
    return production_settings_context(schema) if schema else ""


@transaction.atomic
def run_published_tool(*, tool: Tool, actor: User, request: ProductionRunRequest) -> ToolRun:
    """Queue a run of the tool's active version.

    :raises ValidationFailed, RunLimitReached:
    """
    version = _active(tool)
    context = clean_context(request.session_context)
    uploads = validate_uploads(request.uploads)
    mode = request.session_files_mode
    if mode not in SessionFilesMode.ALL:
        raise ValidationFailed("session_files_mode must be none, reuse or clear.")
    reused: list[tuple[str, str]] = []
    if not uploads and mode == SessionFilesMode.REUSE:
        stored = session_files.list_files(tool_id=tool.pk, user_id=actor.pk, context=context)
        reused = [(f.name, f.key) for f in stored]
    inputs = validate_inputs(
        input_schema=version.input_schema, raw_values=request.inputs, uploads=uploads, reused=reused
    )
    run = create_initial_run(
        new=NewRun(
            tool=tool,
            version=version,
            context=RunContext.PRODUCTION,
            requested_by=actor,
            session_context=context,
            settings_context=_settings_context(version),
        ),
        inputs=inputs,
    )
    if not uploads and mode == SessionFilesMode.CLEAR:
        # Only once the run is stored for good: a refused request keeps the files.
        transaction.on_commit(
            lambda: session_files.clear_files(tool_id=tool.pk, user_id=actor.pk, context=context)
        )
    return run


@transaction.atomic
def start_production_action(
    *,
    tool: Tool,
    actor: User,
    context: object,
    action_id: object,
    raw_input: object,
    expected_state_rev: object,
) -> tuple[ToolRun, ToolSession]:
    """:raises StateRevConflict, ActionNotOffered, ValidationFailed, RunLimitReached:"""
    version = _active(tool)
    session = get_or_create_session(
        tool_id=tool.pk, user_id=actor.pk, context=clean_context(context)
    )
    run = create_action_run(
        new=NewRun(
            tool=tool,
            version=version,
            context=RunContext.PRODUCTION,
            requested_by=actor,
            session_context=session.context,
            settings_context=_settings_context(version),
        ),
        session=session,
        action_id=action_id,
        raw_input=raw_input,
        expected_state_rev=expected_state_rev,
    )
    session.refresh_from_db()
    return run, session


def production_settings(*, tool: Tool, actor: User) -> SettingsState:
    """:raises NoSettingsSchema:"""
    schema = _active(tool).settings_schema
    if not schema:
        raise NoSettingsSchema()
    return resolve_settings(
        tool_id=tool.pk,
        user_id=actor.pk,
        schema=schema,
        context=production_settings_context(schema),
    )


@transaction.atomic
def save_production_settings(
    *, tool: Tool, actor: User, expected_state_rev: object, values: object
) -> SettingsState:
    """:raises NoSettingsSchema, ValidationFailed, StateRevConflict:"""
    schema = _active(tool).settings_schema
    if not schema:
        raise NoSettingsSchema()
    return save_settings(
        tool_id=tool.pk,
        user_id=actor.pk,
        schema=schema,
        context=production_settings_context(schema),
        expected_state_rev=expected_state_rev,
        values=values,
    )
