"""The collections bridge: how tool code in the sandbox reaches its project's collections.

The sandbox has no network, so the worker serves a Unix socket inside the run folder for the
length of the run. The run token's secret stays in the worker: every request is authorised with
it afresh (a revoked or expired token stops working at once) and may only name collections of
the token's project. One JSON object per line each way: `{"ok": true, "result": ...}` or
`{"ok": false, "code": CODE, "error": message}`. Validation and error codes are the data API's
(kvcollections/api/inputs.py), so a tool gets the answers an HTTP client would.
"""

import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog
from django.conf import settings
from django.db import connection

from apps.accounts.models import TokenKind
from apps.accounts.services import authenticate_api_token
from apps.core.exceptions import BadRequest, DomainError, PermissionDenied, ValidationFailed
from apps.kvcollections import access, queries, services
from apps.kvcollections.access import Caller, CollectionAccess, Operation
from apps.kvcollections.api import inputs
from apps.kvcollections.exceptions import CollectionNotFound, InvalidQuery, MissingField
from apps.kvcollections.models import NAME_PATTERN
from apps.kvcollections.queries import ItemFilter

log = structlog.get_logger(__name__)

# Room for the JSON envelope (op, collection, field names) around a body of
# COLLECTIONS_MAX_BODY_BYTES, the limit the HTTP API puts on the same data.
LINE_SLACK_BYTES = 64 * 1024
# A silent connection is closed after this, so it cannot block the (sequential) bridge long.
IDLE_TIMEOUT_SECONDS = 10.0
# get_all answers stop here (characters): 10,000 values of a million would not fit in memory.
RESULT_MAX_CHARS = 32_000_000
# Connections waiting while one is served; the tool is one process tree, a few is plenty.
BACKLOG = 4
JOIN_TIMEOUT_SECONDS = 30.0
_CHUNK_BYTES = 64 * 1024
_RUN_TOKENS = frozenset({TokenKind.RUN})


class RunTokenInvalid(DomainError):
    code = "UNAUTHENTICATED"
    default_message = "The run token is no longer valid: the run has ended or was cancelled."


class UnknownCollection(CollectionNotFound):
    code = "COLLECTION_NOT_FOUND"


class PreviewReadOnly(PermissionDenied):
    code = "PREVIEW_READ_ONLY"
    default_message = (
        "A sandbox preview may read this project's collections but not change them. "
        "Test tools that write in a sandbox project."
    )


def handle_line(line: bytes, *, token_secret: str, read_only: bool) -> bytes:
    """The answer line (newline included) to one request line. Never raises."""
    try:
        result = _dispatch(_parse(line), token_secret=token_secret, read_only=read_only)
        answer: dict[str, Any] = {"ok": True, "result": result}
    except DomainError as exc:
        answer = _error(exc)
    except Exception:
        log.exception("collections_bridge.internal_error")
        # A broken database connection would fail every later request of the run too.
        connection.close_if_unusable_or_obsolete()
        answer = _error(DomainError("The collections bridge failed.", code="INTERNAL_ERROR"))
    return orjson.dumps(answer, option=orjson.OPT_UTC_Z) + b"\n"


def _error(exc: DomainError) -> dict[str, Any]:
    answer: dict[str, Any] = {"ok": False, "code": exc.code, "error": exc.message}
    if isinstance(exc.details, dict) and "index" in exc.details:
        answer["index"] = exc.details["index"]  # which set_many element, as the API reports it
    return answer


def _parse(line: bytes) -> dict[str, Any]:
    try:
        request = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"JSON parse error: {exc}", code="PARSE_ERROR") from None
    if not isinstance(request, dict):
        raise BadRequest("A request must be a JSON object.")
    return request


@dataclass(frozen=True)
class _Op:
    fields: frozenset[str]
    writes: bool
    run: Callable[[CollectionAccess, dict[str, Any]], Any]


def _dispatch(request: dict[str, Any], *, token_secret: str, read_only: bool) -> Any:
    name = request.get("op")
    op = _OPS.get(name) if isinstance(name, str) else None
    if op is None:
        raise BadRequest(f"op must be one of: {', '.join(_OPS)}.")
    unknown = sorted(set(request) - {"op", "collection"} - op.fields)
    if unknown:
        raise BadRequest(f"Unknown field: {', '.join(unknown)}.")
    target = _resolve(request, token_secret=token_secret)
    if op.writes and read_only:
        raise PreviewReadOnly()
    return op.run(target, request)


