"""Text and JSON-value helpers of the normaliser: UTF-8 cuts, canonical sizes, JSON caps."""

import math
from dataclasses import dataclass, replace
from typing import Any

from apps.runs.ui_payload.policy import UiPolicy
from apps.tools.schemas import canonical_json

# Python refuses to print ints of more than 4300 digits (sys.int_info.default_max_str_digits), so
# canonical_json would fail on them. json.loads cannot produce such ints either; this only guards
# callers that hand in Python objects.
_MAX_INT_BITS = 4096


def clean_text(text: str) -> str:
    """Return `text` encodable as UTF-8.

    JSON may carry lone surrogates (`"\\ud800"`), which json.loads accepts and UTF-8 cannot
    encode; each becomes one U+FFFD so that sizing and storing never fail. A round trip through
    UTF-16 does that, and joins a split surrogate pair back into its character.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Return the longest prefix of `text` whose UTF-8 encoding fits in `max_bytes`."""
    data = clean_text(text).encode("utf-8")
    if len(data) <= max_bytes:
        return clean_text(text)
    # Cutting the bytes may split a multibyte character; "ignore" drops that partial tail only,
    # because the rest is valid UTF-8 we just encoded.
    return data[:max_bytes].decode("utf-8", "ignore")


def json_size(value: Any) -> int:
    """Return the size in bytes of `value` as canonical JSON (the unit of every budget)."""
    return len(canonical_json(value))


def is_json_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and _printable_int(value)


def is_json_number(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return is_json_int(value)


def is_scalar(value: object) -> bool:
    """Return whether `value` is a JSON string, number, boolean or null (a table cell value)."""
    return value is None or isinstance(value, bool | str) or is_json_number(value)


def short(value: object, limit: int = 40) -> str:
    """Return a short, safe description of an untrusted value for a notice."""
    if isinstance(value, str):
        text = clean_text(value)
        return repr(text if len(text) <= limit else text[:limit] + "...")
    if value is None or isinstance(value, bool) or is_json_number(value):
        return repr(value)
    return f"a value of type {type_name(value)}"


_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: bool is an int subclass
    (int, "number"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def type_name(value: object) -> str:
    """Return the JSON name of the type of `value` (what a tool author recognises)."""
    for python_type, name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _printable_int(value: int) -> bool:
    return value.bit_length() <= _MAX_INT_BITS


# JSON caps


@dataclass(frozen=True)
class JsonCaps:
    """Limits on one JSON value; `max_string_bytes` is only used when shrinking to a byte cap."""

    max_depth: int
    max_keys: int
    max_array_length: int
    max_string_bytes: int | None = None

    @classmethod
    def of(cls, policy: UiPolicy) -> "JsonCaps":
        return cls(policy.json_max_depth, policy.json_max_keys, policy.json_max_array_length)


def cap_json(value: object, caps: JsonCaps) -> tuple[Any, bool]:
    """Return `value` within `caps` and whether anything was cut or replaced.

    Objects keep their first `max_keys` keys in sorted order (so the result does not depend on
    the input's key order), arrays their first `max_array_length` items; containers nested
    deeper than `max_depth` and values that are not JSON (NaN, foreign objects) become null.
    """
    capper = _Capper(caps)
    return capper.value(value, 0), capper.changed


class _Capper:
    def __init__(self, caps: JsonCaps) -> None:
        self.caps = caps
        self.changed = False

    def value(self, value: object, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict | list):
            if depth >= self.caps.max_depth:
                self.changed = True
                return None
            if isinstance(value, dict):
                return self.object(value, depth + 1)
            return self.array(value, depth + 1)
        if is_scalar(value):
            return value
        self.changed = True
        return None

    def text(self, value: str) -> str:
        text = clean_text(value)
        if self.caps.max_string_bytes is not None:
            text = truncate_utf8(text, self.caps.max_string_bytes)
        if text != value:
            self.changed = True
        return text

    def object(self, value: dict[Any, Any], depth: int) -> dict[str, Any]:
        keys = sorted(key for key in value if isinstance(key, str))
        if len(keys) != len(value) or len(keys) > self.caps.max_keys:
            self.changed = True
        result: dict[str, Any] = {}
        for key in keys[: self.caps.max_keys]:
            name = self.text(key)
            # Two keys can only collide after cleaning lone surrogates; the first (sorted) wins.
            if name not in result:
                result[name] = self.value(value[key], depth)
        return result

    def array(self, value: list[Any], depth: int) -> list[Any]:
        if len(value) > self.caps.max_array_length:
            self.changed = True
        return [self.value(item, depth) for item in value[: self.caps.max_array_length]]


def shrink_json(value: Any, max_bytes: int, caps: JsonCaps) -> tuple[bool, Any]:
    """Return (True, a version of `value` that fits `max_bytes`) or (False, None).

    `value` must already be within `caps`. Each round halves the item and string limits and
    re-caps the original, so the result is deterministic and keeps the start of everything.
    """
    if json_size(value) <= max_bytes:
        return True, value
    items = max(caps.max_keys, caps.max_array_length)
    text = max_bytes
    while items > 1 or text > 1:
        items, text = max(1, items // 2), max(1, text // 2)
        smaller = replace(caps, max_keys=items, max_array_length=items, max_string_bytes=text)
        candidate, _ = cap_json(value, smaller)
        if json_size(candidate) <= max_bytes:
            return True, candidate
    return False, None
