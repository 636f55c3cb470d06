"""Normalisation of the tool's `outputs` list (behaviour §1.10 step 2, §2.3 output shapes)."""

from collections.abc import Callable
from typing import Any

from apps.runs.ui_payload.notices import Invalid, Problems
from apps.runs.ui_payload.policy import OUTPUT_KINDS, UiPolicy
from apps.runs.ui_payload.values import (
    JsonCaps,
    cap_json,
    clean_text,
    is_scalar,
    short,
    shrink_json,
    truncate_utf8,
    type_name,
)

NOTICE_LEVELS = ("info", "warning", "error")

_Builder = Callable[[dict[str, Any], UiPolicy, list[str]], dict[str, Any]]


def normalize_outputs(
    raw: object, policy: UiPolicy, notices: list[str]
) -> tuple[list[dict[str, Any]], int]:
    """Return the tool outputs that can be shown, and how many entries lay beyond `max_outputs`.

    Only the first `max_outputs` entries are looked at, so a hostile list costs nothing more.
    Problems are appended to `notices` as messages (one per kind of problem).
    """
    if raw is None:
        return [], 0
    if not isinstance(raw, list):
        notices.append(f"outputs must be an array, not {type_name(raw)}; no tool output is shown.")
        return [], 0
    invalid = Problems("Invalid outputs were dropped")
    disallowed = Problems("Outputs of a kind not allowed for this tool were dropped")
    shortened = Problems("Outputs were shortened to fit the limits")
    vega_lite = 0
    kept: list[dict[str, Any]] = []
    for index, item in enumerate(raw[: policy.max_outputs]):
        where = f"outputs[{index}]"
        kind = item.get("kind") if isinstance(item, dict) else None
        if kind == "vega_lite":
            vega_lite += 1
            continue
        if isinstance(kind, str) and kind in OUTPUT_KINDS - policy.allowed_output_kinds:
            disallowed.add(f"{where}: {kind}")
            continue
        cuts: list[str] = []
        try:
            kept.append(_output(item, policy, cuts))
        except Invalid as problem:
            invalid.add(f"{where}: {problem}")
            continue
        if cuts:
            shortened.add(f"{where}: {', '.join(cuts)}")
    for problems in (invalid, disallowed, shortened):
        problems.report(notices)
    if vega_lite:
        notices.append(
            f"vega_lite outputs are blocked until platform restrictions are implemented; "
            f"{vega_lite} dropped."
        )
    return kept, max(0, len(raw) - policy.max_outputs)