def _resolve(request: dict[str, Any], *, token_secret: str) -> CollectionAccess:
    """:raises RunTokenInvalid, MissingField, ValidationFailed, UnknownCollection:"""
    credential = authenticate_api_token(secret=token_secret, kinds=_RUN_TOKENS)
    if credential is None or credential.project_id is None:
        raise RunTokenInvalid()
    name = _string(request, "collection")
    not_found = UnknownCollection(f"Collection not found in this project: {name[:255]!r}.")
    # Names are URL-safe; anything else (NUL included, which PostgreSQL refuses) cannot exist.
    if len(name) > 255 or re.fullmatch(NAME_PATTERN, name) is None:
        raise not_found
    try:
        return access.resolve_collection(
            caller=Caller.for_credential(credential), name=name, project_id=None
        )
    except CollectionNotFound:
        raise not_found from None


def _string(request: dict[str, Any], field: str) -> str:
    if field not in request:
        raise MissingField(f"Missing required field: {field}")
    value = request[field]
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string.")
    return value


def _pattern_filter(raw: Any) -> ItemFilter:
    """A key pattern as the stream API takes it. :raises InvalidQuery:"""
    if not isinstance(raw, str):
        raise InvalidQuery("pattern must be a string.")
    if "\x00" in raw:
        raise InvalidQuery("pattern contains a NUL character.")
    if raw == "*":
        return ItemFilter()  # everything, without the timeout an unanchored LIKE needs
    return inputs.item_filter({"key": raw})


def _limit(raw: Any) -> int:
    """:raises InvalidQuery:"""
    if raw is None:
        return int(settings.COLLECTIONS_DEFAULT_LIMIT)
    maximum = settings.COLLECTIONS_MAX_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= maximum:
        raise InvalidQuery(f"limit must be an integer from 1 to {maximum}.")
    return int(raw)


def _get(target: CollectionAccess, request: dict[str, Any]) -> str | None:
    target.authorize(Operation.READ)
    key = inputs.key(_string(request, "key"))
    row = queries.get_item(collection_id=target.collection.pk, key=key)
    return None if row is None else str(row[2])


