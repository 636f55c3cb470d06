"""result.json contract v2: what the in-sandbox runner hands back, read as untrusted input.

The tool controls every byte of the run folder, so result.json may be huge, malformed, a symlink
to a host secret or a FIFO that never delivers data. Only the envelope is checked here; the
content of outputs and next_actions is the UI normaliser's job.
"""

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

RunnerStatus = Literal["succeeded", "failed", "timed_out"]
RUNNER_STATUSES: tuple[RunnerStatus, ...] = ("succeeded", "failed", "timed_out")
CONTRACT_VERSION = 2
MAX_JSON_DEPTH = 64
OUTPUT_ROOT = "output"


class ContractViolation(Exception):
    """result.json breaks the contract. The message names the rule, never the file's content."""


@dataclass(frozen=True)
class RunnerOutput:
    status: RunnerStatus
    error_summary: str | None
    outputs: list[Any]
    next_actions: list[Any]
    state: dict[str, Any] | None
    artifacts: list[dict[str, Any]]


def read_result(path: Path, *, max_bytes: int) -> RunnerOutput:
    """Read and check the runner's result.json; any deviation raises ContractViolation."""
    raw = _read_bytes(path, max_bytes=max_bytes)
    document = _parse_json(raw)
    return _check_envelope(document)


def normalize_relative_path(path: str) -> str:
    """POSIX relative path with "." and empty parts dropped; absolute paths and ".." rejected."""
    if not isinstance(path, str):
        raise ContractViolation("path is not a string")
    if "\x00" in path or "\\" in path:
        raise ContractViolation("path contains a NUL byte or a backslash")
    if path.startswith("/"):
        raise ContractViolation("path is absolute")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ContractViolation("path contains '..'")
    if not parts:
        raise ContractViolation("path is empty")
    return "/".join(parts)


def _read_bytes(path: Path, *, max_bytes: int) -> bytes:
    # O_NOFOLLOW: a symlink to /etc/shadow fails with ELOOP instead of being read by the worker.
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ContractViolation("result.json is missing") from None
    except OSError as exc:
        raise ContractViolation(f"result.json cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ContractViolation("result.json is not a regular file")
        if info.st_size > max_bytes:
            raise ContractViolation(f"result.json is larger than {max_bytes} bytes")
        # Read one byte past the cap: the file may still grow if a stray process writes to it.
        data = _read_at_most(fd, max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ContractViolation(f"result.json is larger than {max_bytes} bytes")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContractViolation("result.json is not valid UTF-8") from None
    try:
        document = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except ContractViolation:
        raise
    except RecursionError:
        raise ContractViolation(f"result.json nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        # JSONDecodeError, and integers longer than Python's int conversion limit.
        raise ContractViolation("result.json is not valid JSON") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise ContractViolation(f"result.json nests deeper than {MAX_JSON_DEPTH} levels")
    return document


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The runner writes with json.dump, which never repeats a key; a repeat means the file was
    # forged, and which copy "wins" differs between parsers.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ContractViolation("result.json repeats a key in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ContractViolation(f"result.json contains {name}, which is not JSON")


def _depth(document: Any) -> int:
    """Nesting depth (a scalar is 0, {} or [] is 1), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: list[Any] = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            deepest = max(deepest, level)
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _check_envelope(document: Any) -> RunnerOutput:
    if not isinstance(document, dict):
        raise ContractViolation("result.json is not a JSON object")
    version = document.get("contract_version")
    # bool is a subclass of int and True == 1; only a real integer 2 counts.
    if type(version) is not int or version != CONTRACT_VERSION:
        raise ContractViolation(f"contract_version is not {CONTRACT_VERSION}")
    status = document.get("status")
    if status not in RUNNER_STATUSES:
        raise ContractViolation("status is not one of " + ", ".join(RUNNER_STATUSES))
    if "error_summary" not in document:
        raise ContractViolation("error_summary is missing")
    error_summary = document["error_summary"]
    if error_summary is not None and not isinstance(error_summary, str):
        raise ContractViolation("error_summary is not a string or null")
    state = document.get("state")
    if state is not None and not isinstance(state, dict):
        raise ContractViolation("state is not an object or null")
    return RunnerOutput(
        status=cast(RunnerStatus, status),
        error_summary=error_summary,
        outputs=_optional_list(document, "outputs"),
        next_actions=_optional_list(document, "next_actions"),
        state=state,
        artifacts=[_check_artifact(entry) for entry in _optional_list(document, "artifacts")],
    )


def _optional_list(document: dict[str, Any], key: str) -> list[Any]:
    # The runner always writes these keys; a missing one is read as empty, a wrong type is not.
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ContractViolation(f"{key} is not a list")
    return value


def _check_artifact(entry: Any) -> dict[str, Any]:
    """The reported artifacts are advisory (the output folder is the truth) but must be sane."""
    if not isinstance(entry, dict):
        raise ContractViolation("an artifacts entry is not an object")
    size = entry.get("bytes")
    if type(size) is not int or size < 0:
        raise ContractViolation("an artifacts entry has no non-negative integer bytes")
    path = entry.get("path")
    if not isinstance(path, str):
        raise ContractViolation("an artifacts entry has no string path")
    normalised = normalize_relative_path(path)
    parts = normalised.split("/")
    if parts[0] != OUTPUT_ROOT or len(parts) < 2:
        raise ContractViolation(f"an artifact path is not under '{OUTPUT_ROOT}/'")
    return {"path": normalised, "bytes": size}