def _output(item: object, policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise Invalid(f"an output must be an object, not {type_name(item)}")
    kind = item.get("kind")
    builder = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise Invalid(f"unknown kind {short(kind)}")
    return builder(item, policy, cuts)


def _notice(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    level = item.get("level")
    if level not in NOTICE_LEVELS:
        raise Invalid(f"notice level must be one of {', '.join(NOTICE_LEVELS)}")
    message = _text(item, "message", policy.notice_max_bytes, cuts)
    return {"kind": "notice", "level": level, "message": message}


def _markdown(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    return {
        "kind": "markdown",
        "markdown": _text(item, "markdown", policy.markdown_max_bytes, cuts),
    }


def _html(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    return {
        "kind": "html_sandboxed",
        "html": _text(item, "html", policy.html_sandboxed_max_bytes, cuts),
    }


def _json(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    if "value" not in item:
        raise Invalid("a json output needs a value")
    title = _title(item, policy, cuts)
    caps = JsonCaps.of(policy)
    value, capped = cap_json(item["value"], caps)
    if capped:
        cuts.append("value cut to the JSON depth, key and array limits")
    fits, smaller = shrink_json(value, policy.json_max_bytes, caps)
    if not fits:
        raise Invalid(f"json value does not fit in {policy.json_max_bytes} bytes")
    if smaller is not value:
        cuts.append(f"value shrunk to {policy.json_max_bytes} bytes")
    return {"kind": "json", "title": title, "value": smaller}


def _text(item: dict[str, Any], key: str, max_bytes: int, cuts: list[str]) -> str:
    """Return the non-blank string `item[key]` cut to `max_bytes` on a character boundary."""
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{key} must be a non-blank string")
    text = truncate_utf8(value, max_bytes)
    if text != clean_text(value):
        cuts.append(f"{key} cut to {max_bytes} bytes")
    if not text.strip():
        raise Invalid(f"{key} is blank once cut to {max_bytes} bytes")
    return text


def _title(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> str | None:
    """Return the optional title; titles share the notice cap (the policy has no own cap)."""
    title = item.get("title")
    if title is None:
        return None
    if not isinstance(title, str):
        raise Invalid("title must be a string")
    text = truncate_utf8(title, policy.notice_max_bytes)
    if text != clean_text(title):
        cuts.append(f"title cut to {policy.notice_max_bytes} bytes")
    return text


# Tables


def _table(item: dict[str, Any], policy: UiPolicy, cuts: list[str]) -> dict[str, Any]:
    title = _title(item, policy, cuts)
    columns = _columns(item.get("columns"), policy, cuts)
    raw_rows = item.get("rows")
    if not isinstance(raw_rows, list):
        raise Invalid("table rows must be an array")
    if len(raw_rows) > policy.table_max_rows:
        cuts.append(f"rows cut to {policy.table_max_rows}")
    cells = _CellCounts()
    rows = [_row(row, columns, policy, cells) for row in raw_rows[: policy.table_max_rows]]
    if cells.cut:
        cuts.append(f"{cells.cut} cell(s) cut to {policy.table_cell_max_bytes} bytes")
    if cells.dropped:
        cuts.append(f"{cells.dropped} cell(s) dropped (not a string, number, boolean or null)")
    return {"kind": "table", "title": title, "columns": columns, "rows": rows}


def _columns(raw: object, policy: UiPolicy, cuts: list[str]) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise Invalid("table columns must be a non-empty array")
    if len(raw) > policy.table_max_columns:
        cuts.append(f"columns cut to {policy.table_max_columns}")
    columns: list[dict[str, str]] = []
    seen: set[str] = set()
    for column in raw[: policy.table_max_columns]:
        key = column.get("key") if isinstance(column, dict) else None
        label = column.get("label") if isinstance(column, dict) else None
        if not isinstance(key, str) or not key.strip() or not isinstance(label, str):
            raise Invalid("a column must be an object with a non-blank key and a label")
        # Keys are matched against row keys, so they are never cut: a key over the cell cap is
        # an error, not something to shorten.
        if key != clean_text(key):
            raise Invalid("a column key must be valid UTF-8 text")
        if key != truncate_utf8(key, policy.table_cell_max_bytes):
            raise Invalid(f"a column key is longer than {policy.table_cell_max_bytes} bytes")
        if key in seen:
            raise Invalid(f"duplicate column key {short(key)}")
        seen.add(key)
        columns.append({"key": key, "label": truncate_utf8(label, policy.table_cell_max_bytes)})
    return columns


class _CellCounts:
    def __init__(self) -> None:
        self.cut = 0
        self.dropped = 0


def _row(
    row: object, columns: list[dict[str, str]], policy: UiPolicy, cells: _CellCounts
) -> dict[str, Any]:
    """Return the row's cells of declared columns, in column order; other keys are ignored."""
    if not isinstance(row, dict):
        raise Invalid("table rows must be objects")
    result: dict[str, Any] = {}
    for column in columns:
        key = column["key"]
        if key not in row:
            continue
        value = row[key]
        if isinstance(value, str):
            text = truncate_utf8(value, policy.table_cell_max_bytes)
            if text != clean_text(value):
                cells.cut += 1
            result[key] = text
        elif is_scalar(value):
            result[key] = value
        else:
            cells.dropped += 1
    return result


_BUILDERS: dict[str, _Builder] = {
    "notice": _notice,
    "markdown": _markdown,
    "html_sandboxed": _html,
    "table": _table,
    "json": _json,
}
