"""Read and write the collections of the project this tool runs in.

    from skriptoteket_toolkit import collections

    collections.set("scores", "anna", "12")
    collections.get("scores", "anna")          # "12" (None when the key is missing)
    collections.get_all("scores", "an*")       # [{"key", "value", "created", "updated"}, ...]
    collections.set_many("scores", [{"key": "bo", "value": "7"}])
    collections.remove("scores", "an*")        # number of items deleted

Values are strings: JSON-encode anything else yourself. A failure raises CollectionError whose
`code` is the one the HTTP collections API uses (for example COLLECTION_NOT_FOUND,
VALIDATION_ERROR, PREVIEW_READ_ONLY in a sandbox preview).

The sandbox has no network: every call opens the Unix socket that the worker serves for this
run (path in SKRIPTOTEKET_COLLECTIONS_SOCKET) and exchanges one JSON line each way.
Standard library only; this module must not be confused with the standard `collections`.
"""

import contextlib
import json
import os
import socket
from typing import Any, cast

__all__ = ["CollectionError", "get", "get_all", "remove", "set", "set_many"]

SOCKET_ENV = "SKRIPTOTEKET_COLLECTIONS_SOCKET"
# Long enough for a bulk write of 10 MB; shorter than any run's wall limit would be pointless.
TIMEOUT_SECONDS = 60.0
_CHUNK_BYTES = 64 * 1024


class CollectionError(Exception):
    """A collection operation failed; `code` is machine-readable, `message` for people."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        self.message = message or code
        super().__init__(f"{code}: {self.message}")


def get(name: str, key: str) -> str | None:
    """The value stored under `key`, or None when there is no such item."""
    return cast("str | None", _call({"op": "get", "collection": name, "key": key}))


def get_all(name: str, pattern: str = "*", limit: int | None = None) -> list[dict[str, Any]]:
    """Items whose key matches `pattern` (`*` any run of characters, `\\*` a literal star),
    oldest first; at most `limit` of them (default 1,000, largest 10,000)."""
    request = {"op": "get_all", "collection": name, "pattern": pattern, "limit": limit}
    return cast("list[dict[str, Any]]", _call(request))


def set(name: str, key: str, value: str) -> None:  # noqa: A001 - the toolkit's published name
    """Store `value` under `key`, replacing any earlier value."""
    _call({"op": "set", "collection": name, "key": key, "value": value})


def set_many(name: str, items: list[dict[str, Any]]) -> None:
    """Store every `{"key": ..., "value": ...}` of `items` at once (at most 1,000, keys unique)."""
    _call({"op": "set_many", "collection": name, "items": items})


def remove(name: str, key_or_pattern: str) -> int:
    """Delete the item `key_or_pattern`, or every item matching it when it holds `*`."""
    return cast(int, _call({"op": "remove", "collection": name, "key": key_or_pattern}))


def _call(request: dict[str, Any]) -> Any:
    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise CollectionError(
            "COLLECTIONS_UNAVAILABLE", "Collections are not available in this run."
        )
    try:
        text = json.dumps(request, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CollectionError("VALIDATION_ERROR", f"Arguments are not JSON: {exc}") from None
    # surrogatepass: a lone surrogate reaches the bridge, which refuses it as the API does.
    answer = _exchange(path, text.encode("utf-8", "surrogatepass") + b"\n")
    try:
        response = json.loads(answer)
        ok = response["ok"]
    except (ValueError, TypeError, KeyError):
        raise CollectionError(
            "COLLECTIONS_UNAVAILABLE", "The collections bridge gave an unreadable answer."
        ) from None
    if ok is not True:
        raise CollectionError(str(response.get("code")), str(response.get("error") or ""))
    return response.get("result")


def _exchange(path: str, payload: bytes) -> bytes:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT_SECONDS)
            sock.connect(path)
            # Refused part-way (too large): the bridge's answer is waiting to be read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(payload)
            return _read_line(sock)
    except TimeoutError:
        raise CollectionError(
            "COLLECTIONS_TIMEOUT", "The collections bridge did not answer in time."
        ) from None
    except OSError as exc:
        raise CollectionError(
            "COLLECTIONS_UNAVAILABLE", f"Cannot reach the collections bridge: {exc}"
        ) from None


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(_CHUNK_BYTES)
        if not chunk:
            raise CollectionError(
                "COLLECTIONS_UNAVAILABLE", "The collections bridge closed the connection."
            )
        end = chunk.find(b"\n")
        if end >= 0:
            chunks.append(chunk[:end])
            return b"".join(chunks)
        chunks.append(chunk)
