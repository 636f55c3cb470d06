"""Concurrency slots: each concurrent bwrap run gets its own host uid.

RLIMIT_NPROC counts the processes of a host uid, so two runs sharing a uid would share one
process budget (and one fork bomb would starve the other run). A slot is an flock on
`<lock folder>/<n>.lock` (one folder per uid range, shared by every worker); the kernel drops
the lock when its holder dies, so a crashed worker never leaks a slot.
"""

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apps.runs.exceptions import RunnerUnavailable

# How long a run waits for a free slot before the worker gives up (503 to the caller).
SLOT_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _claim_any(lock_dir: Path, slots: int) -> tuple[int, int] | None:
    for slot in range(slots):
        fd = _try_lock(lock_dir / f"{slot}.lock")
        if fd is not None:
            return slot, fd
    return None


@contextmanager
def claim_uid_slot(lock_dir: Path, slots: int) -> Iterator[int]:
    """Hold one free slot number (0..slots-1) for the duration of the block.

    :raises RunnerUnavailable: when every slot stays busy for SLOT_WAIT_SECONDS.
    """
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + SLOT_WAIT_SECONDS
    claimed = _claim_any(lock_dir, slots)
    while claimed is None:
        if time.monotonic() >= deadline:
            raise RunnerUnavailable(
                f"All {slots} sandbox slots are busy; retry later or raise SANDBOX_UID_SLOTS."
            )
        time.sleep(_POLL_SECONDS)
        claimed = _claim_any(lock_dir, slots)
    slot, fd = claimed
    try:
        yield slot
    finally:
        os.close(fd)  # closing the only descriptor releases the flock
