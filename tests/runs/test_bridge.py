"""The collections bridge, driven through a real Unix socket by the real toolkit client.

The bridge thread opens its own database connection, so these tests commit (transaction=True)
and create their data through the services.
"""

import json
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.utils import timezone

import apps.runs
from apps.accounts.models import ApiToken, User
from apps.accounts.services import create_run_token, revoke_api_token
from apps.kvcollections import queries, services
from apps.kvcollections.api.streaming import stream_body
from apps.kvcollections.models import Collection
from apps.kvcollections.queries import ItemFilter
from apps.projects.models import Project, ProjectRole
from apps.runs.bridge import CollectionsBridge
from tests.factories import ApiTokenFactory, make_project

pytestmark = pytest.mark.django_db(transaction=True)

FILES = Path(apps.runs.__file__).parent / "runner" / "files"
SOCKET_ENV = "SKRIPTOTEKET_COLLECTIONS_SOCKET"
Start = Callable[..., CollectionsBridge]


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """`from skriptoteket_toolkit import collections`, as a tool would import it."""
    root = FILES
    if not (FILES / "skriptoteket_toolkit" / "__init__.py").exists():
        # The package's __init__ comes from elsewhere; a namespace package holds only the client.
        root = tmp_path_factory.mktemp("toolkit")
        (root / "skriptoteket_toolkit").mkdir()
        shutil.copy(
            FILES / "skriptoteket_toolkit" / "collections.py", root / "skriptoteket_toolkit"
        )
    saved = _forget_toolkit()
    sys.path.insert(0, str(root))
    try:
        # Exactly what `from skriptoteket_toolkit import collections` does.
        yield __import__("skriptoteket_toolkit", fromlist=["collections"]).collections
    finally:
        sys.path.remove(str(root))
        _forget_toolkit()
        sys.modules.update(saved)


def _forget_toolkit() -> dict[str, ModuleType]:
    names = [name for name in sys.modules if name.split(".")[0] == "skriptoteket_toolkit"]
    return {name: sys.modules.pop(name) for name in names}


@pytest.fixture
def socket_path() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(dir="/tmp", prefix="skt-bridge-"))  # AF_UNIX: 107 bytes
    yield folder / "collections.sock"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def run_token(alice: User, project: Project) -> tuple[ApiToken, str]:
    expires_at = timezone.now() + timedelta(hours=1)
    return create_run_token(
        user=alice, project_id=project.pk, project_role="owner", expires_at=expires_at
    )


@pytest.fixture
def start(socket_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Start]:
    with ExitStack() as stack:

        def start(secret: str, *, read_only: bool = False, idle: float = 5.0) -> CollectionsBridge:
            bridge = CollectionsBridge(
                socket_path=socket_path, token_secret=secret, read_only=read_only, idle_timeout=idle
            )
            stack.enter_context(bridge)
            monkeypatch.setenv(SOCKET_ENV, str(socket_path))
            return bridge

        yield start


@pytest.fixture
def bridge(start: Start, run_token: tuple[ApiToken, str]) -> CollectionsBridge:
    return start(run_token[1])


@pytest.fixture
def scores(project: Project) -> Collection:
    collection = services.create_collection(project=project, name="scores")
    services.put_items(collection=collection, items=[("anna", "12"), ("bo", "7")])
    return collection


