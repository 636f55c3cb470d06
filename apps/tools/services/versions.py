"""The version workflow. Every service here keeps `Tool.draft_head` and the draft lock correct in
its own transaction: a replaced head becomes SUPERSEDED and can never be the head again."""

from dataclasses import asdict, dataclass
from typing import Any

import structlog
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.core.exceptions import Conflict
from apps.locks import services as locks
from apps.locks.models import DraftLock
from apps.tools.content import DEFAULT_ENTRYPOINT, FIELD_NAMES, ToolContent
from apps.tools.exceptions import DraftHeadMoved, SuperuserRequired, WrongVersionState
from apps.tools.models import Tool, ToolVersion, VersionState
from apps.tools.services.catalog import check_publish_requirements, locked, require_admin
from apps.tools.signals import draft_head_changed

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ContentEdit:
    """Changes to a version's content: `None` means "keep the current value"."""

    entrypoint: str | None = None
    source_code: str | None = None
    input_schema: Any = None
    settings_schema: Any = None
    usage_instructions: str | None = None


def _merged(base: ToolVersion | None, edit: ContentEdit) -> ToolContent:
    """`edit` over `base` (or the defaults), normalised and validated.

    :raises ValidationFailed:
    """
    merged = {name: getattr(base, name) if base else None for name in FIELD_NAMES}
    merged.update({k: v for k, v in asdict(edit).items() if v is not None})
    # An empty entrypoint in an edit means the default, as an absent one does.
    merged["entrypoint"] = merged["entrypoint"] or DEFAULT_ENTRYPOINT
    return ToolContent.validated(**merged)


def new_version(tool: Tool, *, state: str, content: ToolContent, **extra: Any) -> ToolVersion:
    number = (tool.versions.aggregate(top=Max("version_number"))["top"] or 0) + 1
    return ToolVersion.objects.create(
        tool=tool,
        version_number=number,
        state=state,
        content_hash=content.content_hash,
        **content.as_fields(),
        **extra,
    )


def set_head(tool: Tool, new_head: ToolVersion | None, *, actor: User) -> None:
    """Supersede the old head, point the tool at `new_head`, move the lock with it."""
    old = tool.draft_head
    if (
        old is not None
        and (new_head is None or old.pk != new_head.pk)
        and old.state == VersionState.DRAFT
    ):
        ToolVersion.objects.filter(pk=old.pk).update(state=VersionState.SUPERSEDED)
    tool.draft_head = new_head
    tool.save(update_fields=["draft_head"])
    draft_head_changed.send(sender=Tool, tool=tool, old_head=old, new_head=new_head)
    if new_head is not None:
        locks.move(tool_id=tool.pk, new_head_id=new_head.pk, actor_id=actor.pk)


def set_heads(changes: list[tuple[Tool, ToolVersion]], *, actor: User) -> None:
    """`set_head` for many tools (rows already locked) in a few statements: the old draft heads
    superseded, the tools pointed at their new heads, locks moved, one signal per tool."""
    previous = {
        tool.pk: tool.draft_head_id for tool, new in changes if tool.draft_head_id != new.pk
    }
    old_ids = [head_id for head_id in previous.values() if head_id is not None]
    old_heads = ToolVersion.objects.in_bulk(old_ids)
    ToolVersion.objects.filter(pk__in=old_ids, state=VersionState.DRAFT).update(
        state=VersionState.SUPERSEDED
    )
    for tool, new in changes:
        tool.draft_head = new
    Tool.objects.bulk_update([tool for tool, _ in changes], ["draft_head"])
    with_lock_rows = set(
        DraftLock.objects.filter(tool_id__in=[tool.pk for tool, _ in changes]).values_list(
            "tool_id", flat=True
        )
    )
    for tool, new in changes:
        old = old_heads.get(previous.get(tool.pk))
        draft_head_changed.send(sender=Tool, tool=tool, old_head=old, new_head=new)
        if tool.pk in with_lock_rows:
            locks.move(tool_id=tool.pk, new_head_id=new.pk, actor_id=actor.pk)


