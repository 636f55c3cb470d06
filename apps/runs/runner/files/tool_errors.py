"""Errors a tool raises on purpose (available inside the sandbox as `tool_errors`)."""

_FALLBACK_MESSAGE = "Ett fel inträffade."


class ToolUserError(Exception):
    """An expected failure whose message is shown to the user as the run's error summary.

    The message must be safe to show: no stack traces, host paths or secrets. No traceback
    is recorded for it.
    """

    def __init__(self, message: str = "") -> None:
        text = message.strip() if isinstance(message, str) else ""
        self.safe_message = text or _FALLBACK_MESSAGE
        super().__init__(self.safe_message)
