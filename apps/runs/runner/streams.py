"""Bounded capture of a tool's stdout/stderr: keep the head, count the rest, never block."""

import os
import threading
from typing import IO

from apps.runs.runner.sandbox_types import CapturedStream

_CHUNK_BYTES = 64 * 1024


def cut_at_utf8_boundary(data: bytes) -> bytes:
    """Drop a multi-byte UTF-8 character that the cap cut in half at the end of `data`."""
    # A character is at most 4 bytes, so only the last 3 can belong to an unfinished one.
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0b1100_0000 == 0b1000_0000:
            continue  # continuation byte: keep looking for the lead byte
        if byte < 0b1000_0000:
            return data  # ASCII: nothing is cut
        needed = 2 if byte >= 0b1100_0000 else 1
        needed = 3 if byte >= 0b1110_0000 else needed
        needed = 4 if byte >= 0b1111_0000 else needed
        return data if back >= needed else data[:-back]
    return data


class StreamCapture:
    """Collects at most `max_bytes` of a byte stream and counts every byte it saw."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._head = bytearray()
        self._total = 0
        self._lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self._lock:
            room = self._max_bytes - len(self._head)
            if room > 0:
                self._head += chunk[:room]
            self._total += len(chunk)

    def result(self) -> CapturedStream:
        with self._lock:
            truncated = self._total > self._max_bytes
            head = cut_at_utf8_boundary(bytes(self._head)) if truncated else bytes(self._head)
            return CapturedStream(
                text=head.decode("utf-8", errors="replace"),
                total_bytes=self._total,
                truncated=truncated,
            )


def drain_pipe(pipe: IO[bytes], capture: StreamCapture) -> None:
    """Read `pipe` to its end into `capture`; the bytes past the cap are read and dropped."""
    try:
        while chunk := os.read(pipe.fileno(), _CHUNK_BYTES):
            capture.feed(chunk)
    except (OSError, ValueError):
        pass  # pipe closed under us: the process is gone, what we have is the result
    finally:
        pipe.close()


def start_drain(pipe: IO[bytes], capture: StreamCapture, name: str) -> threading.Thread:
    thread = threading.Thread(target=drain_pipe, args=(pipe, capture), name=name, daemon=True)
    thread.start()
    return thread
