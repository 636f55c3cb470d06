"""Tar streams between the worker and a Docker container, built and unpacked defensively.

What comes back out of a container was written by tool code, so extraction accepts only
regular files and folders with plain relative names, never follows or creates links, and stops
at a byte budget.
"""

import io
import logging
import os
import stat
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

_COPY_CHUNK_BYTES = 1 << 20


class ChunkStream(io.RawIOBase):
    """A readable file over an iterator of byte chunks (docker-py's get_archive stream)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def workdir_tar(workdir: Path, uid: int) -> bytes:
    """Pack the run folder's regular files and folders, owned by `uid` inside the container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(workdir.rglob("*")):
            info = path.lstat()
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                continue  # sockets are bound into the container separately, links never
            member = archive.gettarinfo(str(path), arcname=path.relative_to(workdir).as_posix())
            member.uid = member.gid = uid
            member.uname = member.gname = ""
            member.mode = 0o755 if member.isdir() else 0o644
            if member.isdir():
                archive.addfile(member)
            else:
                with path.open("rb") as source:
                    archive.addfile(member, source)
    return buffer.getvalue()


def _safe_relative(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\0" in name:
        return None
    parts = [part for part in path.parts if part not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


def _write_member(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = archive.extractfile(member)
    if source is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    with source, os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while chunk := source.read(_COPY_CHUNK_BYTES):
            out.write(chunk)


def _inside(root: Path, folder: Path) -> bool:
    resolved = folder.resolve()  # a symlinked folder on the way would point elsewhere
    return resolved == root or root in resolved.parents


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> bool:
    relative = _safe_relative(member.name)
    if relative is None or not (member.isfile() or member.isdir()):
        return False
    target = root / relative
    folder = target if member.isdir() else target.parent
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    if not _inside(root, folder):
        return False
    if member.isfile():
        _write_member(archive, member, target)
    return True


def extract_safely(stream: io.RawIOBase, dest: Path, max_bytes: int) -> int:
    """Unpack regular files and folders from a tar stream into `dest`; return the bytes written.

    Members with absolute or `..` names, links, devices and fifos are skipped (and logged);
    extraction stops before the total would pass `max_bytes`.
    """
    written = 0
    root = dest.resolve()
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if written + member.size > max_bytes:
                logger.warning(
                    "sandbox archive: stopped at %d bytes (limit %d)", written, max_bytes
                )
                break
            try:
                extracted = _extract_member(archive, member, root)
            except OSError as error:
                logger.warning("sandbox archive: %r not extracted: %s", member.name, error)
                continue
            if not extracted:
                logger.warning("sandbox archive: skipped unsafe member %r", member.name)
                continue
            written += member.size if member.isfile() else 0
    return written
