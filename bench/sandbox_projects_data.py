"""Set-up, checks and clean-up for `sandbox_projects` (bench/sandbox_projects.py).

Imports Django models at module level: import this module only after harness.setup_django().
Nothing here is timed; the timed calls are in bench/sandbox_projects.py.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from apps.accounts.models import User
from apps.kvcollections import services as collection_services
from apps.kvcollections.models import Collection
from apps.locks.models import DraftLock, DraftLockEvent
from apps.projects import services as project_services
from apps.projects.models import Project
from apps.sandbox_projects.models import MergeRecord
from apps.sandbox_projects.services import merge_sandbox, provision_sandbox
from apps.tools import services as tool_services
from apps.tools.models import MaintainerChange, Tool, ToolMaintainer, ToolVersion, VersionState
from bench import harness
from bench.sandbox_projects_profile import Profile, measured_phase

OWNER_EMAIL = "bench-sandbox-projects@bench.test"
PARENT_PREFIX = "Bench sandbox_projects parent"
SCRATCH_PREFIX = "Bench sandbox_projects scratch"
SANDBOX_NAME = "bench-sandbox"
TOOLS = 200
PARENT_COLLECTIONS = 500
NEW_COLLECTIONS = 500
# A tool's source of ~2 KB (a real tool's size), different per tool and per edit, so every
# content hash differs and the merge proposes every tool.
_SOURCE_PADDING = "".join(
    f"# line {n:02d} of the bench tool's explanation of itself.\n" for n in range(36)
)

RAW_INSERT_SQL = f"""
INSERT INTO {Collection._meta.db_table} (id, project_id, name, byte_size, item_count,
                                         max_value_bytes, created_at, updated_at)
SELECT gen_random_uuid(), %s, name, 0, 0, 0, statement_timestamp(), statement_timestamp()
FROM unnest(%s::text[]) AS names(name)
ON CONFLICT (project_id, name) DO NOTHING
"""  # table name from model metadata; values are parameters


def source_for(tool_number: int, edit: str) -> str:
    return (
        f'"""Bench tool {tool_number}, {edit}."""\n{_SOURCE_PADDING}\n'
        f"def run_tool(input_dir, output_dir):\n    return {{'tool': {tool_number}, "
        f"'edit': {edit!r}}}\n"
    )


def parent_collection_names() -> list[str]:
    return [f"parent-{n:03d}" for n in range(PARENT_COLLECTIONS)]


def new_collection_names() -> list[str]:
    """The names added in the sandbox: the merge creates these in the parent, and the raw
    reference inserts the same names into its scratch project."""
    return [f"sandbox-{n:03d}" for n in range(NEW_COLLECTIONS)]


# --- Set-up ---------------------------------------------------------------------------------------


def owner() -> User:
    user: User = harness.bench_contributor(OWNER_EMAIL, "Bench Sandbox Projects")
    return user


def make_parent(actor: User, label: str) -> Project:
    """A fresh project with TOOLS tools (each with one draft, made through the services, as a
    contributor would) and PARENT_COLLECTIONS empty collections (one bulk statement: the
    per-collection service would queue a sync task per name on a broker nobody reads here)."""
    project = project_services.create_project(creator=actor, name=f"{PARENT_PREFIX} {label}")
    for number in range(TOOLS):
        tool = tool_services.create_tool(project=project, creator=actor, title=f"Tool {number}")
        tool_services.create_draft(
            tool=tool,
            actor=actor,
            content=tool_services.ContentEdit(source_code=source_for(number, "original")),
        )
    collection_services.create_empty_collections(
        project_id=project.pk, names=parent_collection_names()
    )
    return project


def make_scratch(actor: User, label: str) -> Project:
    """An empty project for the raw reference's rows."""
    return project_services.create_project(creator=actor, name=f"{SCRATCH_PREFIX} {label}")


def change_sandbox(sandbox: Project, actor: User) -> None:
    """Give the merge real work: NEW_COLLECTIONS names the parent lacks, and a new draft of
    every copied tool saved as an editor would (take the lock, save over the head)."""
    collection_services.create_empty_collections(
        project_id=sandbox.pk, names=new_collection_names()
    )
    for tool in Tool.objects.filter(project=sandbox).select_related("draft_head").order_by("pk"):
        head = tool.draft_head
        if head is None:
            raise harness.BenchError(f"sandbox tool {tool.pk} has no draft head")
        lock = tool_services.acquire_draft_lock(tool=tool, actor=actor, draft_head_id=str(head.pk))
        number = int(tool.title.rsplit(" ", 1)[1])
        tool_services.save_draft(
            version=head,
            actor=actor,
            expected_parent_version_id=head.pk,
            content=tool_services.ContentEdit(source_code=source_for(number, "sandbox edit")),
            change_summary="bench: edited in the sandbox",
            lock_token=lock.token,
        )


# --- Checks ---------------------------------------------------------------------------------------


def check_provisioned(parent: Project, sandbox: Project) -> None:
    tools = Tool.objects.filter(project=sandbox)
    copied = tools.filter(origin__project=parent, draft_head__isnull=False).count()
    collections = Collection.objects.filter(project=sandbox).count()
    if copied != TOOLS or tools.count() != TOOLS or collections != PARENT_COLLECTIONS:
        raise harness.BenchError(
            f"provision: {tools.count()} tools ({copied} copies with a draft head), "
            f"{collections} collections; expected {TOOLS} and {PARENT_COLLECTIONS}"
        )