def new_drafts(
    contents: list[tuple[Tool, ToolContent]], *, actor: User, change_summary: str
) -> list[ToolVersion]:
    """One new DRAFT per (tool, content), numbered after each tool's newest version; one insert."""
    tops = dict(
        ToolVersion.objects.filter(tool__in=[tool for tool, _ in contents])
        .values("tool_id")
        .annotate(top=Max("version_number"))
        .values_list("tool_id", "top")
    )
    drafts = [
        ToolVersion(
            tool=tool,
            version_number=(tops.get(tool.pk) or 0) + 1,
            state=VersionState.DRAFT,
            content_hash=content.content_hash,
            created_by=actor,
            change_summary=change_summary,
            **content.as_fields(),
        )
        for tool, content in contents
    ]
    return ToolVersion.objects.bulk_create(drafts)


@transaction.atomic
def create_draft(
    *,
    tool: Tool,
    actor: User,
    content: ContentEdit,
    derived_from: ToolVersion | None = None,
    change_summary: str = "",
    lock_token: int | None = None,
) -> ToolVersion:
    """A new DRAFT that becomes the head; omitted fields come from `derived_from`.

    :raises DraftLockRequired…: a head exists and `actor` does not hold its lock
    :raises Conflict: `derived_from` belongs to another tool
    """
    tool = locked(tool)
    if tool.draft_head_id is not None:
        locks.require_active_draft_lock(
            tool_id=tool.pk, draft_head_id=tool.draft_head_id, actor_id=actor.pk, token=lock_token
        )
    if derived_from is not None and derived_from.tool_id != tool.pk:
        raise Conflict("derived_from_version_id belongs to another tool.")
    version = new_version(
        tool,
        state=VersionState.DRAFT,
        content=_merged(derived_from, content),
        derived_from=derived_from,
        created_by=actor,
        change_summary=change_summary.strip(),
    )
    set_head(tool, version, actor=actor)
    log.info(
        "tool.draft_created", tool_id=str(tool.pk), version_id=str(version.pk), user_id=actor.pk
    )
    return version


@transaction.atomic
def save_draft(
    *,
    version: ToolVersion,
    actor: User,
    expected_parent_version_id: Any,
    content: ContentEdit,
    change_summary: str = "",
    lock_token: int | None = None,
) -> ToolVersion:
    """Save over the head: a new DRAFT derived from it, the old one SUPERSEDED; no-op when the
    content is unchanged (returns the current head, writes nothing).

    :raises DraftHeadMoved: `version` is not the head, or the head is not the expected parent
    :raises DraftLockRequired…: `actor` does not hold a live lock on the head
    """
    tool = locked(version.tool)
    if tool.draft_head_id != version.pk or str(expected_parent_version_id) != str(version.pk):
        raise DraftHeadMoved(
            details={
                "expected": str(expected_parent_version_id),
                "current": str(tool.draft_head_id),
            }
        )
    locks.require_active_draft_lock(
        tool_id=tool.pk, draft_head_id=version.pk, actor_id=actor.pk, token=lock_token
    )
    merged = _merged(version, content)
    if merged.content_hash == version.content_hash:
        return version
    saved = new_version(
        tool,
        state=VersionState.DRAFT,
        content=merged,
        derived_from=version,
        created_by=actor,
        change_summary=change_summary.strip(),
    )
    set_head(tool, saved, actor=actor)
    log.info("tool.draft_saved", tool_id=str(tool.pk), version_id=str(saved.pk), user_id=actor.pk)
    return saved


