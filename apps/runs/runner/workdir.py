"""The run folder and environment a tool sees, byte-for-byte as the original runner contract.

Inside the sandbox the folder is /work: script.py, memory.json, input/ (uploaded or session
files under their sanitised names), output/ (becomes the artifacts) and result.json (written by
the runner). The backend bind-mounts or copies the folder; it also owns HOME and uid switches.
"""

import json
import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from apps.core.exceptions import ValidationFailed

SANDBOX_WORK = PurePosixPath("/work")
SCRIPT_NAME = "script.py"
MEMORY_NAME = "memory.json"
INPUT_DIR = "input"
OUTPUT_DIR = "output"
RESULT_NAME = "result.json"
MAX_FILENAME_CHARS = 255
# Enough of a long (say, minified) line to see the error; the whole summary is capped later.
_SYNTAX_LINE_WINDOW = 240
_COPY_CHUNK_BYTES = 1 << 20
DUPLICATE_FILENAMES_MESSAGE = "Duplicate input filenames after sanitization; rename files locally."


@dataclass(frozen=True)
class InputFile:
    """A file to place in /work/input/ under `name` (sanitised again on the way in); `open`
    gives its bytes (from the run files storage, which may be on another host)."""

    name: str
    open: Callable[[], IO[bytes]]


def sanitize_filename(name: str) -> str:
    """A user-supplied file name reduced to a safe bare name, or ValidationFailed."""
    if not isinstance(name, str):
        raise ValidationFailed("A file name must be text.")
    cleaned = name.strip()
    if not cleaned:
        raise ValidationFailed("A file name is required.")
    if "/" in cleaned or "\\" in cleaned or "\x00" in cleaned or cleaned in (".", ".."):
        raise ValidationFailed(
            "A file name must be a bare name, not a path.", details={"name": name}
        )
    if len(cleaned) > MAX_FILENAME_CHARS:
        raise ValidationFailed(
            f"A file name must be {MAX_FILENAME_CHARS} characters or less.",
            details={"max_chars": MAX_FILENAME_CHARS},
        )
    try:
        encoded = cleaned.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed("A file name must be valid text.") from None
    # Linux caps a name at 255 bytes; a 255-character name with accented letters exceeds it.
    if len(encoded) > MAX_FILENAME_CHARS:
        raise ValidationFailed(
            f"A file name must be {MAX_FILENAME_CHARS} bytes or less in UTF-8.",
            details={"max_bytes": MAX_FILENAME_CHARS},
        )
    return cleaned


def check_unique_filenames(names: list[str]) -> None:
    """ValidationFailed when two names are the same after sanitisation."""
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in names:
        cleaned = sanitize_filename(name)
        if cleaned in seen and cleaned not in duplicates:
            duplicates.append(cleaned)
        seen.add(cleaned)
    if duplicates:
        raise ValidationFailed(DUPLICATE_FILENAMES_MESSAGE, details={"duplicates": duplicates})


def syntax_error_summary(source: str, filename: str = SCRIPT_NAME) -> str | None:
    """The pre-flight check: compile (never run) the source; a readable summary if it fails."""
    try:
        with warnings.catch_warnings():
            # SyntaxWarnings (such as "\d" in a string) are not errors, even under -W error.
            warnings.simplefilter("ignore")
            compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _describe_syntax_error(exc)
    except UnicodeError:
        return "SyntaxError: source code is not valid UTF-8 text"
    except ValueError:
        # Python before 3.11.4 (or so) raises ValueError, not SyntaxError, for a NUL byte.
        return "SyntaxError: source code cannot contain null bytes"
    except (RecursionError, MemoryError):
        return "SyntaxError: the code is nested too deeply to compile"
    return None


