"""Runs made straight in the table, in bulk, at chosen times: the list pages only read rows, and
thousands of real runs would take minutes."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from apps.accounts.models import User
from apps.runs.models import ACTIVE_STATUSES, RunContext, RunStatus, ToolRun
from apps.tools.models import Tool


def run_row(
    tool: Tool, user: User, at: datetime, status: str = RunStatus.SUCCEEDED, **fields: Any
) -> ToolRun:
    """An unsaved run requested at `at` that (unless active) took 2 s."""
    started = None if status in (RunStatus.QUEUED, RunStatus.CANCELLED) else at
    finished = None if status in ACTIVE_STATUSES else at + timedelta(seconds=2)
    if status == RunStatus.CANCELLED:
        finished = at
    version = tool.active_version or tool.draft_head
    return ToolRun(
        id=fields.pop("id", None) or uuid.uuid4(),
        tool=tool,
        version=version,
        context=fields.pop("context", RunContext.PRODUCTION),
        requested_by=user,
        status=status,
        requested_at=at,
        started_at=started,
        finished_at=finished,
        session_context="default",
        **fields,
    )


def bulk_runs(tool: Tool, user: User, times: list[datetime], **fields: Any) -> list[ToolRun]:
    return ToolRun.objects.bulk_create([run_row(tool, user, at, **fields) for at in times])


def published_titled(author: User, title: str, **content: Any) -> Tool:
    """A published tool (tests.runs.helpers.published) with the given title."""
    from tests.runs.helpers import published

    tool = published(author, **content)
    Tool.objects.filter(pk=tool.pk).update(title=title)
    tool.refresh_from_db()
    return tool
