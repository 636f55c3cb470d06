"""The program every sandbox runs: load the tool, call its entrypoint, write the result.

Runs inside the sandbox as `python -I /runner/_runner.py` (standard library only, Python 3.11+).
Whatever the tool does, it writes /work/result.json (contract version 2) and exits 0; a run
that ends any other way was killed from outside.
"""

import contextlib
import importlib
import importlib.util
import json
import math
import os
import stat
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

RUNNER_DIR = "/runner"
WORK_DIR = Path("/work")
TOOL_MODULE_NAME = "tool_script"
MAX_JSON_DEPTH = 50

JsonObject = dict[str, Any]


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def to_json_value(value: object, depth: int = 0) -> Any:
    """Turn what a tool returned into plain JSON values (see the contract for each rule)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # JSON has no NaN or Infinity; the app's strict parser would reject the whole result.
        return value if math.isfinite(value) else None
    if depth >= MAX_JSON_DEPTH:
        return str(value)
    return _container_to_json(value, depth)


def _container_to_json(value: object, depth: int) -> Any:
    if isinstance(value, dict):
        return {
            key: to_json_value(item, depth + 1)
            for key, item in value.items()
            if isinstance(key, str)
        }
    if isinstance(value, list | tuple):
        return [to_json_value(item, depth + 1) for item in value]
    if isinstance(value, set | frozenset):
        items = [to_json_value(item, depth + 1) for item in value]
        return sorted(items, key=_canonical)
    return str(value)


def _json_objects(value: object) -> list[JsonObject]:
    if not isinstance(value, list):
        return []
    return [to_json_value(item) for item in value if isinstance(item, dict)]


def _json_state(value: object) -> JsonObject | None:
    if not isinstance(value, dict):
        return None
    state: JsonObject = to_json_value(value)
    return state


def ui_fields(returned: object) -> tuple[list[JsonObject], list[JsonObject], JsonObject | None]:
    """Outputs, next actions and state from the entrypoint's return value."""
    if isinstance(returned, str):
        # Tools written for contract v1 return one HTML string.
        outputs = [{"kind": "html_sandboxed", "html": returned}] if returned else []
        return outputs, [], None
    if isinstance(returned, dict):
        return (
            _json_objects(returned.get("outputs")),
            _json_objects(returned.get("next_actions")),
            _json_state(returned.get("state")),
        )
    raise TypeError("Entrypoint must return a str (HTML) or a dict (contract v2 payload).")


def _load_tool(script_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(TOOL_MODULE_NAME, script_path)
    if spec is None or spec.loader is None:
        raise RuntimeError("Failed to load tool script (invalid spec).")
    module = importlib.util.module_from_spec(spec)
    # Registered so that dataclasses, pickle and typing can find the module by name.
    sys.modules[TOOL_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def _list_artifacts(output_dir: Path) -> list[JsonObject]:
    artifacts = []
    for folder, _dirs, files in os.walk(output_dir, followlinks=False):
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                relative = path.relative_to(WORK_DIR).as_posix()
                artifacts.append({"path": relative, "bytes": info.st_size})
    return sorted(artifacts, key=lambda artifact: artifact["path"])


def _result(status: str, error_summary: str | None, **fields: Any) -> JsonObject:
    return {
        "contract_version": 2,
        "status": status,
        "error_summary": error_summary,
        "outputs": fields.get("outputs", []),
        "next_actions": fields.get("next_actions", []),
        "state": fields.get("state"),
        "artifacts": fields.get("artifacts", []),
    }


def _user_error_class() -> type[BaseException] | None:
    try:
        module = importlib.import_module("tool_errors")
    except ImportError:
        return None
    error_class: type[BaseException] = module.ToolUserError
    return error_class


def _failure(error: BaseException) -> JsonObject:
    user_error = _user_error_class()
    if user_error is not None and isinstance(error, user_error):
        message = getattr(error, "safe_message", None) or str(error).strip()
        return _result("failed", message or "Ett fel inträffade.")
    with contextlib.suppress(Exception):  # a broken stderr must not stop the result
        traceback.print_exception(error, file=sys.stderr)
    return _result("failed", f"Tool execution failed ({type(error).__name__}).")


def run_tool() -> JsonObject:
    """Call the tool's entrypoint and describe the outcome as a contract v2 result."""
    script_path = Path(os.environ.get("SKRIPTOTEKET_SCRIPT_PATH", "/work/script.py"))
    entrypoint = os.environ.get("SKRIPTOTEKET_ENTRYPOINT", "run_tool").strip()
    input_dir = os.environ.get("SKRIPTOTEKET_INPUT_DIR", "/work/input")
    output_dir = Path(os.environ.get("SKRIPTOTEKET_OUTPUT_DIR", "/work/output"))
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        module = _load_tool(script_path)
        function = getattr(module, entrypoint, None)
        if function is None or not callable(function):
            raise RuntimeError(f"Entrypoint not found: {entrypoint}")
        outputs, next_actions, state = ui_fields(function(input_dir, str(output_dir)))
        artifacts = _list_artifacts(output_dir)
    except BaseException as error:  # the runner boundary: every failure is a result
        return _failure(error)
    return _result(
        "succeeded",
        None,
        outputs=outputs,
        next_actions=next_actions,
        state=state,
        artifacts=artifacts,
    )


def _encode(result: JsonObject) -> bytes:
    try:
        return json.dumps(result, ensure_ascii=False).encode("utf-8", errors="replace")
    except BaseException as error:  # e.g. an int too long to print
        return json.dumps(_failure(error), ensure_ascii=False).encode("utf-8", errors="replace")


def write_result(result: JsonObject) -> None:
    path = Path(os.environ.get("SKRIPTOTEKET_RESULT_PATH", "/work/result.json"))
    data = _encode(result)
    try:
        # The tool may have left a symlink or folder here; the app must get a plain file.
        if path.is_symlink() or path.is_file():
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as result_file:
            result_file.write(data)
    except OSError as error:
        print(f"runner: could not write {path}: {error}", file=sys.stderr)  # noqa: T201


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # the tool may have closed or replaced them
            if stream is not None:
                stream.flush()


def main() -> None:
    sys.path.insert(0, RUNNER_DIR)  # `python -I` leaves the script's folder off sys.path
    # `-I` ignores PYTHONDONTWRITEBYTECODE; __pycache__ folders would land in /work and /tmp.
    sys.dont_write_bytecode = True
    with contextlib.suppress(OSError):  # bwrap makes HOME; a Docker container does not
        os.makedirs(os.environ.get("HOME", "/tmp/home"), exist_ok=True)  # noqa: S108
    runner_pid = os.getpid()
    result = run_tool()
    if os.getpid() == runner_pid:  # a process the tool forked may return here too; stay quiet
        write_result(result)
    _flush_streams()
    # Skip interpreter shutdown: the tool's non-daemon threads and atexit hooks must not keep
    # the run alive or change the exit code.
    os._exit(0)


if __name__ == "__main__":
    main()
