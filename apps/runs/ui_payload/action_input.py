"""Checks on a submitted action: was it offered, and does its input fit its fields (§9 item 21)."""

from typing import Any

from apps.core.exceptions import ValidationFailed
from apps.runs.exceptions import ActionNotOffered
from apps.tools.schema_values import coerce_settings_values

# coerce_settings_values words its errors for settings; the user is submitting an action form.
_WORDING = (
    ("Invalid settings value", "Invalid action input"),
    ("Unknown settings keys", "Unknown action input keys"),
    ("settings must be a JSON object", "action input must be a JSON object"),
)


def offered_action(ui_payload: dict[str, Any] | None, action_id: str) -> dict[str, Any]:
    """Return the action `action_id` offered by a stored (normalised) ui_payload.

    :raises ActionNotOffered: no payload, or the payload offers no such action.
    """
    actions = ui_payload.get("next_actions") if isinstance(ui_payload, dict) else None
    offered = [action for action in actions or [] if isinstance(action, dict)]
    for action in offered:
        if action.get("action_id") == action_id:
            return action
    raise ActionNotOffered(
        details={"offered_action_ids": [action.get("action_id") for action in offered]}
    )


def validate_action_input(action: dict[str, Any], raw_input: object) -> dict[str, Any]:
    """Return the submitted input coerced to the action's fields (settings rules, §3.4).

    :raises ValidationFailed: not an object, unknown keys, or a value of the wrong type
        (`details` name the `field` and `kind`, or list the `unknown_keys`).
    """
    try:
        return coerce_settings_values(action.get("fields") or [], raw_input)
    except ValidationFailed as error:
        raise ValidationFailed(_action_wording(error.message), details=error.details) from None


def _action_wording(message: str) -> str:
    for settings_words, action_words in _WORDING:
        if message.startswith(settings_words):
            return action_words + message[len(settings_words) :]
    return message
