"""Validation and canonical form of a tool's `input_schema` and `settings_schema` (behaviour §3)."""

import json
from collections import Counter
from typing import Any

from django.conf import settings

from apps.core.exceptions import ValidationFailed

INPUT_KINDS = ("string", "text", "integer", "number", "boolean", "enum", "file")
SETTINGS_KINDS = ("string", "text", "integer", "number", "boolean", "enum", "multi_enum")

_BASE_KEYS = frozenset({"kind", "name", "label"})
_EXTRA_KEYS = {
    "enum": frozenset({"options"}),
    "multi_enum": frozenset({"options"}),
    "file": frozenset({"min", "max", "accept"}),
}
_OPTION_KEYS = frozenset({"value", "label"})

_Path = tuple[str | int, ...]


class _Issues:
    """Collects every problem of one schema, so a caller sees all of them at once."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.items: list[dict[str, Any]] = []

    def add(self, path: _Path | None, message: str, **details: Any) -> None:
        issue: dict[str, Any] = {
            "schema": self.schema,
            "path": None if path is None else json_pointer(path),
            "message": message,
        }
        if details:
            issue["details"] = details
        self.items.append(issue)


def json_pointer(path: _Path) -> str:
    """Return the RFC 6901 pointer of `path` (`~` and `/` escaped), e.g. `/0/options/1/value`."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def canonical_json(value: Any) -> bytes:
    """Encode `value` as sorted-key, whitespace-free UTF-8 JSON: the input of hashes and sizes.

    :raises ValidationFailed: the value is not JSON (NaN, infinities, foreign types, too deep).
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError, RecursionError):
        raise ValidationFailed("The value cannot be encoded as JSON.") from None
    return text.encode("utf-8")


def _max_files(max_files: int | None) -> int:
    # A file field may not ask for more files than an upload may carry.
    return settings.UPLOAD_MAX_FILES if max_files is None else max_files


# Whole schemas


def normalize_input_schema(raw: object, *, max_files: int | None = None) -> list[dict[str, Any]]:
    """Return the canonical form of an input schema (`[]` means no form and no file picker).

    :raises ValidationFailed: with `details.issues` listing every problem found.
    """
    issues = _Issues("input_schema")
    fields = _input_schema(raw, issues, _max_files(max_files))
    _raise_if_any(issues)
    return fields


def normalize_settings_schema(raw: object) -> list[dict[str, Any]] | None:
    """Return the canonical form of a settings schema; None when the tool has no settings.

    :raises ValidationFailed: with `details.issues` listing every problem found.
    """
    issues = _Issues("settings_schema")
    fields = _settings_schema(raw, issues)
    _raise_if_any(issues)
    return fields


def schema_issues(
    *, input_schema: object, settings_schema: object, max_files: int | None = None
) -> list[dict[str, Any]]:
    """Return the problems of both schemas (input first); never raises for invalid schemas."""
    input_issues, settings_issues = _Issues("input_schema"), _Issues("settings_schema")
    _input_schema(input_schema, input_issues, _max_files(max_files))
    _settings_schema(settings_schema, settings_issues)
    return input_issues.items + settings_issues.items


def validate_schemas(
    *, input_schema: object, settings_schema: object, max_files: int | None = None
) -> dict[str, Any]:
    """Return the validate-schemas answer `{valid, issues}`."""
    issues = schema_issues(
        input_schema=input_schema, settings_schema=settings_schema, max_files=max_files
    )
    return {"valid": not issues, "issues": issues}


def _raise_if_any(issues: _Issues) -> None:
    if not issues.items:
        return
    first = issues.items[0]
    message = f"Invalid {issues.schema}: {first['message']}"
    if first["path"] is not None:
        message += f" (at {first['path']})"
    if len(issues.items) > 1:
        message += f" and {len(issues.items) - 1} more problem(s)"
    raise ValidationFailed(message, details={"issues": issues.items})


def _input_schema(raw: object, issues: _Issues, max_files: int) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        if raw is None:
            issues.add(None, "input_schema is required and must be an array")
        else:
            issues.add(None, "input_schema must be an array")
        return []
    fields = _fields(raw, issues, INPUT_KINDS, max_files)
    file_fields = sum(1 for item in raw if isinstance(item, dict) and item.get("kind") == "file")
    if file_fields > 1:
        issues.add(None, "input_schema can contain at most one file field", file_fields=file_fields)
    return fields


def _settings_schema(raw: object, issues: _Issues) -> list[dict[str, Any]] | None:
    if raw is None or (isinstance(raw, list) and not raw):
        return None
    if not isinstance(raw, list):
        issues.add(None, "settings_schema must be an array or null")
        return None
    return _fields(raw, issues, SETTINGS_KINDS, settings.UPLOAD_MAX_FILES)


def _fields(
    raw: list[Any], issues: _Issues, kinds: tuple[str, ...], max_files: int
) -> list[dict[str, Any]]:
    fields = [_field(item, (index,), issues, kinds, max_files) for index, item in enumerate(raw)]
    names = Counter(field["name"] for field in fields if field.get("name"))
    duplicates = sorted(name for name, count in names.items() if count > 1)
    if duplicates:
        issues.add(None, f"{issues.schema} contains duplicate field names", duplicates=duplicates)
    return fields


# One field


def _field(
    item: object, path: _Path, issues: _Issues, kinds: tuple[str, ...], max_files: int
) -> dict[str, Any]:
    if not isinstance(item, dict):
        issues.add(path, "field must be an object")
        return {}
    kind = _kind(item, path, issues, kinds)
    field: dict[str, Any] = {
        "kind": kind,
        "name": _text(item, "name", path, issues),
        "label": _text(item, "label", path, issues),
    }
    if kind is None:
        return field
    _reject_unknown_keys(item, _BASE_KEYS | _EXTRA_KEYS.get(kind, frozenset()), path, issues)
    if kind in ("enum", "multi_enum"):
        field["options"] = _options(item, path, issues)
    elif kind == "file":
        field.update(_file_limits(item, path, issues, max_files))
    return field


def _kind(item: dict[Any, Any], path: _Path, issues: _Issues, kinds: tuple[str, ...]) -> str | None:
    kind = item.get("kind")
    if isinstance(kind, str) and kind in kinds:
        return kind
    if "kind" not in item:
        issues.add((*path, "kind"), "kind is required")
    else:
        issues.add((*path, "kind"), f"kind must be one of: {', '.join(kinds)}", allowed=list(kinds))
    return None


def _text(item: dict[Any, Any], key: str, path: _Path, issues: _Issues) -> str:
    value = item.get(key)
    if key not in item:
        issues.add((*path, key), f"{key} is required")
    elif not isinstance(value, str):
        issues.add((*path, key), f"{key} must be a string")
    elif not value.strip():
        issues.add((*path, key), f"{key} must not be blank")
    else:
        return value.strip()
    return ""


def _reject_unknown_keys(
    item: dict[Any, Any], allowed: frozenset[str], path: _Path, issues: _Issues
) -> None:
    for key in item:
        if key not in allowed:
            issues.add((*path, str(key)), f"unknown key {key!r}", allowed=sorted(allowed))


def _options(item: dict[Any, Any], path: _Path, issues: _Issues) -> list[dict[str, str]]:
    options_path = (*path, "options")
    raw = item.get("options")
    if "options" not in item:
        issues.add(options_path, "options is required")
        return []
    if not isinstance(raw, list):
        issues.add(options_path, "options must be an array")
        return []
    if not raw:
        issues.add(options_path, "options must not be empty")
        return []
    options = [_option(option, (*options_path, index), issues) for index, option in enumerate(raw)]
    seen: set[str] = set()
    for index, option in enumerate(options):
        value = option["value"]
        if value in seen:
            issues.add((*options_path, index, "value"), f"duplicate option value {value!r}")
        elif value:
            seen.add(value)
    return options


def _option(raw: object, path: _Path, issues: _Issues) -> dict[str, str]:
    if not isinstance(raw, dict):
        issues.add(path, "option must be an object")
        return {"value": "", "label": ""}
    _reject_unknown_keys(raw, _OPTION_KEYS, path, issues)
    return {"value": _text(raw, "value", path, issues), "label": _text(raw, "label", path, issues)}


def _file_limits(
    item: dict[Any, Any], path: _Path, issues: _Issues, max_files: int
) -> dict[str, Any]:
    low = _count(item, "min", 0, path, issues)
    high = _count(item, "max", 1, path, issues)
    if low is not None and high is not None and high < low:
        issues.add((*path, "max"), "max must be >= min")
    for key, value in (("min", low), ("max", high)):
        if value is not None and value > max_files:
            issues.add(
                (*path, key),
                f"{key} must be <= {max_files} (the server's upload limit)",
                limit=max_files,
            )
    return {"accept": _accept(item, path, issues), "min": low, "max": high}


def _count(
    item: dict[Any, Any], key: str, minimum: int, path: _Path, issues: _Issues
) -> int | None:
    value = item.get(key)
    if key not in item:
        issues.add((*path, key), f"{key} is required")
    elif isinstance(value, bool) or not isinstance(value, int):
        issues.add((*path, key), f"{key} must be an integer")
    elif value < minimum:
        issues.add((*path, key), f"{key} must be >= {minimum}")
    else:
        return value
    return None


def _accept(item: dict[Any, Any], path: _Path, issues: _Issues) -> list[str] | None:
    raw = item.get("accept")
    if raw is None:
        return None
    if not isinstance(raw, list):
        issues.add((*path, "accept"), "accept must be an array of strings or null")
        return None
    for index, entry in enumerate(raw):
        if not isinstance(entry, str):
            issues.add((*path, "accept", index), "accept entries must be strings")
    entries = (entry.strip() for entry in raw if isinstance(entry, str))
    return list(dict.fromkeys(entry for entry in entries if entry)) or None
