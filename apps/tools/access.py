"""Who may see and edit which tool. The only door from a request to a Tool row."""

import uuid

from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import QuerySet

from apps.accounts.models import Role, User
from apps.core.identifiers import parse_uuid
from apps.projects.models import ProjectMembership
from apps.tools.exceptions import ToolEditDenied, ToolNotFound, VersionNotFound
from apps.tools.models import Tool, ToolMaintainer, ToolVersion


def tools_visible_to(user: User | AnonymousUser) -> QuerySet[Tool]:
    """Tools of live projects the user is a member of; global admins see every live tool."""
    if not user.is_authenticated:
        return Tool.objects.none()
    live = Tool.objects.filter(project__deletion_scheduled_at__isnull=True)
    if user.has_role(Role.ADMIN):
        return live
    members = ProjectMembership.objects.filter(user=user).values("content_object_id")
    return live.filter(project_id__in=members)


def published_tools_visible_to(user: User | AnonymousUser) -> QuerySet[Tool]:
    """The tools `user` may run: published, with an active version, in a project they see."""
    return tools_visible_to(user).filter(is_published=True, active_version__isnull=False)


def get_published_tool_for_user(*, user: User | AnonymousUser, tool_id: str | uuid.UUID) -> Tool:
    """A tool of `published_tools_visible_to(user)`; any other is "not found".

    :raises BadRequest, ToolNotFound:
    """
    pk = tool_id if isinstance(tool_id, uuid.UUID) else parse_uuid(tool_id, name="tool_id")
    tool = (
        published_tools_visible_to(user)
        .select_related("active_version", "project")
        .filter(pk=pk)
        .first()
    )
    if tool is None:
        raise ToolNotFound()
    return tool


def is_maintainer(*, user: User, tool: Tool) -> bool:
    return ToolMaintainer.objects.filter(content_object=tool, user=user).exists()


def can_edit(*, user: User, tool: Tool) -> bool:
    """Global admin/superuser, or a contributor+ who maintains the tool."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.CONTRIBUTOR) and is_maintainer(user=user, tool=tool)


def may_prepare_listing(*, user: User, tool: Tool) -> bool:
    """Whether `user` may set the tool's slug, professions and categories: global admins always;
    its maintainers while it is unpublished, so an author takes a new tool all the way to review
    without waiting for an admin. Once published, its listing is the admins' to change."""
    if user.has_role(Role.ADMIN):
        return True
    return not tool.is_published and can_edit(user=user, tool=tool)


def get_tool_for_user(
    *, user: User | AnonymousUser, tool_id: str | uuid.UUID, edit: bool = False
) -> Tool:
    """:raises BadRequest, ToolNotFound (also when invisible), ToolEditDenied:"""
    pk = tool_id if isinstance(tool_id, uuid.UUID) else parse_uuid(tool_id, name="tool_id")
    tool = tools_visible_to(user).filter(pk=pk).first()
    if tool is None or not isinstance(user, User):
        raise ToolNotFound()
    if edit and not can_edit(user=user, tool=tool):
        raise ToolEditDenied()
    return tool


def get_version_for_user(*, user: User | AnonymousUser, version_id: str) -> ToolVersion:
    """A version of a tool the user can see, with its tool.

    :raises BadRequest, VersionNotFound:
    """
    pk = parse_uuid(version_id, name="version_id")
    version = (
        ToolVersion.objects.select_related("tool")
        .filter(pk=pk, tool__in=tools_visible_to(user))
        .first()
    )
    if version is None:
        raise VersionNotFound()
    return version


def maintainers_of(tool: Tool) -> QuerySet[User]:
    return User.objects.filter(
        pk__in=ToolMaintainer.objects.filter(content_object=tool).values("user_id")
    ).order_by("email")


def assign_maintainer(*, user: User, tool: Tool) -> bool:
    """Grant the maintainer permission (guardian row); False when it was already there."""
    permission = Permission.objects.get(content_type__app_label="tools", codename="maintain_tool")
    _, created = ToolMaintainer.objects.get_or_create(
        content_object=tool, user=user, defaults={"permission": permission}
    )
    return created


def revoke_maintainer(*, user: User, tool: Tool) -> bool:
    deleted, _ = ToolMaintainer.objects.filter(content_object=tool, user=user).delete()
    return deleted > 0