def _describe_syntax_error(exc: SyntaxError) -> str:
    where = ""
    if exc.lineno is not None:
        where = f" (line {exc.lineno}, col {exc.offset})" if exc.offset else f" (line {exc.lineno})"
    heading = f"SyntaxError: {exc.msg}{where}"
    line = (exc.text or "").rstrip("\r\n")
    if not line.strip():
        return heading
    column = max((exc.offset or 1) - 1, 0)
    start = max(0, column - _SYNTAX_LINE_WINDOW // 2)
    shown = line[start : start + _SYNTAX_LINE_WINDOW]
    # Keep tabs in the caret's indent so it lines up wherever the line is displayed.
    indent = "".join(char if char == "\t" else " " for char in shown[: column - start])
    return f"{heading}\n{shown}\n{indent}^"


# The first line of `_describe_syntax_error`'s summary: "SyntaxError: <msg> (line L, col C)".
_SYNTAX_HEADING = re.compile(r"SyntaxError: .*? \(line (\d{1,9})(?:, col (\d{1,9}))?\)")


def syntax_error_location(summary: str) -> dict[str, int] | None:
    """`{line, col}` of a pre-flight syntax error, read back from its summary (col 1 when the
    compiler named no column); None for any other summary."""
    first_line = summary.split("\n", 1)[0]
    match = _SYNTAX_HEADING.fullmatch(first_line)
    if match is None:
        return None
    return {"line": int(match.group(1)), "col": int(match.group(2) or 1)}


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in max_bytes (whole characters)."""
    if max_bytes <= 0:
        return ""
    # surrogatepass keeps text decoded with surrogateescape (undecodable bytes) round-tripping.
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    end = max_bytes
    # encoded[end] is the first byte cut off; while it continues a character, that character
    # started before the cut and must go too.
    while end > 0 and encoded[end] & 0xC0 == 0x80:
        end -= 1
    return encoded[:end].decode("utf-8", "surrogatepass")


def prepare_workdir(
    *, workdir: Path, source_code: str, memory: dict[str, Any], input_files: list[InputFile]
) -> list[dict[str, Any]]:
    """Create the run folder; returns the manifest files [{"name", "path", "bytes"}].

    `workdir` must not exist or be empty. Names are sanitised and checked for duplicates again
    here, so a caller that skipped validation cannot write outside input/.
    """
    check_unique_filenames([item.name for item in input_files])
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise FileExistsError(f"run folder is not empty: {workdir}")
    _write_text(workdir / SCRIPT_NAME, source_code)
    _write_text(workdir / MEMORY_NAME, _compact_json(memory))
    _make_dir(workdir / OUTPUT_DIR)
    input_dir = workdir / INPUT_DIR
    _make_dir(input_dir)
    manifest: list[dict[str, Any]] = []
    for item in input_files:
        name = sanitize_filename(item.name)
        target = input_dir / name
        with item.open() as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK_BYTES)
        target.chmod(0o644)
        manifest.append(
            {
                "name": name,
                "path": str(SANDBOX_WORK / INPUT_DIR / name),
                "bytes": target.stat().st_size,
            }
        )
    return manifest


def runner_env(
    *,
    entrypoint: str,
    manifest_files: list[dict[str, Any]],
    inputs: dict[str, Any],
    action: dict[str, Any] | None,
    collections_socket: str | None,
) -> dict[str, str]:
    """The SKRIPTOTEKET_* variables of the runner contract (HOME and friends come from the backend).

    Action runs get SKRIPTOTEKET_ACTION and no form inputs; there is deliberately no
    SKRIPTOTEKET_INPUT_PATH (tools list files through the manifest).
    """
    if action is not None and inputs:
        raise ValueError("an action run takes its input from the action, not from form inputs")
    env = {
        "SKRIPTOTEKET_SCRIPT_PATH": str(SANDBOX_WORK / SCRIPT_NAME),
        "SKRIPTOTEKET_ENTRYPOINT": entrypoint,
        "SKRIPTOTEKET_INPUT_DIR": str(SANDBOX_WORK / INPUT_DIR),
        "SKRIPTOTEKET_INPUT_MANIFEST": _compact_json({"files": manifest_files}),
        "SKRIPTOTEKET_INPUTS": _compact_json(inputs),
        "SKRIPTOTEKET_MEMORY_PATH": str(SANDBOX_WORK / MEMORY_NAME),
        "SKRIPTOTEKET_OUTPUT_DIR": str(SANDBOX_WORK / OUTPUT_DIR),
        "SKRIPTOTEKET_RESULT_PATH": str(SANDBOX_WORK / RESULT_NAME),
    }
    if action is not None:
        env["SKRIPTOTEKET_ACTION"] = _compact_json(action)
    if collections_socket is not None:
        env["SKRIPTOTEKET_COLLECTIONS_SOCKET"] = collections_socket
    return env


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)  # explicit: the worker's umask must not decide what the sandbox can read


def _make_dir(path: Path) -> None:
    path.mkdir()
    path.chmod(0o755)
