"""Normalisation of the tool's `state` (behaviour §1.10 step 1)."""

import bisect
from typing import Any

from apps.runs.ui_payload.notices import MAX_EXAMPLES
from apps.runs.ui_payload.policy import UiPolicy
from apps.runs.ui_payload.values import JsonCaps, cap_json, clean_text, json_size, short, type_name


def normalize_state(raw: object, policy: UiPolicy, notices: list[str]) -> dict[str, Any] | None:
    """Return the state to keep: keys sorted, values within the JSON caps, the whole in budget.

    None means the tool gave no usable state (null, or not an object); the caller decides what
    that does to the session.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        notices.append(f"state must be an object or null, not {type_name(raw)}; it was discarded.")
        return None
    entries = _capped_entries(raw, policy, notices)
    kept = _fitting_prefix(entries, policy.state_max_bytes)
    if kept < len(entries):
        notices.append(
            f"state exceeded {policy.state_max_bytes} bytes; kept the first {kept} of "
            f"{len(entries)} keys in alphabetical order."
        )
    return dict(entries[:kept])


def _capped_entries(
    raw: dict[Any, Any], policy: UiPolicy, notices: list[str]
) -> list[tuple[str, Any]]:
    caps = JsonCaps.of(policy)
    values: dict[str, Any] = {}
    capped: list[str] = []
    bad_keys: list[object] = []
    for key in sorted(raw, key=str):
        name = clean_text(key) if isinstance(key, str) else ""
        # A blank key, or a second key that reads the same once cleaned, cannot be kept.
        if not name.strip() or name in values:
            bad_keys.append(key)
            continue
        values[name], changed = cap_json(raw[key], caps)
        if changed:
            capped.append(name)
    if bad_keys:
        notices.append(f"state keys must be non-blank, distinct strings; {len(bad_keys)} dropped.")
    if capped:
        examples = ", ".join(short(name) for name in capped[:MAX_EXAMPLES])
        notices.append(
            f"state values were cut to {caps.max_depth} levels, {caps.max_keys} keys per object "
            f"and {caps.max_array_length} array items: {len(capped)} key(s) (e.g. {examples})."
        )
    return sorted(values.items())


def _fitting_prefix(entries: list[tuple[str, Any]], max_bytes: int) -> int:
    """Return how many leading entries fit in `max_bytes` as one canonical JSON object.

    Canonical JSON is compact, so the object's size is exact arithmetic over its members:
    `{` + members joined by `,` + `}`, each member `"key":value`. The sizes of the prefixes grow
    with their length, so a binary search finds the longest one that fits.
    """
    sizes = [json_size(name) + 1 + json_size(value) for name, value in entries]
    totals = [2]  # "{}"
    for count, size in enumerate(sizes):
        totals.append(totals[-1] + size + (1 if count else 0))
    return max(0, bisect.bisect_right(totals, max_bytes) - 1)
