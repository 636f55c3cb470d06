"""System notices: how the normaliser tells the tool author what it dropped or shortened."""

from typing import Any

from apps.runs.ui_payload.policy import UiPolicy
from apps.runs.ui_payload.values import truncate_utf8

NOTICE_PREFIX = "System notice: "
MAX_EXAMPLES = 3


class Invalid(Exception):
    """An entry that cannot be shown. The message is written by the normaliser, so it is safe."""


class Problems:
    """Dropped or shortened entries of one kind, reported as one notice with a few examples."""

    def __init__(self, summary: str) -> None:
        self.summary = summary
        self.count = 0
        self.examples: list[str] = []

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def report(self, notices: list[str]) -> None:
        """Append the aggregated message to `notices` when anything was collected."""
        if self.count:
            notices.append(f"{self.summary}: {self.count} (e.g. {'; '.join(self.examples)}).")


def system_notice(message: str, policy: UiPolicy) -> dict[str, Any]:
    """Return the notice output for a message of the platform (not of the tool)."""
    return {
        "kind": "notice",
        "level": "warning",
        "message": truncate_utf8(NOTICE_PREFIX + message, policy.notice_max_bytes),
    }