@transaction.atomic
def submit_for_review(*, version: ToolVersion, actor: User, review_note: str = "") -> ToolVersion:
    """Move the head to IN_REVIEW (publish requirements first); the tool has no head after.

    :raises WrongVersionState, PublishRequirementsMissing, DraftLockHeld:
    """
    tool = locked(version.tool)
    if tool.draft_head_id != version.pk:
        raise WrongVersionState("Only the current draft head can be submitted for review.")
    check_publish_requirements(tool)
    _release_for(tool, actor, reason="submitted for review")
    ToolVersion.objects.filter(pk=version.pk).update(
        state=VersionState.IN_REVIEW,
        submitted_for_review_by=actor,
        submitted_for_review_at=timezone.now(),
        review_note=review_note.strip(),
    )
    tool.draft_head = None
    tool.save(update_fields=["draft_head"])
    version.refresh_from_db()
    return version


@transaction.atomic
def request_changes(*, version: ToolVersion, actor: User, message: str = "") -> ToolVersion:
    """Archive the version under review and give its author a new head copying everything.

    :raises AdminRequired, WrongVersionState:
    """
    require_admin(actor)
    tool = locked(version.tool)
    _require_state(version, VersionState.IN_REVIEW)
    ToolVersion.objects.filter(pk=version.pk).update(
        state=VersionState.ARCHIVED, reviewed_by=actor, reviewed_at=timezone.now()
    )
    draft = new_version(
        tool,
        state=VersionState.DRAFT,
        content=ToolContent.of(version),
        derived_from=version,
        created_by=version.created_by,
        change_summary=message.strip(),
    )
    set_head(tool, draft, actor=actor)
    return draft


@transaction.atomic
def publish_version(*, version: ToolVersion, actor: User, change_summary: str = "") -> ToolVersion:
    """Copy-on-activate: a new ACTIVE version; the reviewed one and the old ACTIVE are archived.

    :raises AdminRequired, WrongVersionState:
    """
    require_admin(actor)
    tool = locked(version.tool)
    _require_state(version, VersionState.IN_REVIEW)
    now = timezone.now()
    # Reviewed and published by the same admin at the same instant: the review record is
    # complete whichever way the review ended (request_changes sets only reviewed_*).
    ToolVersion.objects.filter(pk=version.pk).update(
        state=VersionState.ARCHIVED,
        reviewed_by=actor,
        reviewed_at=now,
        published_by=actor,
        published_at=now,
    )
    return _activate(
        tool, version, actor=actor, summary=change_summary.strip() or version.change_summary
    )


@transaction.atomic
def rollback_version(*, version: ToolVersion, actor: User) -> ToolVersion:
    """Make an archived version active again (as a new copy). :raises SuperuserRequired…:"""
    if not actor.has_role(Role.SUPERUSER):
        raise SuperuserRequired()
    tool = locked(version.tool)
    _require_state(version, VersionState.ARCHIVED)
    return _activate(tool, version, actor=actor, summary=f"Rollback from v{version.version_number}")


def _activate(tool: Tool, source: ToolVersion, *, actor: User, summary: str) -> ToolVersion:
    ToolVersion.objects.filter(tool=tool, state=VersionState.ACTIVE).update(
        state=VersionState.ARCHIVED
    )
    active = new_version(
        tool,
        state=VersionState.ACTIVE,
        content=ToolContent.of(source),
        derived_from=source,
        created_by=actor,
        change_summary=summary,
        published_by=actor,
        published_at=timezone.now(),
    )
    tool.active_version = active
    tool.save(update_fields=["active_version"])
    log.info(
        "tool.version_activated", tool_id=str(tool.pk), version_id=str(active.pk), user_id=actor.pk
    )
    return active


def _require_state(version: ToolVersion, state: str) -> None:
    version.refresh_from_db(fields=["state"])
    if version.state != state:
        raise WrongVersionState(f"The version must be {state}, not {version.state}.")


def _release_for(tool: Tool, actor: User, *, reason: str) -> None:
    """The head is leaving: free its lock if the actor holds it or nobody does.

    :raises DraftLockHeld: another user holds a live lock on the head
    """
    state = locks.lock_state(tool_id=tool.pk)
    if state is not None and state.holder_id is not None:
        locks.release(tool_id=tool.pk, actor_id=actor.pk, is_admin=False, reason=reason)