def target_rows(target: Project) -> dict[str, int]:
    """Row counts of everything a merge could write into the target (for the before/after)."""
    querysets: dict[str, QuerySet[Any]] = {
        "collections": Collection.objects.filter(project=target),
        "tools": Tool.objects.filter(project=target),
        "tool_versions": ToolVersion.objects.filter(tool__project=target),
        "tool_versions_draft": ToolVersion.objects.filter(
            tool__project=target, state=VersionState.DRAFT
        ),
        "tool_versions_superseded": ToolVersion.objects.filter(
            tool__project=target, state=VersionState.SUPERSEDED
        ),
        "tool_maintainers": ToolMaintainer.objects.filter(content_object__project=target),
        "maintainer_changes": MaintainerChange.objects.filter(tool__project=target),
        "draft_locks": DraftLock.objects.filter(tool__project=target),
        "draft_lock_events": DraftLockEvent.objects.filter(tool__project=target),
        "merge_records": MergeRecord.objects.filter(target=target),
    }
    return {name: queryset.count() for name, queryset in querysets.items()}


def row_changes(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before}


EXPECTED_CHANGES = {
    "collections": NEW_COLLECTIONS,
    "tools": 0,
    "tool_versions": TOOLS,
    "tool_versions_draft": 0,  # each new draft replaces a draft head ...
    "tool_versions_superseded": TOOLS,  # ... which becomes superseded
    "tool_maintainers": 0,
    "maintainer_changes": 0,
    "draft_locks": 0,
    "draft_lock_events": 0,
    "merge_records": 1,
}


def check_merged(record: MergeRecord, parent: Project, changes: dict[str, int]) -> None:
    """The merge wrote exactly the expected rows, and every parent tool's head is the sandbox
    tool's content."""
    created = sorted(record.collections_created)
    proposed = record.tools_proposed
    if created != new_collection_names() or len(proposed) != TOOLS:
        raise harness.BenchError(
            f"merge record: {len(created)} collections, {len(proposed)} tools; expected "
            f"{NEW_COLLECTIONS} and {TOOLS}"
        )
    if any(entry["created"] for entry in proposed) or changes != EXPECTED_CHANGES:
        raise harness.BenchError(f"merge wrote {changes}; expected {EXPECTED_CHANGES}")
    mismatched = (
        Tool.objects.filter(project=parent)
        .exclude(draft_head__content_hash__in=_sandbox_head_hashes(record))
        .count()
    )
    if mismatched:
        raise harness.BenchError(f"merge: {mismatched} parent tools lack the sandbox's content")


def _sandbox_head_hashes(record: MergeRecord) -> QuerySet[ToolVersion, str]:
    source_ids = [entry["source_tool_id"] for entry in record.tools_proposed]
    return ToolVersion.objects.filter(
        pk__in=Tool.objects.filter(pk__in=source_ids).values("draft_head_id")
    ).values_list("content_hash", flat=True)


# --- The raw reference ----------------------------------------------------------------------------


def raw_insert(project: Project, names: list[str]) -> float:
    """Seconds for the raw statement in its own transaction on Django's connection (the one the
    services use): BEGIN, INSERT … ON CONFLICT DO NOTHING, COMMIT."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(RAW_INSERT_SQL, [project.pk, names])
        inserted = cursor.rowcount
    seconds = time.perf_counter() - started
    if inserted != len(names):
        raise harness.BenchError(f"raw insert wrote {inserted} rows, expected {len(names)}")
    return seconds


# --- Clean-up -------------------------------------------------------------------------------------


def delete_projects(projects: list[Project]) -> int:
    """Delete the projects with everything in them (sandboxes cascade from their parent)."""
    deleted, _ = Project.objects.filter(pk__in=[p.pk for p in projects]).delete()
    return deleted


def delete_leftovers(actor: User) -> int:
    """Projects an aborted run of this benchmark left behind."""
    deleted = 0
    for prefix in (PARENT_PREFIX, SCRATCH_PREFIX):
        found = Project.objects.filter(
            created_by=actor, parent__isnull=True, name__startswith=prefix
        )
        deleted += found.delete()[0]
    return deleted


@dataclass(frozen=True)
class Timed:
    seconds: float
    value: Any


def timed(call: Callable[[], Any]) -> Timed:
    started = time.perf_counter()
    value = call()
    return Timed(time.perf_counter() - started, value)


# --- One round ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    provision_ms: float
    merge_ms: float
    raw_insert_ms: float
    setup_s: float  # the parent project and the sandbox edits
    cleanup_s: float
    merge_wrote: dict[str, int]  # row-count changes in the parent


def run_round(actor: User, label: str, profile: Profile | None = None) -> Round:
    """Fresh projects, the three timed calls with their checks, then delete the projects.
    With a profile, provision and merge run instrumented (bench/sandbox_projects_profile.py)."""
    setup = timed(lambda: make_parent(actor, label))
    parent = setup.value
    scratch = make_scratch(actor, label)
    try:
        with measured_phase(profile, "provision"):
            provision = timed(
                lambda: provision_sandbox(parent=parent, actor=actor, name=SANDBOX_NAME)
            )
        check_provisioned(parent, provision.value)
        edits = timed(lambda: change_sandbox(provision.value, actor))
        before = target_rows(parent)
        with measured_phase(profile, "merge"):
            merge = timed(lambda: merge_sandbox(source=provision.value, target=parent, actor=actor))
        changes = row_changes(before, target_rows(parent))
        check_merged(merge.value, parent, changes)
        raw_seconds = raw_insert(scratch, new_collection_names())
    finally:
        cleanup = timed(lambda: delete_projects([parent, scratch]))
    return Round(
        provision_ms=provision.seconds * 1000,
        merge_ms=merge.seconds * 1000,
        raw_insert_ms=raw_seconds * 1000,
        setup_s=setup.seconds + edits.seconds,
        cleanup_s=cleanup.seconds,
        merge_wrote=changes,
    )