def raw(path: Path, data: bytes) -> list[dict[str, Any]]:
    """Send `data` as it is, then read every answer line until the bridge closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except BrokenPipeError:
            pass
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return [json.loads(line) for line in received.splitlines()]


def error_code(call: Callable[[], object], toolkit: ModuleType) -> str:
    with pytest.raises(toolkit.CollectionError) as caught:
        call()
    return str(caught.value.code)


# --- Operations --------------------------------------------------------------------------------


def test_get_returns_the_value_or_none(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    assert toolkit.get("scores", "anna") == "12"
    assert toolkit.get("scores", "nobody") is None
    assert bridge.calls == 2


def test_set_then_get(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    toolkit.set("scores", "anna", "13 ✓ 🎉")
    toolkit.set("scores", "new/key with spaces", "")
    assert toolkit.get("scores", "anna") == "13 ✓ 🎉"
    assert toolkit.get("scores", "new/key with spaces") == ""


def test_get_all_matches_the_stream_api(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    toolkit.set_many("scores", [{"key": f"q{n}", "value": f"v{n}"} for n in (3, 1, 2)])
    toolkit.set("scores", "q*star", "literal")

    items = toolkit.get_all("scores", "q*")

    assert [item["key"] for item in items] == ["q3", "q1", "q2", "q*star"]  # insertion order
    assert set(items[0]) == {"key", "value", "created", "updated"}
    # The very bytes the data API streams for GET /collections/scores?key=q*.
    pages = queries.iter_pages(
        collection=scores, item_filter=ItemFilter(key_pattern="q*"), after_id=0, limit=1000
    )
    assert items == json.loads(b"".join(stream_body(next(pages), pages)))["items"]
    assert items[0]["created"].endswith("Z")
    assert [item["key"] for item in toolkit.get_all("scores", "q\\*star")] == ["q*star"]
    assert [item["key"] for item in toolkit.get_all("scores")] == [
        "anna", "bo", "q3", "q1", "q2", "q*star"
    ]  # fmt: skip
    assert [item["key"] for item in toolkit.get_all("scores", limit=2)] == ["anna", "bo"]


def test_get_all_limit_bounds(toolkit: ModuleType, bridge: Any, scores: Any, settings: Any) -> None:
    settings.COLLECTIONS_DEFAULT_LIMIT = 1
    assert len(toolkit.get_all("scores")) == 1
    assert len(toolkit.get_all("scores", limit=10_000)) == 2
    for limit in (0, 10_001, -1):
        call = partial(toolkit.get_all, "scores", limit=limit)
        assert error_code(call, toolkit) == "BAD_REQUEST"


def test_remove_by_key_and_by_pattern(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    toolkit.set_many("scores", [{"key": f"tmp-{n}", "value": "x"} for n in range(5)])
    assert toolkit.remove("scores", "anna") == 1
    assert toolkit.remove("scores", "anna") == 0
    assert toolkit.remove("scores", "tmp-*") == 5
    assert [item["key"] for item in toolkit.get_all("scores")] == ["bo"]
    assert toolkit.remove("scores", "*") == 1
    scores.refresh_from_db()
    assert (scores.item_count, scores.byte_size) == (0, 0)


def test_collections_of_other_projects_are_not_found(
    toolkit: ModuleType, bridge: Any, alice: User
) -> None:
    # alice owns the other project too; the run token still reaches only the run's project.
    other = make_project({alice: ProjectRole.OWNER}, name="Other")
    services.create_collection(project=other, name="secrets")
    for call in (
        lambda: toolkit.get("secrets", "k"),
        lambda: toolkit.get_all("secrets"),
        lambda: toolkit.set("secrets", "k", "v"),
        lambda: toolkit.remove("secrets", "*"),
        lambda: toolkit.get("unknown", "k"),
        lambda: toolkit.get("../secrets", "k"),
        lambda: toolkit.get("sec\x00rets", "k"),
        lambda: toolkit.get("x" * 10_000, "k"),
    ):
        assert error_code(call, toolkit) == "COLLECTION_NOT_FOUND"
    assert not Collection.objects.get(name="secrets").items.exists()


def test_read_only_preview_reads_but_never_writes(
    toolkit: ModuleType, start: Start, run_token: tuple[ApiToken, str], scores: Any
) -> None:
    start(run_token[1], read_only=True)
    assert toolkit.get("scores", "anna") == "12"
    assert len(toolkit.get_all("scores")) == 2
    for call in (
        lambda: toolkit.set("scores", "anna", "0"),
        lambda: toolkit.set_many("scores", [{"key": "c", "value": "1"}]),
        lambda: toolkit.remove("scores", "anna"),
        lambda: toolkit.remove("scores", "*"),
    ):
        assert error_code(call, toolkit) == "PREVIEW_READ_ONLY"
    assert [item["value"] for item in toolkit.get_all("scores")] == ["12", "7"]


# --- Authorisation ------------------------------------------------------------------------------


def test_revoked_token_stops_working_at_once(
    toolkit: ModuleType, bridge: Any, scores: Any, run_token: tuple[ApiToken, str]
) -> None:
    assert toolkit.get("scores", "anna") == "12"
    revoke_api_token(token=run_token[0])
    assert error_code(lambda: toolkit.get("scores", "anna"), toolkit) == "UNAUTHENTICATED"
    assert error_code(lambda: toolkit.set("scores", "a", "b"), toolkit) == "UNAUTHENTICATED"


def test_expired_token_is_refused(
    toolkit: ModuleType, start: Start, alice: User, project: Project, scores: Any
) -> None:
    expires_at = timezone.now() - timedelta(seconds=1)
    _, secret = create_run_token(
        user=alice, project_id=project.pk, project_role="owner", expires_at=expires_at
    )
    start(secret)
    assert error_code(lambda: toolkit.get("scores", "anna"), toolkit) == "UNAUTHENTICATED"


def test_personal_token_is_refused(
    toolkit: ModuleType, start: Start, alice: User, scores: Any
) -> None:
    start(ApiTokenFactory(user=alice).secret)
    assert error_code(lambda: toolkit.get("scores", "anna"), toolkit) == "UNAUTHENTICATED"


# --- Validation, as the data API does it ---------------------------------------------------------


def test_keys_are_checked_like_the_api(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    toolkit.set("scores", "k" * 255, "ok")
    assert toolkit.get("scores", "k" * 255) == "ok"
    for key in ("k" * 256, "", "a\x00b"):
        assert error_code(partial(toolkit.set, "scores", key, "v"), toolkit) == "VALIDATION_ERROR"
        assert error_code(partial(toolkit.get, "scores", key), toolkit) == "VALIDATION_ERROR"
    assert error_code(lambda: toolkit.get_all("scores", "a\x00*"), toolkit) == "BAD_REQUEST"
    assert error_code(lambda: toolkit.get_all("scores", "x" * 513), toolkit) == "BAD_REQUEST"


def test_values_are_checked_like_the_api(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    toolkit.set("scores", "big", "é" * 1_000_000)
    assert toolkit.get("scores", "big") == "é" * 1_000_000
    for value in ("x" * 1_000_001, "a\x00b", {"a": 1}, 12, None):
        call = partial(toolkit.set, "scores", "k", value)
        assert error_code(call, toolkit) == "VALIDATION_ERROR"
    assert error_code(lambda: toolkit.set("scores", "k", "\ud800"), toolkit) == "PARSE_ERROR"
    assert error_code(lambda: toolkit.set("scores", "k", b"bytes"), toolkit) == "VALIDATION_ERROR"
    assert toolkit.get("scores", "k") is None


def test_set_many_limits(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    items = [{"key": f"k{n}", "value": str(n)} for n in range(1001)]
    assert error_code(lambda: toolkit.set_many("scores", items), toolkit) == "TOO_MANY_ITEMS"
    toolkit.set_many("scores", items[:1000])
    assert len(toolkit.get_all("scores", "k*", limit=10_000)) == 1000
    duplicate = [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]
    assert error_code(lambda: toolkit.set_many("scores", duplicate), toolkit) == "DUPLICATE_KEY"
    assert toolkit.get("scores", "d") is None


def test_bad_set_many_element_names_its_index(socket_path: Path, bridge: Any, scores: Any) -> None:
    items = [{"key": "a", "value": "1"}, {"key": "b", "value": 2}]
    request = {"op": "set_many", "collection": "scores", "items": items}
    [answer] = raw(socket_path, json.dumps(request).encode() + b"\n")
    assert answer == {
        "ok": False, "code": "VALIDATION_ERROR", "error": answer["error"], "index": 1
    }  # fmt: skip
    assert answer["error"].startswith("Item 1:")


def test_malformed_requests(socket_path: Path, bridge: Any, scores: Any) -> None:
    lines = [
        b"{not json",
        b'{"op": "get", "collection": "scores", "key": "\\ud800"}',
        b"[]",
        b'{"op": "drop", "collection": "scores"}',
        b'{"op": ["get"], "collection": "scores"}',
        b'{"op": "get", "collection": "scores", "key": "anna", "token": "x"}',
        b'{"op": "get", "key": "anna"}',
        b'{"op": "get", "collection": 5, "key": "anna"}',
        b'{"op": "get", "collection": "scores", "key": 5}',
        b'{"op": "set", "collection": "scores", "key": "k"}',
        b'{"op": "set_many", "collection": "scores", "items": {"a": "b"}}',
        b'{"op": "get_all", "collection": "scores", "limit": "5"}',
        b'{"op": "get_all", "collection": "scores", "limit": true}',
        b'{"op": "get_all", "collection": "scores", "pattern": 5}',
        b'{"op": "remove", "collection": "scores", "key": null}',
        b'{"op": "get", "collection": "scores", "key": "anna"}',
    ]
    answers = raw(socket_path, b"\n".join(lines) + b"\n")
    assert [answer.get("code") for answer in answers] == [
        "PARSE_ERROR", "PARSE_ERROR", "BAD_REQUEST", "BAD_REQUEST", "BAD_REQUEST", "BAD_REQUEST",
        "MISSING_FIELD", "VALIDATION_ERROR", "VALIDATION_ERROR", "MISSING_FIELD",
        "VALIDATION_ERROR", "BAD_REQUEST", "BAD_REQUEST", "BAD_REQUEST", "VALIDATION_ERROR", None,
    ]  # fmt: skip
    assert answers[-1] == {"ok": True, "result": "12"}  # the connection kept serving
    assert bridge.calls == len(lines)


def test_oversized_request_is_refused_and_the_bridge_keeps_serving(
    toolkit: ModuleType, socket_path: Path, bridge: Any, scores: Any, settings: Any
) -> None:
    settings.COLLECTIONS_MAX_BODY_BYTES = 1000
    huge = "x" * 300_000
    assert error_code(lambda: toolkit.set("scores", "k", huge), toolkit) == "PAYLOAD_TOO_LARGE"
    [answer] = raw(socket_path, b"{" + b" " * 400_000)  # no newline ever comes
    assert answer["code"] == "PAYLOAD_TOO_LARGE"
    assert toolkit.get("scores", "k") is None
    assert toolkit.get("scores", "anna") == "12"


def test_unexpected_failure_is_an_internal_error_and_serving_goes_on(
    toolkit: ModuleType, bridge: Any, scores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "put_items", broken)
    assert error_code(lambda: toolkit.set("scores", "k", "v"), toolkit) == "INTERNAL_ERROR"
    assert toolkit.get("scores", "anna") == "12"


# --- The socket ----------------------------------------------------------------------------------


def test_concurrent_clients_are_all_served(toolkit: ModuleType, bridge: Any, scores: Any) -> None:
    failures: list[BaseException] = []

    def client(name: str) -> None:
        try:
            for n in range(15):
                toolkit.set("scores", f"{name}-{n}", str(n))
                assert toolkit.get("scores", f"{name}-{n}") == str(n)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert len(toolkit.get_all("scores", "a-*")) == 15
    assert len(toolkit.get_all("scores")) == 2 + 45


def test_idle_connection_is_dropped_so_the_next_call_is_served(
    toolkit: ModuleType, start: Start, run_token: tuple[ApiToken, str], scores: Any
) -> None:
    path = start(run_token[1], idle=0.3).socket_path
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.connect(str(path))
        began = time.monotonic()
        assert toolkit.get("scores", "anna") == "12"
        assert time.monotonic() - began < 3
        idle.settimeout(3)
        assert idle.recv(10) == b""  # the bridge closed it


def test_socket_lifecycle(
    toolkit: ModuleType, socket_path: Path, run_token: tuple[ApiToken, str], scores: Any
) -> None:
    socket_path.write_text("stale")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        with CollectionsBridge(
            socket_path=socket_path, token_secret=run_token[1], read_only=False, idle_timeout=60
        ) as bridge:
            mode = socket_path.stat().st_mode
            assert stat.S_ISSOCK(mode)
            assert stat.S_IMODE(mode) == 0o666
            idle.connect(str(socket_path))  # an open, silent client must not delay the exit
            began = time.monotonic()
        assert time.monotonic() - began < 2
    assert not socket_path.exists()
    assert bridge.calls == 0


def test_a_socket_that_cannot_be_bound_fails_the_enter(socket_path: Path) -> None:
    bridge = CollectionsBridge(
        socket_path=socket_path.parent / "missing" / "c.sock", token_secret="x", read_only=True
    )
    with pytest.raises(FileNotFoundError), bridge:
        pass


def test_client_without_a_bridge(
    toolkit: ModuleType, socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SOCKET_ENV, raising=False)
    assert error_code(lambda: toolkit.get("scores", "a"), toolkit) == "COLLECTIONS_UNAVAILABLE"
    monkeypatch.setenv(SOCKET_ENV, str(socket_path))
    assert error_code(lambda: toolkit.get("scores", "a"), toolkit) == "COLLECTIONS_UNAVAILABLE"


def test_client_does_not_shadow_the_standard_library(toolkit: ModuleType) -> None:
    import collections as standard

    assert toolkit.__name__ == "skriptoteket_toolkit.collections"
    assert standard.OrderedDict is not None
    error = toolkit.CollectionError("X_CODE", "explained")
    assert (error.code, error.message, str(error)) == ("X_CODE", "explained", "X_CODE: explained")
