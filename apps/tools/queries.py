"""Reads that are not access checks: the editor boot document, the catalog search."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from apps.accounts.models import User
from apps.locks import services as locks
from apps.tools.models import Tool, ToolVersion, VersionState

STARTER_SOURCE = '''def run_tool(input_dir, output_dir):
    """Read files from input_dir, write results to output_dir."""
    return "Hello from a new tool"
'''
MAX_LISTED_VERSIONS = 50


def editor_boot(*, tool: Tool, user: User, selected: ToolVersion | None = None) -> dict[str, Any]:
    """The tool, its newest versions, the selected version's content and the live lock (only when
    it sits on the current head)."""
    versions = list(tool.versions.order_by("-version_number")[:MAX_LISTED_VERSIONS])
    selected = selected or _default_selection(tool, versions)
    lock = locks.live_lock(tool_id=tool.pk)
    if lock is not None and lock.draft_head_id != tool.draft_head_id:
        lock = None
    is_draft = selected is not None and selected.state == VersionState.DRAFT
    return {
        "tool": tool,
        "versions": versions,
        "selected_version": selected,
        "draft_head_id": tool.draft_head_id,
        "draft_lock": lock,
        "save_mode": "snapshot" if is_draft else "create_draft",
        "parent_version_id": selected.derived_from_id if selected else None,
        "create_draft_from_version_id": selected.pk if selected and not is_draft else None,
        "entrypoint": selected.entrypoint if selected else "run_tool",
        "source_code": selected.source_code if selected else STARTER_SOURCE,
        "input_schema": selected.input_schema if selected else [],
        "settings_schema": selected.settings_schema if selected else None,
        "usage_instructions": selected.usage_instructions if selected else "",
    }


def _default_selection(tool: Tool, versions: list[ToolVersion]) -> ToolVersion | None:
    """The head if there is one, else the version under review, the active one, the newest."""
    by_id = {version.pk: version for version in versions}
    for candidate in (
        tool.draft_head_id,
        _first(versions, VersionState.IN_REVIEW),
        tool.active_version_id,
    ):
        if candidate is not None and candidate in by_id:
            return by_id[candidate]
    return versions[0] if versions else None


def _first(versions: list[ToolVersion], state: str) -> Any:
    return next((version.pk for version in versions if version.state == state), None)


# --- Review ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesRequested:
    """A reviewer's request for changes, for the editor's banner."""

    reviewer_email: str
    requested_at: datetime
    message: str
    version_number: int


def changes_requested(tool: Tool) -> ChangesRequested | None:
    """The newest request for changes on the tool, unless a version was submitted since.

    request_changes archives the version in review with reviewed_* set (publishing sets
    published_* too) and gives its author a draft derived from it whose change summary is the
    reviewer's message."""
    sent_back = (
        tool.versions.filter(reviewed_at__isnull=False, published_at__isnull=True)
        .select_related("reviewed_by")
        .order_by("-reviewed_at")
        .first()
    )
    if sent_back is None or sent_back.reviewed_at is None:
        return None
    if tool.versions.filter(submitted_for_review_at__gt=sent_back.reviewed_at).exists():
        return None
    draft = tool.versions.filter(derived_from=sent_back).order_by("version_number").first()
    reviewer = sent_back.reviewed_by
    return ChangesRequested(
        reviewer_email=reviewer.email if reviewer else "a deleted user",
        requested_at=sent_back.reviewed_at,
        message=draft.change_summary if draft else "",
        version_number=sent_back.version_number,
    )


# --- Catalog search -------------------------------------------------------------------------------


def matching_all_words(tools: QuerySet[Tool], words: Sequence[str]) -> QuerySet[Tool]:
    """`tools` whose title, summary or active version's usage instructions contain every word
    (case-insensitive substrings, so "betyg" finds "Betygsättning"), title matches first.

    Each word is two semi-joins, each answered by a trigram index (tools_title_trgm and
    tools_summary_trgm, tools_active_instructions_trgm): one condition spanning both tables
    could only be checked row by row.
    """
    if not words:
        return tools
    in_title = Q()
    for word in words:
        on_tool = Tool.objects.filter(Q(title__icontains=word) | Q(summary__icontains=word))
        in_instructions = ToolVersion.objects.filter(
            state=VersionState.ACTIVE, usage_instructions__icontains=word
        )
        tools = tools.filter(
            Q(pk__in=on_tool.values("pk")) | Q(active_version__in=in_instructions.values("pk"))
        )
        in_title &= Q(title__icontains=word)
    return tools.annotate(
        title_match=Case(
            When(in_title, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    ).order_by("-title_match", "title", "pk")
