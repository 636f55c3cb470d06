"""Sandbox projects: provision (project, members, tools, empty namesake collections in one
transaction), collection sync to live sandboxes, and the additive, atomic merge back.

A merge never deletes or empties anything in the target and never copies items: it creates the
selected missing collections empty and writes the selected tools as new drafts."""

import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.db import connection, transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.core.logs import current_request_id
from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection
from apps.projects import services as projects
from apps.projects.models import Project
from apps.sandbox_projects.exceptions import InvalidMergeTarget, NotASandbox
from apps.sandbox_projects.models import MergeRecord
from apps.sandbox_projects.signals import collections_merged
from apps.tools.models import Tool, ToolVersion
from apps.tools.services import sandboxes as tool_copies

log = structlog.get_logger(__name__)


@transaction.atomic
def provision_sandbox(
    *, parent: Project, actor: User, name: str, colour: str | None = None
) -> Project:
    """A sandbox of `parent`: members (actor owner, parent owners admins), every tool with its
    latest version as the copy's draft head, one empty collection per parent collection.
    Items, runs, sessions and settings are never copied; any failure leaves nothing behind.

    :raises ValidationFailed, SandboxTooDeep, SandboxNameTaken:
    """
    sandbox = projects.create_sandbox_project(parent=parent, actor=actor, name=name, colour=colour)
    origins = list(Tool.objects.filter(project=parent).order_by("pk"))
    tool_copies.copy_tools_into(project=sandbox, origins=origins, actor=actor)
    names = list(Collection.objects.filter(project=parent).values_list("name", flat=True))
    collections.create_empty_collections(project_id=sandbox.pk, names=names)
    log.info(
        "sandbox.provisioned",
        project_id=str(sandbox.pk),
        parent_id=str(parent.pk),
        tools=len(origins),
        collections=len(names),
    )
    return sandbox


def sync_collections_to_descendants(*, project_id: uuid.UUID) -> int:
    """Give every live descendant of the project an empty namesake of each of its collections
    (additive and idempotent; safe when two run at once)."""
    names = list(Collection.objects.filter(project_id=project_id).values_list("name", flat=True))
    live = Project.objects.live().filter(pk__in=projects.descendant_ids(project_id))
    created = 0
    for sandbox_id in live.values_list("pk", flat=True):
        created += len(collections.create_empty_collections(project_id=sandbox_id, names=names))
    return created


def sync_all_sandbox_collections() -> int:
    """Safety net (beat): every live sandbox gets its parent's names, top-down, so a name
    reaches the deepest sandbox in one pass."""
    created = 0
    for depth_level in _sandboxes_by_depth():
        for sandbox_id, parent_id in depth_level:
            created += sync_collections_from_parent(sandbox_id=sandbox_id, parent_id=parent_id)
    log.info("sandbox.collections_synced", created=created)
    return created


def sync_collections_from_parent(*, sandbox_id: uuid.UUID, parent_id: uuid.UUID) -> int:
    names = list(Collection.objects.filter(project_id=parent_id).values_list("name", flat=True))
    return len(collections.create_empty_collections(project_id=sandbox_id, names=names))


def _sandboxes_by_depth() -> list[list[tuple[uuid.UUID, uuid.UUID]]]:
    levels: list[list[tuple[uuid.UUID, uuid.UUID]]] = []
    frontier = set(Project.objects.live().filter(parent__isnull=True).values_list("pk", flat=True))
    while frontier:
        level = list(
            Project.objects.live().filter(parent_id__in=frontier).values_list("pk", "parent_id")
        )
        if level:
            levels.append(level)
        frontier = {pk for pk, _ in level}
    return levels


# Merge


@dataclass(frozen=True)
class ToolChange:
    source: Tool
    target_tool: Tool | None
    lock_holder_id: int | None = None
    # What each tool is now (draft head, else active, else newest version): the merge page's
    # diff. `target_version` is None for a new tool or a target tool without versions.
    source_version: ToolVersion | None = None
    target_version: ToolVersion | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "source_tool_id": str(self.source.pk),
            "title": self.source.title,
            "slug": self.source.slug,
            "target_tool_id": str(self.target_tool.pk) if self.target_tool else None,
            "action": "update" if self.target_tool else "create",
            "locked_by_user_id": self.lock_holder_id,
        }


@dataclass(frozen=True)
class MergePlan:
    source: Project
    target: Project
    collections_to_add: list[str]
    collections_untouched: list[str]
    tools_to_propose: list[ToolChange] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source_project_id": str(self.source.pk),
            "target_project_id": str(self.target.pk),
            "collections_to_add": self.collections_to_add,
            "collections_untouched": self.collections_untouched,
            "tools_to_propose": [change.as_json() for change in self.tools_to_propose],
            "tools_locked": [
                change.as_json() for change in self.tools_to_propose if change.lock_holder_id
            ],
        }


def check_merge_target(*, source: Project, target: Project) -> None:
    """The target is the sandbox's parent or one of its siblings, never a descendant.

    :raises NotASandbox, InvalidMergeTarget:
    """
    if source.parent_id is None:
        raise NotASandbox()
    if target.pk == source.pk or target.pk in projects.descendant_ids(source.pk):
        raise InvalidMergeTarget()
    if source.parent_id not in (target.pk, target.parent_id):
        raise InvalidMergeTarget()


