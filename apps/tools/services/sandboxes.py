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
from apps.tools.content import ToolContent
from apps.tools.models import (
    PLACEHOLDER_PREFIX,
    MaintainerChange,
    Tool,
    ToolMaintainer,
    ToolVersion,
    VersionState,
)
from apps.tools.services.versions import new_drafts, set_heads

log = structlog.get_logger(__name__)


class TargetDraftLockHeld(Conflict):
    """A merge may not write a draft under someone else's live lock (409, writes nothing)."""

    code = "DRAFT_LOCK_HELD"
    default_message = "Another user holds the draft lock of a target tool; nothing was merged."


def latest_version(tool: Tool) -> ToolVersion | None:
    """What a tool currently is: its draft head, else its active version, else its newest."""
    return latest_versions([tool]).get(tool.pk)


def latest_versions(tools: list[Tool]) -> dict[uuid.UUID, ToolVersion]:
    """`latest_version` of many tools in at most two queries, by tool id."""
    pointed = {tool.pk: tool.draft_head_id or tool.active_version_id for tool in tools}
    found = ToolVersion.objects.in_bulk([pk for pk in pointed.values() if pk is not None])
    latest = {tool_id: found[pk] for tool_id, pk in pointed.items() if pk in found}
    rest = [tool_id for tool_id, pk in pointed.items() if pk is None]
    if rest:
        newest = (
            ToolVersion.objects.filter(tool_id__in=rest)
            .order_by("tool_id", "-version_number")
            .distinct("tool_id")
        )
        latest.update({version.tool_id: version for version in newest})
    return latest


def copy_tools_into(*, project: Project, origins: list[Tool], actor: User) -> list[Tool]:
    """Copy each tool into the (new, empty) sandbox `project`: same slug, title, summary, owner,
    maintainers and taxonomy, linked to its origin, with the origin's latest version as the
    copy's first draft and draft head. Nothing is published; runs and sessions are not copied.
    Bulk statements, so a project with hundreds of tools provisions in one pass."""
    copies: list[Tool] = []
    heads: list[ToolVersion] = []
    sources = latest_versions(origins)
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
        source = sources.get(origin.pk)
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
    content = ToolContent.of(source)
    return ToolVersion(
        id=uuid.uuid4(),
        tool=tool,
        version_number=1,
        state=VersionState.DRAFT,
        content_hash=content.content_hash,
        created_by=actor,
        change_summary=f"Copied from v{source.version_number} of the parent project's tool",
        **content.as_fields(),
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


def locks_held_by_others(tools: list[Tool], actor: User) -> dict[uuid.UUID, locks.LockState]:
    """Live draft locks on these tools held by someone other than `actor`, by tool id."""
    live = locks.live_locks(tool_ids=[tool.pk for tool in tools])
    return {tool_id: state for tool_id, state in live.items() if state.holder_id != actor.pk}


def propose_drafts(
    *, proposals: list[Proposal], target: Project, actor: User, summary: str
) -> list[dict[str, Any]]:
    """Write each proposal as a new draft head of its target tool (a new tool when it has none),
    moving a lock the actor holds. All target tools are row-locked first, in id order; if another
    user holds a live lock on any of them nothing is written. A few statements for any number of
    tools, so merging hundreds stays well under a second.

    :raises TargetDraftLockHeld:
    """
    existing = sorted(p.target_tool.pk for p in proposals if p.target_tool)
    locked_tools = Tool.objects.select_for_update(of=("self",)).in_bulk(existing)
    blocked = locks_held_by_others(list(locked_tools.values()), actor)
    if blocked:
        details = [
            {"tool_id": str(tool_id), **state.details()} for tool_id, state in blocked.items()
        ]
        raise TargetDraftLockHeld(details={"tools": details})
    sources = latest_versions([p.source for p in proposals])
    pairs: list[tuple[Proposal, Tool, bool]] = []
    for proposal in proposals:
        if proposal.source.pk not in sources:
            continue
        if proposal.target_tool is None:
            pairs.append((proposal, _new_target_tool(proposal.source, target, actor), True))
        else:
            pairs.append((proposal, locked_tools[proposal.target_tool.pk], False))
    drafts = new_drafts(
        [(tool, ToolContent.of(sources[proposal.source.pk])) for proposal, tool, _ in pairs],
        actor=actor,
        change_summary=summary,
    )
    set_heads(
        [(tool, draft) for (_, tool, _), draft in zip(pairs, drafts, strict=True)], actor=actor
    )
    return [
        {
            "source_tool_id": str(proposal.source.pk),
            "target_tool_id": str(tool.pk),
            "version_id": str(draft.pk),
            "created": created,
        }
        for (proposal, tool, created), draft in zip(pairs, drafts, strict=True)
    ]


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
