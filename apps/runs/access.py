"""Who may see which run and which published tool. The only door from a request to those rows."""

import uuid

from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import Role, User
from apps.core.identifiers import parse_uuid
from apps.runs.exceptions import RunNotFound, ToolUnavailable
from apps.runs.models import ToolRun
from apps.tools.access import (
    get_published_tool_for_user,
    get_tool_for_user,
    is_maintainer,
    tools_visible_to,
)
from apps.tools.exceptions import ToolNotFound
from apps.tools.models import Tool


def can_see_run(*, user: User, requested_by_id: int) -> bool:
    """Run details (inputs, result, files) are private to the requester; global admins see all."""
    if requested_by_id == user.pk:
        return True
    return user.has_role(Role.ADMIN)


def get_run_for_user(
    *, user: User | AnonymousUser, run_id: str, context: str | None = None
) -> ToolRun:
    """A run the user requested (global admins: any run). Anyone else's is "not found".

    :raises BadRequest, RunNotFound:
    """
    pk = parse_uuid(run_id, name="run_id")
    runs = ToolRun.objects.select_related("tool", "version").filter(pk=pk)
    if context is not None:
        runs = runs.filter(context=context)
    run = runs.first()
    if run is None or not isinstance(user, User):
        raise RunNotFound()
    if not can_see_run(user=user, requested_by_id=run.requested_by_id):
        raise RunNotFound()
    return run


def get_tool_to_run_again(*, user: User, tool_id: uuid.UUID) -> Tool:
    """The published tool of one of the user's runs. Unlike a 404 for a tool nobody named, the
    user knows this tool (the run shows it), so they are told why it cannot run any more.

    :raises ToolUnavailable:
    """
    try:
        return get_published_tool_for_user(user=user, tool_id=tool_id)
    except ToolNotFound:
        pass
    if tools_visible_to(user).filter(pk=tool_id).exists():
        raise ToolUnavailable()
    raise ToolUnavailable(
        "You can no longer run this tool: its project is gone or you are no longer a member."
    )


def may_see_tool_runs(*, user: User, tool: Tool) -> bool:
    """Maintainers of a tool (and global admins) see who ran it and the runs' output streams."""
    if user.has_role(Role.ADMIN):
        return True
    return is_maintainer(user=user, tool=tool)


def get_tool_for_run_list(*, user: User | AnonymousUser, tool_id: uuid.UUID) -> Tool:
    """A tool whose recent runs the user may list: its maintainers and global admins.

    :raises ToolNotFound: also for a visible tool the user does not maintain
    """
    tool = get_tool_for_user(user=user, tool_id=tool_id)
    if not isinstance(user, User) or not may_see_tool_runs(user=user, tool=tool):
        raise ToolNotFound()
    return tool
