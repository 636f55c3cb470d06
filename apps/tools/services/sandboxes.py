"""Tools and sandbox projects: copying a project's tools into a new sandbox, and writing a
sandbox tool's content back into a target project as a new draft (merge).

The orchestration (one transaction with the project and its collections) is in
apps.sandbox_projects; these functions run inside its transaction."""

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from django.contrib.auth.models import Permission

from apps.accounts.models import User
from apps.core.exceptions import Conflict
from apps.locks import services as locks
from apps.projects.models import Project
from apps.tools.models import (
    PLACEHOLDER_PREFIX,
    MaintainerChange,
    Tool,
    ToolMaintainer,
    ToolVersion,
    VersionState,
)
from apps.tools.services.catalog import locked
from apps.tools.services.versions import content_hash, content_of, new_version, set_head

log = structlog.get_logger(__name__)


class TargetDraftLockHeld(Conflict):
    """A merge may not write a draft under someone else's live lock (409, writes nothing)."""

    code = "DRAFT_LOCK_HELD"
    default_message = "Another user holds the draft lock of a target tool; nothing was merged."


def latest_version(tool: Tool) -> ToolVersion | None:
    """What a tool currently is: its draft head, else its active version, else its newest."""
    if tool.draft_head_id is not None:
        return ToolVersion.objects.get(pk=tool.draft_head_id)
    if tool.active_version_id is not None:
        return ToolVersion.objects.get(pk=tool.active_version_id)
    return tool.versions.order_by("-version_number").first()


def copy_tools_into(*, project: Project, origins: list[Tool], actor: User) -> list[Tool]:
    """Copy each tool into the (new, empty) sandbox `project`: same slug, title, summary, owner,
    maintainers and taxonomy, linked to its origin, with the origin's latest version as the
    copy's first draft and draft head. Nothing is published; runs and sessions are not copied.
    Bulk statements, so a project with hundreds of tools provisions in one pass."""
    copies: list[Tool] = []
    heads: list[ToolVersion] = []
    for origin in origins:
        copy = Tool(
            id=uuid.uuid4(),
            project=project,
            slug=origin.slug,
            title=origin.title,
            summary=origin.summary,
            owner_id=origin.owner_id,
            origin=origin,
        )
        copies.append(copy)
        source = latest_version(origin)
        if source is not None:
            heads.append(_first_draft(copy, source, actor))
    Tool.objects.bulk_create(copies)
    ToolVersion.objects.bulk_create(heads)
    by_tool = {head.tool_id: head for head in heads}
    for copy in copies:
        copy.draft_head = by_tool.get(copy.pk)
    Tool.objects.bulk_update([c for c in copies if c.draft_head], ["draft_head"])
    _copy_maintainers_and_taxonomy(origins, copies)
    log.info("tools.copied_to_sandbox", project_id=str(project.pk), tools=len(copies))
    return copies


def _first_draft(tool: Tool, source: ToolVersion, actor: User) -> ToolVersion:
    content = content_of(source)
    return ToolVersion(
        id=uuid.uuid4(),
        tool=tool,
        version_number=1,
        state=VersionState.DRAFT,
        content_hash=content_hash(content),
        created_by=actor,
        change_summary=f"Copied from v{source.version_number} of the parent project's tool",
        **content,
    )


def _copy_maintainers_and_taxonomy(origins: list[Tool], copies: list[Tool]) -> None:
    copy_of = {copy.origin_id: copy for copy in copies}
    grants = ToolMaintainer.objects.filter(content_object__in=origins)
    ToolMaintainer.objects.bulk_create(
        ToolMaintainer(
            content_object=copy_of[grant.content_object_id],
            user_id=grant.user_id,
            permission_id=grant.permission_id,
        )
        for grant in grants
    )
    for relation, column in (("professions", "profession_id"), ("categories", "category_id")):
        through = getattr(Tool, relation).through
        through.objects.bulk_create(
            through(tool_id=copy_of[link.tool_id].pk, **{column: getattr(link, column)})
            for link in through.objects.filter(tool__in=origins)
        )


@dataclass(frozen=True)
class Proposal:
    """One sandbox tool to write into the target: into `target_tool`, or as a new tool."""

    source: Tool
    target_tool: Tool | None


def lock_held_by_other(tool: Tool, actor: User) -> locks.LockState | None:
    state = locks.live_lock(tool_id=tool.pk)
    return state if state is not None and state.holder_id != actor.pk else None


def propose_drafts(
    *, proposals: list[Proposal], target: Project, actor: User, summary: str
) -> list[dict[str, Any]]:
    """Write each proposal as a new draft head of its target tool (a new tool when it has none),
    moving a lock the actor holds. All target tools are row-locked first, in id order; if another
    user holds a live lock on any of them nothing is written.

    :raises TargetDraftLockHeld:
    """
    existing = sorted((p.target_tool for p in proposals if p.target_tool), key=lambda t: t.pk)
    locked_tools = {tool.pk: locked(tool) for tool in existing}
    blocked = [
        {"tool_id": str(tool.pk), **state.details()}
        for tool in locked_tools.values()
        if (state := lock_held_by_other(tool, actor)) is not None
    ]
    if blocked:
        raise TargetDraftLockHeld(details={"tools": blocked})
    written = []
    for proposal in proposals:
        source_version = latest_version(proposal.source)
        if source_version is None:
            continue
        content = content_of(source_version)
        if proposal.target_tool is None:
            tool, created = _new_target_tool(proposal.source, target, actor), True
        else:
            tool, created = locked_tools[proposal.target_tool.pk], False
        draft = new_version(
            tool,
            state=VersionState.DRAFT,
            content=content,
            created_by=actor,
            change_summary=summary,
        )
        set_head(tool, draft, actor=actor)
        written.append(
            {
                "source_tool_id": str(proposal.source.pk),
                "target_tool_id": str(tool.pk),
                "version_id": str(draft.pk),
                "created": created,
            }
        )
    return written


def _new_target_tool(source: Tool, target: Project, actor: User) -> Tool:
    tool_id = uuid.uuid4()
    # The sandbox tool's slug when the target has no tool by that name yet.
    keep_slug = not source.has_placeholder_slug and not (
        Tool.objects.filter(project=target, slug=source.slug).exists()
    )
    tool = Tool.objects.create(
        id=tool_id,
        project=target,
        slug=source.slug if keep_slug else f"{PLACEHOLDER_PREFIX}{tool_id}",
        title=source.title,
        summary=source.summary,
        owner=actor,
    )
    permission = Permission.objects.get(content_type__app_label="tools", codename="maintain_tool")
    ToolMaintainer.objects.create(content_object=tool, user=actor, permission=permission)
    MaintainerChange.objects.create(
        tool=tool,
        user=actor,
        action=MaintainerChange.Action.ASSIGNED,
        performed_by=actor,
        reason="created by a sandbox merge",
    )
    return tool
