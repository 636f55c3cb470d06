"""Processes and ports of the host, seen through /proc: what the fault tests kill and wait for."""

import contextlib
import os
import socket
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: object, timeout: float, what: str, interval: float = 0.05) -> float:
    """Call `check` until it returns truthy; return when (monotonic). Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return time.monotonic()
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout} s waiting for {what}")


def child_pids(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found += [int(child) for child in text.split()]
    return found


def descendants(pid: int) -> list[int]:
    found = []
    for child in child_pids(pid):
        found += [child, *descendants(child)]
    return found


def processes_of_uids(uids: range) -> list[int]:
    """Pids whose real uid is in `uids` (the sandbox slot uids of this suite)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) in uids:
                        found.append(int(entry))
                    break
    return found
