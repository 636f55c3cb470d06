"""Who may see which run and which published tool. The only door from a request to those rows."""

import uuid

from django.contrib.auth.models import AnonymousUser

from apps.accounts.models import Role, User
from apps.core.identifiers import parse_uuid
from apps.runs.exceptions import PublishedToolNotFound, RunNotFound
from apps.runs.models import ToolRun
from apps.tools.access import tools_visible_to
from apps.tools.models import Tool


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
    if run.requested_by_id != user.pk and not user.has_role(Role.ADMIN):
        raise RunNotFound()
    return run


def get_published_tool(*, user: User | AnonymousUser, tool_id: str | uuid.UUID) -> Tool:
    """A published tool with an active version in a project the user can see.

    :raises BadRequest, PublishedToolNotFound:
    """
    pk = tool_id if isinstance(tool_id, uuid.UUID) else parse_uuid(tool_id, name="tool_id")
    tool = (
        tools_visible_to(user)
        .select_related("active_version", "project")
        .filter(pk=pk, is_published=True, active_version__isnull=False)
        .first()
    )
    if tool is None:
        raise PublishedToolNotFound()
    return tool
