"""Coercion of run inputs and user settings to a canonical schema (behaviour §3.4)."""

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from apps.core.exceptions import ValidationFailed

_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class _Target:
    """One schema field a value is coerced for; `scope` is "input" or "settings"."""

    def __init__(self, field: Mapping[str, Any], scope: str) -> None:
        self.name: str = field["name"]
        self.kind: str = field["kind"]
        self.options = frozenset(option["value"] for option in field.get("options", ()))
        self.scope = scope

    def error(self, problem: str) -> ValidationFailed:
        return ValidationFailed(
            f"Invalid {self.scope} value ({problem})",
            details={"field": self.name, "kind": self.kind},
        )


def coerce_input_values(schema: Sequence[Mapping[str, Any]], values: object) -> dict[str, Any]:
    """Return the run's `inputs` coerced to the (canonical) input schema; blanks are dropped.

    :raises ValidationFailed: unknown keys, a file field's name, or a value of the wrong type.
    """
    data = _values_object(values, "inputs")
    _reject_unknown_values(schema, data, "Unknown input keys")
    coerced: dict[str, Any] = {}
    for field in schema:
        if field["name"] not in data:
            continue
        if field["kind"] == "file":
            raise ValidationFailed(
                "File fields are not part of inputs JSON",
                details={"field": field["name"], "kind": "file"},
            )
        value = _coerce(_Target(field, "input"), data[field["name"]])
        if value is not None:
            coerced[field["name"]] = value
    return coerced


def coerce_settings_values(
    schema: Sequence[Mapping[str, Any]] | None, values: object
) -> dict[str, Any]:
    """Return user settings coerced to the (canonical) settings schema; blanks are dropped.

    :raises ValidationFailed: unknown keys or a value of the wrong type.
    """
    data = _values_object(values, "settings")
    _reject_unknown_values(schema or [], data, "Unknown settings keys")
    coerced: dict[str, Any] = {}
    for field in schema or []:
        if field["name"] not in data:
            continue
        value = _coerce(_Target(field, "settings"), data[field["name"]])
        if value is not None:
            coerced[field["name"]] = value
    return coerced


def _values_object(values: object, what: str) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValidationFailed(f"{what} must be a JSON object")
    return values


def _reject_unknown_values(
    schema: Sequence[Mapping[str, Any]], data: dict[str, Any], message: str
) -> None:
    names = {field["name"] for field in schema}
    unknown = sorted(str(key) for key in data if key not in names)
    if unknown:
        raise ValidationFailed(message, details={"unknown_keys": unknown})


def _coerce(target: _Target, raw: object) -> Any:
    """Return the coerced value, or None when it is to be left out (null or blank)."""
    if raw is None:
        return None
    return _COERCERS[target.kind](target, raw)


def _string_value(target: _Target, raw: object) -> str | None:
    if not isinstance(raw, str):
        raise target.error("expected string")
    # Inputs are trimmed; settings keep the user's text as typed (original behaviour).
    value = raw.strip() if target.scope == "input" else raw
    return value or None


def _integer_value(target: _Target, raw: object) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        raise target.error("expected integer")
    text = raw.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise target.error("expected integer") from None


def _number_value(target: _Target, raw: object) -> int | float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise target.error("expected number")
    if isinstance(raw, str):
        if not raw.strip():
            return None
        try:
            raw = float(raw.strip())
        except ValueError:
            raise target.error("expected number") from None
    # NaN and the infinities are not JSON: they would break hashing and the runner's input file.
    if isinstance(raw, float) and not math.isfinite(raw):
        raise target.error("expected number")
    return raw


def _boolean_value(target: _Target, raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word == "":
        return None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise target.error("expected boolean")


def _enum_value(target: _Target, raw: object) -> str | None:
    if not isinstance(raw, str):
        raise target.error("expected enum value")
    value = raw.strip()
    if value and value not in target.options:
        raise target.error("unknown enum option")
    return value or None


def _multi_enum_value(target: _Target, raw: object) -> list[str]:
    if not isinstance(raw, list):
        raise target.error("expected list of enum values")
    chosen: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise target.error("expected list of enum values")
        value = item.strip()
        if not value:
            raise target.error("blank option")
        if value not in target.options:
            raise target.error("unknown enum option")
        chosen.append(value)
    return list(dict.fromkeys(chosen))


_COERCERS: dict[str, Callable[[_Target, object], Any]] = {
    "string": _string_value,
    "text": _string_value,
    "integer": _integer_value,
    "number": _number_value,
    "boolean": _boolean_value,
    "enum": _enum_value,
    "multi_enum": _multi_enum_value,
}
