"""Normalisation of the tool's `next_actions` (behaviour §1.10 step 3, §3.3).

Author order is kept (§9 item 24): the list is already deterministic, sorting only hid intent.
"""

from typing import Any, TypeGuard

from apps.core.exceptions import ValidationFailed
from apps.runs.ui_payload.notices import Invalid, Problems
from apps.runs.ui_payload.policy import UiPolicy
from apps.runs.ui_payload.values import (
    clean_text,
    is_json_int,
    is_json_number,
    short,
    type_name,
)
from apps.tools.schemas import SETTINGS_KINDS, normalize_settings_schema

ACTION_ID_MAX_LENGTH = 64
_FIELD_KEYS = ("kind", "name", "label", "options")
_OPTION_KEYS = ("value", "label")
_EXPECTED = {
    "enum": "one of the option values",
    "multi_enum": "an array of option values",
    "text": "string",
}


class NormalizationError(Exception):
    """The tool's result cannot be turned into a UI payload; the run is marked failed.

    The message is written by the normaliser (untrusted parts shortened), so it is safe to show.
    """


class _ActionProblems:
    def __init__(self) -> None:
        self.actions = Problems("Invalid next_actions were dropped")
        self.fields = Problems("Action fields were dropped or shortened")
        self.prefill = Problems("Invalid prefill entries were dropped")

    def report(self, notices: list[str]) -> None:
        for problems in (self.actions, self.fields, self.prefill):
            problems.report(notices)


def normalize_actions(raw: object, policy: UiPolicy, notices: list[str]) -> list[dict[str, Any]]:
    """Return the actions to offer, in author order; problems become messages in `notices`.

    :raises NormalizationError: two actions share an action_id.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        notices.append(f"next_actions must be an array, not {type_name(raw)}; no action offered.")
        return []
    problems = _ActionProblems()
    actions: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw[: policy.max_next_actions]):
        where = f"next_actions[{index}]"
        try:
            action = _action(item, where, policy, problems)
        except Invalid as problem:
            problems.actions.add(f"{where}: {problem}")
            continue
        if action["action_id"] in seen:
            raise NormalizationError(
                f"next_actions offers the action_id {short(action['action_id'])} more than once."
            )
        seen.add(action["action_id"])
        actions.append(action)
    if len(raw) > policy.max_next_actions:
        notices.append(
            f"{len(raw) - policy.max_next_actions} next_action(s) over the limit of "
            f"{policy.max_next_actions} were dropped."
        )
    problems.report(notices)
    return actions


def _action(
    item: object, where: str, policy: UiPolicy, problems: _ActionProblems
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise Invalid(f"an action must be an object, not {type_name(item)}")
    action_id = item.get("action_id")
    if not isinstance(action_id, str) or not action_id.strip():
        raise Invalid("action_id must be a non-blank string")
    if len(action_id) > ACTION_ID_MAX_LENGTH:
        raise Invalid(f"action_id is longer than {ACTION_ID_MAX_LENGTH} characters")
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        raise Invalid("label must be a non-blank string")
    if item.get("kind", "form") != "form":
        raise Invalid('kind must be "form"')
    fields = _fields(item.get("fields"), where, policy, problems.fields)
    return {
        "action_id": clean_text(action_id),
        "label": clean_text(label.strip()),
        "kind": "form",
        "fields": fields,
        "prefill": _prefill(item.get("prefill"), fields, where, problems.prefill),
    }


# Fields


def _fields(raw: object, where: str, policy: UiPolicy, problems: Problems) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("fields must be an array")
    limit = policy.max_fields_per_action
    if len(raw) > limit:
        problems.add(f"{where}.fields: {len(raw) - limit} over the limit of {limit}")
    fields: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, item in enumerate(raw[:limit]):
        field_where = f"{where}.fields[{index}]"
        try:
            field = _field(item, field_where, policy, problems)
        except Invalid as problem:
            problems.add(f"{field_where}: {problem}")
            continue
        if field["name"] in names:
            problems.add(f"{field_where}: duplicate name {short(field['name'])}")
            continue
        names.add(field["name"])
        fields.append(field)
    return fields


def _field(item: object, where: str, policy: UiPolicy, problems: Problems) -> dict[str, Any]:
    """Return the canonical settings-kind field (the shape schema_values coerces against).

    Keys the contract does not know are ignored rather than rejected, as the original did: a
    tool cannot see validation errors the way an editor user sees them for settings_schema.
    """
    if not isinstance(item, dict):
        raise Invalid(f"a field must be an object, not {type_name(item)}")
    kind = item.get("kind")
    if kind not in SETTINGS_KINDS:
        raise Invalid(f"unknown field kind {short(kind)}")
    candidate = _known(item, _FIELD_KEYS)
    options = candidate.get("options")
    if isinstance(options, list):
        limit = policy.multi_enum_max_options if kind == "multi_enum" else policy.enum_max_options
        if len(options) > limit:
            problems.add(f"{where}.options: cut to {limit}")
        candidate["options"] = [
            _known(option, _OPTION_KEYS) if isinstance(option, dict) else option
            for option in options[:limit]
        ]
    try:
        fields = normalize_settings_schema([candidate])
    except ValidationFailed as error:
        raise Invalid(error.details["issues"][0]["message"]) from None
    if not fields:  # not reachable: one candidate gives one field or an error
        raise Invalid("field is empty")
    return fields[0]


def _known(item: dict[Any, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Return the known keys of `item`, strings made encodable (they may hold surrogates)."""
    return {
        key: clean_text(item[key]) if isinstance(item[key], str) else item[key]
        for key in keys
        if key in item
    }


# Prefill


def _prefill(
    raw: object, fields: list[dict[str, Any]], where: str, problems: Problems
) -> dict[str, Any]:
    """Return the prefill entries that fit their field (§3.3); nothing is coerced."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(f"{where}.prefill: must be an object, not {type_name(raw)}")
        return {}
    by_name = {field["name"]: field for field in fields}
    prefill: dict[str, Any] = {}
    # Sorted, so the examples in the notice do not depend on the input's key order.
    for key in sorted(raw, key=str):
        entry = f"{where}.prefill[{short(key)}]"
        field = by_name.get(key) if isinstance(key, str) else None
        if field is None:
            problems.add(f"{entry}: unknown field")
            continue
        try:
            prefill[field["name"]] = _prefill_value(field, raw[key])
        except Invalid as problem:
            problems.add(f"{entry}: {problem}")
    return prefill


def _prefill_value(field: dict[str, Any], value: object) -> Any:
    kind = field["kind"]
    options = {option["value"] for option in field.get("options", ())}
    if kind in ("string", "text") and isinstance(value, str):
        return clean_text(value)
    if kind == "enum" and isinstance(value, str) and value in options:
        return value
    if kind == "integer" and is_json_int(value):
        return value
    if kind == "number" and is_json_number(value):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "multi_enum" and _all_options(value, options):
        return list(value)
    expected = _EXPECTED.get(kind, kind)
    raise Invalid(f"expected {expected}, got {short(value)}")


def _all_options(value: object, options: set[str]) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(
        isinstance(item, str) and item in options for item in value
    )