def plan_merge(*, source: Project, target: Project, actor: User) -> MergePlan:
    """What a merge would do now: collections only in the sandbox (to add), only in the target
    (kept), and the sandbox's tools that are new or changed (to propose as drafts)."""
    check_merge_target(source=source, target=target)
    ours = set(Collection.objects.filter(project=source).values_list("name", flat=True))
    theirs = set(Collection.objects.filter(project=target).values_list("name", flat=True))
    return MergePlan(
        source=source,
        target=target,
        collections_to_add=sorted(ours - theirs),
        collections_untouched=sorted(theirs - ours),
        tools_to_propose=_tool_changes(source, target, actor),
    )


def _tool_changes(source: Project, target: Project, actor: User) -> list[ToolChange]:
    target_tools = list(Tool.objects.filter(project=target))
    by_id = {tool.pk: tool for tool in target_tools}
    # A sibling target may hold its own copy of the same origin: that copy is the match.
    by_origin = {tool.origin_id: tool for tool in target_tools if tool.origin_id}
    merged_as = _tools_created_by_earlier_merges(source, target, by_id)
    sandbox_tools = list(Tool.objects.filter(project=source).order_by("title", "pk"))
    # Bulk reads: a project with hundreds of tools plans in a handful of queries.
    mine = tool_copies.latest_versions(sandbox_tools)
    theirs = tool_copies.latest_versions(target_tools)
    held = tool_copies.locks_held_by_others(target_tools, actor)
    changes = []
    for tool in sandbox_tools:
        if tool.pk not in mine:
            continue  # no content: nothing to propose
        origin = tool.origin_id
        match = (by_id.get(origin) or by_origin.get(origin)) if origin else None
        match = match or merged_as.get(tool.pk)
        # content_hash covers all five content fields: equal hashes mean equal content.
        current = theirs.get(match.pk) if match else None
        if current is not None and current.content_hash == mine[tool.pk].content_hash:
            continue
        holder = held.get(match.pk) if match else None
        changes.append(
            ToolChange(
                source=tool,
                target_tool=match,
                lock_holder_id=holder.holder_id if holder else None,
                source_version=mine[tool.pk],
                target_version=current,
            )
        )
    return changes


def _tools_created_by_earlier_merges(
    source: Project, target: Project, target_tools: dict[uuid.UUID, Tool]
) -> dict[uuid.UUID, Tool]:
    """Sandbox tool -> the target tool an earlier merge created for it (still in the target).
    A tool made in the sandbox has no origin, so without this every merge would create it
    again in the target."""
    created: dict[uuid.UUID, Tool] = {}
    records = MergeRecord.objects.filter(source=source, target=target).order_by("created_at")
    for proposed in records.values_list("tools_proposed", flat=True):
        for entry in proposed:
            target_tool = target_tools.get(uuid.UUID(entry["target_tool_id"]))
            if entry.get("created") and target_tool is not None:
                created[uuid.UUID(entry["source_tool_id"])] = target_tool
    return created


_MERGE_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('sandbox-merge'), hashtext(%s))"


@transaction.atomic
def merge_sandbox(
    *,
    source: Project,
    target: Project,
    actor: User,
    collections_selected: list[str] | None = None,
    tools_selected: list[uuid.UUID] | None = None,
) -> MergeRecord:
    """Merge additively in one transaction under the target's advisory lock: create the
    selected missing collections empty, write the selected tools as new drafts. Selections
    default to everything in the plan.

    :raises NotASandbox, InvalidMergeTarget, ValidationFailed, TargetDraftLockHeld:
    """
    with connection.cursor() as cursor:
        # Merges into one target queue up here; the plan below sees the previous one's result.
        cursor.execute(_MERGE_LOCK_SQL, [str(target.pk)])
    plan = plan_merge(source=source, target=target, actor=actor)
    names = _selected(plan.collections_to_add, collections_selected, "collections")
    changes = {str(change.source.pk): change for change in plan.tools_to_propose}
    wanted = None if tools_selected is None else [str(tool_id) for tool_id in tools_selected]
    picked = _selected(list(changes), wanted, "tools")
    created = collections.create_empty_collections(project_id=target.pk, names=names)
    if created:
        collections_merged.send(sender=MergeRecord, project_id=target.pk)
    written = tool_copies.propose_drafts(
        proposals=[
            tool_copies.Proposal(source=changes[key].source, target_tool=changes[key].target_tool)
            for key in picked
        ],
        target=target,
        actor=actor,
        summary=f"Merged from sandbox project {source.name}",
    )
    record = MergeRecord.objects.create(
        source=source,
        source_name=source.name,
        target=target,
        actor=actor,
        collections_created=created,
        tools_proposed=written,
        request_id=current_request_id() or "",
    )
    log.info(
        "sandbox.merged",
        source_id=str(source.pk),
        target_id=str(target.pk),
        collections=len(created),
        tools=len(written),
    )
    return record


def _selected(available: list[str], requested: list[str] | None, what: str) -> list[str]:
    """`requested` (None = all available), each one of `available`.

    :raises ValidationFailed: a requested item the plan does not offer
    """
    if requested is None:
        return available
    unknown = sorted(set(requested) - set(available))
    if unknown:
        raise ValidationFailed(
            f"Some {what} are not part of the merge plan.",
            details={"field": what, "not_in_plan": unknown},
        )
    return [item for item in available if item in set(requested)]
