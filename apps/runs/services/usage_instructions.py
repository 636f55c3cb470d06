"""Whether a user has seen a tool's usage instructions: the hash of the text they saw, kept in
their session `ui:usage_instructions` of the tool, so the run page shows the instructions open
the first time and again after they change, and collapsed once seen."""

import hashlib
import re
from dataclasses import dataclass

from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs.exceptions import StateRevConflict
from apps.runs.models import USAGE_INSTRUCTIONS_CONTEXT
from apps.runs.services.sessions import get_or_create_session, get_session, update_state
from apps.tools.models import Tool

HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class UsageInstructionsState:
    instructions_hash: str  # sha256 hex of the active version's instructions (UTF-8)
    seen: bool  # the user saw this text; always true when the tool has no instructions


def _instructions(tool: Tool) -> str:
    version = tool.active_version
    assert version is not None  # noqa: S101 - tools.access.get_published_tool_for_user guarantees it
    return version.usage_instructions


def instructions_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _state(text: str, seen_hash: object) -> UsageInstructionsState:
    current = instructions_hash(text)
    return UsageInstructionsState(
        instructions_hash=current, seen=not text.strip() or seen_hash == current
    )


def usage_instructions_state(*, tool: Tool, user: User) -> UsageInstructionsState:
    session = get_session(tool_id=tool.pk, user_id=user.pk, context=USAGE_INSTRUCTIONS_CONTEXT)
    return _state(_instructions(tool), session.state.get("seen_hash") if session else None)


@transaction.atomic
def mark_usage_instructions_seen(
    *, tool: Tool, actor: User, seen_hash: object = None
) -> UsageInstructionsState:
    """Remember that `actor` saw the instructions whose hash is `seen_hash` (the text the page
    showed, which may have changed since; then the new text still counts as unseen), or the
    current instructions when it is None.

    :raises ValidationFailed: `seen_hash` is not 64 lower-case hex digits
    """
    text = _instructions(tool)
    if seen_hash is None:
        seen_hash = instructions_hash(text)
    if not isinstance(seen_hash, str) or not HASH_PATTERN.fullmatch(seen_hash):
        raise ValidationFailed(
            "usage_instructions_hash must be a sha256 hex digest.",
            details={"field": "usage_instructions_hash"},
        )
    # The revision guards against a concurrent write of the same session (another tab): read
    # again and write once more; both tabs store a hash they showed, so either result is right.
    for attempt in range(2):
        session = get_or_create_session(
            tool_id=tool.pk, user_id=actor.pk, context=USAGE_INSTRUCTIONS_CONTEXT
        )
        try:
            update_state(
                session=session,
                expected_state_rev=session.state_rev,
                state={**session.state, "seen_hash": seen_hash},
            )
            break
        except StateRevConflict:
            if attempt:
                raise
    return _state(text, seen_hash)