def _get_all(target: CollectionAccess, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Items in id (insertion) order, formatted as the stream API formats them."""
    target.authorize(Operation.READ)
    item_filter, limit = _pattern_filter(request.get("pattern", "*")), _limit(request.get("limit"))
    items: list[dict[str, Any]] = []
    chars = 0
    for rows, _ in queries.iter_pages(
        collection=target.collection, item_filter=item_filter, after_id=0, limit=limit
    ):
        chars += sum(len(row[1]) + len(row[2]) for row in rows)
        if chars > RESULT_MAX_CHARS:
            message = f"The items hold over {RESULT_MAX_CHARS} characters; narrow the pattern."
            raise DomainError(message, code="RESULT_TOO_LARGE")
        items.extend(queries.items_json(rows))
    return items


def _set(target: CollectionAccess, request: dict[str, Any]) -> int:
    target.authorize(Operation.WRITE)
    key = inputs.key(_string(request, "key"))
    return services.put_item(collection=target.collection, key=key, value=inputs.put_value(request))


def _set_many(target: CollectionAccess, request: dict[str, Any]) -> int:
    target.authorize(Operation.WRITE)
    return services.put_items(collection=target.collection, items=inputs.bulk_items(request))


def _remove(target: CollectionAccess, request: dict[str, Any]) -> int:
    """Delete by key pattern, as the API's DELETE with `?key=`. Without `*` or `\\` the pattern
    is one exact key, deleted under that key's lock instead of the whole collection's."""
    raw = _string(request, "key")
    if "*" in raw or "\\" in raw:
        target.authorize(Operation.DELETE_MANY)
        return services.delete_items(collection=target.collection, item_filter=_pattern_filter(raw))
    target.authorize(Operation.DELETE_ITEM)
    return services.delete_item(collection=target.collection, key=inputs.key(raw))


_OPS: dict[str, _Op] = {
    "get": _Op(frozenset({"key"}), writes=False, run=_get),
    "get_all": _Op(frozenset({"pattern", "limit"}), writes=False, run=_get_all),
    "set": _Op(frozenset({"key", "value"}), writes=True, run=_set),
    "set_many": _Op(frozenset({"items"}), writes=True, run=_set_many),
    "remove": _Op(frozenset({"key"}), writes=True, run=_remove),
}


class _LineTooLong(Exception):
    pass


class _LineReader:
    """Request lines of one connection, read into a bounded buffer (never an unbounded readline)."""

    def __init__(
        self, conn: socket.socket, *, wake: socket.socket, idle_timeout: float, max_bytes: int
    ) -> None:
        self._conn = conn
        self._wake = wake
        self._idle_timeout = idle_timeout
        self._max_bytes = max_bytes
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no newline
        self._selector = selectors.DefaultSelector()
        self._selector.register(conn, selectors.EVENT_READ)
        self._selector.register(wake, selectors.EVENT_READ)

    def close(self) -> None:
        self._selector.close()

    def next_line(self) -> bytes | None:
        """None once the client closed, idled past the timeout, or the bridge is stopping.

        :raises _LineTooLong:
        """
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                self._scanned = 0
                if len(line) > self._max_bytes:
                    raise _LineTooLong()
                return line
            self._scanned = len(self._buffer)
            if len(self._buffer) > self._max_bytes:
                raise _LineTooLong()
            if not self._receive(self._idle_timeout):
                return None

    def discard_rest(self) -> None:
        # Read until the client closes (at most the idle timeout): closing a Unix socket with
        # unread data makes the client's recv fail with ECONNRESET before it reads our answer.
        deadline = time.monotonic() + self._idle_timeout
        while (left := deadline - time.monotonic()) > 0 and self._receive(left):
            self._buffer.clear()

    def _receive(self, timeout: float) -> bool:
        ready = {key.fileobj for key, _ in self._selector.select(timeout)}
        if not ready or self._wake in ready:
            return False
        chunk = self._conn.recv(_CHUNK_BYTES)
        self._buffer += chunk
        return bool(chunk)


class CollectionsBridge:
    """Serve collection operations for one run on `socket_path` while the context is open.

    Connections are served one after another on a daemon thread with its own database
    connection. `calls` counts the requests answered (for the run's log).
    """

    def __init__(
        self,
        *,
        socket_path: Path,
        token_secret: str,
        read_only: bool,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.socket_path = socket_path
        self.read_only = read_only
        self.idle_timeout = idle_timeout
        self.calls = 0
        self._token_secret = token_secret
        self._thread: threading.Thread | None = None
        # Writing to _wake_write wakes the thread from any select; it then stops.
        self._wake_read, self._wake_write = socket.socketpair()

    def __enter__(self) -> "CollectionsBridge":
        self.socket_path.unlink(missing_ok=True)  # left by a crashed worker
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            # The sandbox runs as another, unprivileged uid; the token, not the mode, guards.
            os.chmod(self.socket_path, 0o666)  # noqa: S103
            listener.listen(BACKLOG)
        except OSError:
            for sock in (listener, self._wake_read, self._wake_write):
                sock.close()
            raise
        self._thread = threading.Thread(
            target=self._serve, args=(listener,), name="collections-bridge", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wake_write.send(b"x")
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("collections_bridge.stop_timeout", socket=str(self.socket_path))
            else:
                self._wake_read.close()
                self._wake_write.close()
        self.socket_path.unlink(missing_ok=True)
        log.info("collections_bridge.stopped", calls=self.calls, read_only=self.read_only)

    def _serve(self, listener: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        try:
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_read in ready:
                    return
                self._accept_one(listener)
        finally:
            selector.close()
            listener.close()
            connection.close()

    def _accept_one(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            log.exception("collections_bridge.accept_failed")
            time.sleep(0.1)  # e.g. out of file descriptors: do not spin
            return
        with conn:
            try:
                self._serve_connection(conn)
            except OSError:
                pass  # the client went away mid-answer; nothing to tell it
            except Exception:
                log.exception("collections_bridge.connection_failed")

    def _serve_connection(self, conn: socket.socket) -> None:
        conn.settimeout(self.idle_timeout)  # bounds sendall() to a client that stops reading
        max_bytes = settings.COLLECTIONS_MAX_BODY_BYTES + LINE_SLACK_BYTES
        reader = _LineReader(
            conn, wake=self._wake_read, idle_timeout=self.idle_timeout, max_bytes=max_bytes
        )
        try:
            while True:
                try:
                    line = reader.next_line()
                except _LineTooLong:
                    message = f"Request exceeds {settings.COLLECTIONS_MAX_BODY_BYTES} bytes."
                    too_large = DomainError(message, code="PAYLOAD_TOO_LARGE")
                    self._answer(conn, orjson.dumps(_error(too_large)) + b"\n")
                    reader.discard_rest()
                    return
                if line is None:
                    return
                answer = handle_line(
                    line, token_secret=self._token_secret, read_only=self.read_only
                )
                self._answer(conn, answer)
        finally:
            reader.close()

    def _answer(self, conn: socket.socket, answer: bytes) -> None:
        self.calls += 1
        conn.sendall(answer)
