"""The whole normaliser: one run's outputs, next_actions and state → stored ui_payload and state."""

from dataclasses import dataclass
from typing import Any

from apps.runs.ui_payload.actions import normalize_actions
from apps.runs.ui_payload.notices import system_notice
from apps.runs.ui_payload.outputs import normalize_outputs
from apps.runs.ui_payload.policy import DEFAULT_POLICY, UiPolicy
from apps.runs.ui_payload.state import normalize_state
from apps.runs.ui_payload.values import json_size, truncate_utf8

CONTRACT_VERSION = 2
_FAILURE_FALLBACK = "The run failed."


@dataclass(frozen=True)
class NormalizedResult:
    ui_payload: dict[str, Any]
    state: dict[str, Any] | None


def normalize_result(
    *, outputs: object, next_actions: object, state: object, policy: UiPolicy = DEFAULT_POLICY
) -> NormalizedResult:
    """Turn a tool's untrusted result into the payload stored on the run (behaviour §1.10).

    Deterministic and pure: the same input (in any key order) gives the same canonical bytes,
    and normalising a normalised payload changes nothing. Malformed entries are dropped and
    reported as system notices after the tool's outputs.

    :raises NormalizationError: the result cannot be shown at all (duplicate action_id).
    """
    messages: list[str] = []
    kept_state = normalize_state(state, policy, messages)
    tool_outputs, skipped = normalize_outputs(outputs, policy, messages)
    actions = normalize_actions(next_actions, policy, messages)
    tool_outputs, notices = _share_output_slots(tool_outputs, skipped, messages, policy)
    return NormalizedResult(_fit_budget(tool_outputs, notices, actions, policy), kept_state)


def failure_payload(message: str) -> dict[str, Any]:
    """Return the payload of a failed run: one error notice and no actions."""
    text = truncate_utf8(message, DEFAULT_POLICY.notice_max_bytes)
    notice = {"kind": "notice", "level": "error", "message": text.strip() or _FAILURE_FALLBACK}
    return _payload([notice], [])


def _payload(outputs: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"contract_version": CONTRACT_VERSION, "outputs": outputs, "next_actions": actions}


def _share_output_slots(
    tool_outputs: list[dict[str, Any]], skipped: int, messages: list[str], policy: UiPolicy
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (tool outputs, notices) that together fit `max_outputs`; notices get slots first."""
    slots = policy.max_outputs - len(messages)
    if skipped or len(tool_outputs) > slots:
        slots -= 1  # for the notice saying outputs were dropped
        kept = tool_outputs[: max(0, slots)]
        dropped = skipped + len(tool_outputs) - len(kept)
        messages = [
            *messages,
            f"{dropped} output(s) over the limit of {policy.max_outputs} were dropped.",
        ]
        tool_outputs = kept
    notices = [system_notice(message, policy) for message in messages[: policy.max_outputs]]
    return tool_outputs, notices


class _Sized:
    """A list of payload entries with their canonical sizes, so dropping never re-encodes.

    Canonical JSON is compact: a list is `[` + items joined by `,` + `]`, so its size is exact
    arithmetic over the items' sizes.
    """

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = list(items)
        self.sizes = [json_size(item) for item in self.items]

    def content_size(self) -> int:
        return sum(self.sizes) + max(0, len(self.sizes) - 1)

    def pop(self, index: int = -1) -> None:
        self.items.pop(index)
        self.sizes.pop(index)


def _fit_budget(
    tool_outputs: list[dict[str, Any]],
    notices: list[dict[str, Any]],
    actions: list[dict[str, Any]],
    policy: UiPolicy,
) -> dict[str, Any]:
    """Drop trailing tool outputs, then trailing actions, then notices until the payload fits.

    The original re-encoded and retried up to five times because adding the "exceeded" notice
    grows the payload; with exact sizes one pass converges.
    """
    limit = policy.ui_payload_max_bytes
    tool, note, act = _Sized(tool_outputs), _Sized(notices), _Sized(actions)
    # Two lists inside the empty payload: the outputs list holds tool outputs and notices.
    empty = json_size(_payload([], []))

    def size() -> int:
        between = 1 if tool.items and note.items else 0
        return empty + tool.content_size() + between + note.content_size() + act.content_size()

    if size() <= limit:
        return _payload(tool.items + note.items, act.items)
    # The notice saying so needs an output slot of its own.
    if tool.items and len(tool.items) + len(note.items) >= policy.max_outputs:
        tool.pop()
    elif note.items and len(note.items) >= policy.max_outputs:
        note.pop()
    if len(tool.items) + len(note.items) < policy.max_outputs:
        message = f"ui_payload exceeded {limit} bytes and was truncated."
        note.items.append(system_notice(message, policy))
        note.sizes.append(json_size(note.items[-1]))
    for entries in (tool, act):
        while entries.items and size() > limit:
            entries.pop()
    # Notices go last, and the one explaining the truncation goes very last.
    while len(note.items) > 1 and size() > limit:
        note.pop(-2)
    if size() > limit:
        note.pop()
    return _payload(tool.items + note.items, act.items)
