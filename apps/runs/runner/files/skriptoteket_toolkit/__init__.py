"""Helpers for tool scripts: read what the platform passed in, with safe defaults.

None of these raise on missing or malformed input; they return an empty value instead.

    from skriptoteket_toolkit import get_action_parts, list_input_files, read_inputs, read_settings

    action_id, action_input, state = get_action_parts()
    inputs = action_input if action_id else read_inputs()
    settings = read_settings()
    paths = [item["path"] for item in list_input_files()]
"""

import json
import os
from typing import Any, TypedDict

__all__ = [
    "ActionPayload",
    "InputFile",
    "get_action_parts",
    "list_input_files",
    "read_action",
    "read_input_manifest",
    "read_inputs",
    "read_memory",
    "read_settings",
]


class InputFile(TypedDict):
    name: str
    path: str
    bytes: int


class ActionPayload(TypedDict):
    action_id: str
    input: dict[str, Any]
    state: dict[str, Any]


def _json_from_env(name: str) -> object:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON, huge numbers, absurd nesting
        return None


def _dict_or_empty(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_inputs() -> dict[str, Any]:
    """The pre-run form values (SKRIPTOTEKET_INPUTS); {} when missing or not a JSON object."""
    return _dict_or_empty(_json_from_env("SKRIPTOTEKET_INPUTS"))


def read_input_manifest() -> dict[str, Any]:
    """The input file manifest (SKRIPTOTEKET_INPUT_MANIFEST); {"files": []} when unusable."""
    manifest = _json_from_env("SKRIPTOTEKET_INPUT_MANIFEST")
    return manifest if isinstance(manifest, dict) else {"files": []}


def _as_input_file(item: object) -> InputFile | None:
    if not isinstance(item, dict):
        return None
    name, path, size = item.get("name"), item.get("path"), item.get("bytes")
    # bool is an int subclass; a manifest saying `"bytes": true` is malformed, not 1 byte.
    if not isinstance(name, str) or not isinstance(path, str):
        return None
    if not isinstance(size, int) or isinstance(size, bool):
        return None
    return {"name": name, "path": path, "bytes": size}


def list_input_files() -> list[InputFile]:
    """The manifest's well-formed entries ({name, path, bytes}); malformed ones are skipped."""
    entries = read_input_manifest().get("files")
    if not isinstance(entries, list):
        return []
    files = [_as_input_file(item) for item in entries]
    return [item for item in files if item is not None]


def read_action() -> ActionPayload | None:
    """The action of an action run (SKRIPTOTEKET_ACTION), or None when this is not one.

    A missing, non-string or blank action_id means "not an action run"; an input or state
    that is not an object becomes {}.
    """
    payload = _json_from_env("SKRIPTOTEKET_ACTION")
    if not isinstance(payload, dict):
        return None
    action_id = payload.get("action_id")
    if not isinstance(action_id, str) or not action_id.strip():
        return None
    return {
        "action_id": action_id.strip(),
        "input": _dict_or_empty(payload.get("input")),
        "state": _dict_or_empty(payload.get("state")),
    }


def get_action_parts() -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """(action_id, input, state) of an action run; (None, {}, {}) otherwise."""
    action = read_action()
    if action is None:
        return None, {}, {}
    return action["action_id"], action["input"], action["state"]


def read_memory() -> dict[str, Any]:
    """The JSON object in the memory file (SKRIPTOTEKET_MEMORY_PATH); {} when unusable."""
    path = os.environ.get("SKRIPTOTEKET_MEMORY_PATH", "").strip()
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as memory_file:
            return _dict_or_empty(json.load(memory_file))
    except (OSError, ValueError, RecursionError):
        return {}


def read_settings() -> dict[str, Any]:
    """The user's tool settings (memory["settings"]); {} when missing or not an object."""
    return _dict_or_empty(read_memory().get("settings"))
