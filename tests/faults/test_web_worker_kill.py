"""A gunicorn worker is SIGKILLed while it writes a large batch (docs/architecture.md,
"Outages and what survives them"): its client gets no answer at all (the connection closes),
never a 2xx, and the batch is stored whole or not at all; other clients and the collection's
counter are unharmed."""

import contextlib
import json
import os
import select
import signal
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.faults.load import Load, format_counts, status_counts
from tests.faults.probes import counter_and_recount
from tests.faults.processes import wait_for
from tests.faults.stack import WEB_WORKERS, Stack

pytestmark = pytest.mark.faults

BATCH_ITEMS = 1000
VALUE_CHARS = 9000  # about 9 MB of JSON: a write that takes a while
ATTEMPTS = 5


def _bulk_request(stack: Stack, prefix: str) -> bytes:
    keys = [f"{prefix}-{number}" for number in range(BATCH_ITEMS)]
    items = [{"key": key, "value": (key * VALUE_CHARS)[:VALUE_CHARS]} for key in keys]
    body = json.dumps({"items": items}).encode()
    head = (
        f"POST /collections/{stack.seed['collection']} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {stack.seed['token']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def _tcp_sockets() -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of every IPv4 TCP socket of the host."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        found.append((int(local, 16), int(remote, 16), fields[9]))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _worker_serving(stack: Stack, client_port: int) -> int | None:
    """The gunicorn worker holding the server end of our connection."""
    inodes = {
        inode
        for local, remote, inode in _tcp_sockets()
        if local == stack.web_port and remote == client_port
    }
    for pid in stack.web.children():
        if inodes & _socket_inodes(pid):
            return pid
    return None


def _database_ports(stack: Stack, pid: int) -> list[int]:
    """Local ports of `pid`'s connections to PostgreSQL."""
    mine = _socket_inodes(pid)
    return [
        local
        for local, remote, inode in _tcp_sockets()
        if remote == stack.postgres.port and inode in mine
    ]


def _writing_worker(
    stack: Stack, watcher: psycopg.Connection, client: socket.socket, deadline: float
) -> int | None:
    """The worker serving our request, once its database session is running the batch's
    upsert (None: the answer came before we saw that)."""
    client_port = client.getsockname()[1]
    while time.monotonic() < deadline:
        worker = _worker_serving(stack, client_port)
        ports = _database_ports(stack, worker) if worker else []
        if ports:
            [(writing,)] = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND client_port = ANY(%s) AND query ILIKE %s",
                (ports, "%INSERT INTO%kvcollections_collectionitem%"),
            ).fetchall()
            if writing:
                return worker
        if select.select([client], [], [], 0)[0]:  # the answer (or the close) is there
            return None
        time.sleep(0.002)
    return None


def _answer(client: socket.socket) -> bytes:
    """Whatever the server sent before closing ('' = no answer at all)."""
    received = b""
    with contextlib.suppress(OSError):
        while chunk := client.recv(65536):
            received += chunk
    return received


def _stored(stack: Stack, prefix: str) -> int:
    [(count,)] = stack.postgres.query(
        "SELECT count(*) FROM kvcollections_collectionitem WHERE collection_id = %s"
        " AND key LIKE %s",
        (stack.seed["collection_id"], f"{prefix}-%"),
    )
    return int(count)  # type: ignore[call-overload]


@dataclass(frozen=True)
class Kill:
    attempt: int
    prefix: str
    request_bytes: int
    killed: float  # monotonic
    answer: bytes  # what the client received before the connection closed


def _kill_mid_write(stack: Stack, watcher: psycopg.Connection) -> Kill:
    """Send batches until one's worker is caught running the upsert; SIGKILL that worker."""
    for attempt in range(1, ATTEMPTS + 1):
        prefix = f"bulk-{uuid.uuid4().hex[:8]}"
        request = _bulk_request(stack, prefix)
        with socket.create_connection(("127.0.0.1", stack.web_port), timeout=30) as client:
            client.sendall(request)
            victim = _writing_worker(stack, watcher, client, time.monotonic() + 20)
            if victim is None:  # the write finished before we saw it: try another batch
                continue
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            return Kill(attempt, prefix, len(request), killed, _answer(client))
    pytest.fail(f"never caught a worker mid-write in {ATTEMPTS} attempts")


def test_web_worker_killed_mid_write(stack: Stack, report) -> None:
    collection = stack.seed["collection"]
    load = Load(stack.base_url, stack.seed["token"], collection, writers=2, readers=1, prefix="web")
    load.start()
    with psycopg.connect(stack.postgres.admin_url(), autocommit=True) as watcher:
        kill = _kill_mid_write(stack, watcher)
    respawned = wait_for(lambda: len(stack.web.children()) == WEB_WORKERS, 30, "a new worker")
    time.sleep(1.0)
    load.stop()
    stored = _stored(stack, kill.prefix)
    counter, recount = counter_and_recount(stack)
    report(
        f"gunicorn worker SIGKILL mid-bulk ({BATCH_ITEMS} items, {kill.request_bytes} bytes,"
        f" attempt {kill.attempt}): client got {kill.answer[:12]!r} ({len(kill.answer)} bytes);"
        f" batch items stored {stored} of {BATCH_ITEMS}; worker replaced"
        f" {respawned - kill.killed:.1f} s after; other clients"
        f" {format_counts(status_counts(load.samples))}; item_count {counter} = recount {recount}"
    )
    assert kill.answer == b""
    assert stored in {0, BATCH_ITEMS}
    assert counter == recount
    assert set(status_counts(load.samples)) == {200}, status_counts(load.samples)
