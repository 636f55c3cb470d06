"""Copy what a tool wrote to /work/output into the run's artifact store, trusting none of it.

The worker may run as root while the tool chose every name and file type under output/, so the
walk never follows a symlink: directories are opened relative to their parent's descriptor with
O_NOFOLLOW, and a file is checked on the descriptor that is then read (no gap between check and
use).
"""

import os
import re
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage

from apps.runs.runner.contract import OUTPUT_ROOT, ContractViolation, normalize_relative_path

MAX_DEPTH = 32
_COPY_CHUNK_BYTES = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after the scan must not block the worker on open.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NON_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


class ArtifactViolation(Exception):
    """The output folder holds something that must not leave the sandbox. Message is log-safe."""


def artifact_id_for(path: str, taken: set[str]) -> str:
    """Stable id for an artifact path, unique within `taken` (the chosen id is added to it)."""
    base = _NON_ALPHANUMERIC.sub("_", path.strip().lower()).strip("_") or "artifact"
    candidate = base
    suffix = 2
    while candidate in taken:
        candidate = f"{base}_{suffix}"
        suffix += 1
    taken.add(candidate)
    return candidate


def collect_artifacts(
    *, output_dir: Path, dest_dir: Path, max_files: int = 1000, max_bytes: int
) -> list[dict[str, Any]]:
    """Copy every regular file under output_dir to dest_dir/output/ and return the manifest.

    Anything but regular files and directories (symlinks, FIFOs, sockets, devices), unsafe
    names, or more than max_files files / max_bytes bytes raise ArtifactViolation; the partial
    copy is removed then. A missing or empty output_dir gives [].
    """
    try:
        source_fd = os.open(output_dir, _DIR_FLAGS)
    except FileNotFoundError:
        return []
    except OSError as exc:
        # ELOOP or ENOTDIR: the tool replaced output/ with a symlink or a file.
        raise ArtifactViolation(f"output is not a directory ({exc.strerror})") from None
    target_root = dest_dir / OUTPUT_ROOT
    if target_root.exists():
        shutil.rmtree(target_root)  # a previous, interrupted attempt for the same run
    dest_dir.mkdir(parents=True, exist_ok=True)
    copier = _Copier(dest_root=dest_dir.resolve(), max_files=max_files, max_bytes=max_bytes)
    try:
        copier.copy_tree(source_fd, (OUTPUT_ROOT,))
    except ArtifactViolation:
        shutil.rmtree(target_root, ignore_errors=True)
        raise
    except OSError as exc:
        # An unreadable folder the tool chmod-ed, a full disk: never leave half a copy behind.
        shutil.rmtree(target_root, ignore_errors=True)
        raise ArtifactViolation(f"output could not be copied ({exc.strerror})") from None
    finally:
        os.close(source_fd)
    if not copier.files:
        shutil.rmtree(target_root, ignore_errors=True)
        return []
    taken: set[str] = set()
    return [
        {"artifact_id": artifact_id_for(path, taken), "path": path, "bytes": size}
        for path, size in sorted(copier.files)
    ]


def artifact_file(
    *, storage: Storage, root: str, run_id: str, manifest: list[dict[str, Any]], artifact_id: str
) -> tuple[str, str] | None:
    """The stored file (its name in `storage`, under root/run_id/) and download name of one
    artifact; None if unknown, unsafe or gone."""
    if not run_id or run_id in (".", "..") or "/" in run_id or "\x00" in run_id:
        return None
    relative = _manifest_path(manifest, artifact_id)
    if relative is None:
        return None
    key = f"{root}/{run_id}/{relative}"
    if not _is_stored(storage, f"{root}/{run_id}", key):
        return None
    return key, PurePosixPath(relative).name


def _manifest_path(manifest: list[dict[str, Any]], artifact_id: str) -> str | None:
    """The artifact's path under the run folder, checked again (the manifest is a stored row)."""
    entry = next(
        (
            item
            for item in manifest
            if isinstance(item, dict) and item.get("artifact_id") == artifact_id
        ),
        None,
    )
    if entry is None or not isinstance(entry.get("path"), str):
        return None
    try:
        relative = normalize_relative_path(entry["path"])
    except ContractViolation:
        return None
    return relative if relative.split("/")[0] == OUTPUT_ROOT else None


def _is_stored(storage: Storage, run_folder: str, key: str) -> bool:
    if not isinstance(storage, FileSystemStorage):
        return storage.exists(key)
    # Only a worker's checked copies are ever stored there, but a symlink planted on the disk
    # must still not be served.
    run_root = Path(storage.path(run_folder)).resolve()
    candidate = Path(storage.path(key))
    resolved = candidate.resolve()
    return resolved.is_relative_to(run_root) and not candidate.is_symlink() and resolved.is_file()


class _Copier:
    """One walk of the output tree; keeps the counts the caps are checked against."""

    def __init__(self, *, dest_root: Path, max_files: int, max_bytes: int) -> None:
        self.dest_root = dest_root
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.files: list[tuple[str, int]] = []
        self.total_bytes = 0
        self.directories = 0

    def copy_tree(self, dir_fd: int, parts: tuple[str, ...]) -> None:
        if len(parts) > MAX_DEPTH:
            raise ArtifactViolation(f"output nests deeper than {MAX_DEPTH} directories")
        self._make_dir(parts)
        with os.scandir(dir_fd) as scan:
            entries = sorted((entry.name, entry.stat(follow_symlinks=False)) for entry in scan)
        for name, info in entries:
            _check_name(name)
            child = (*parts, name)
            if stat.S_ISDIR(info.st_mode):
                self.directories += 1
                if self.directories > self.max_files:
                    raise ArtifactViolation(f"output holds more than {self.max_files} folders")
                with _open_child_dir(dir_fd, name) as child_fd:
                    self.copy_tree(child_fd, child)
            elif stat.S_ISREG(info.st_mode):
                self._copy_file(dir_fd, name, child)
            else:
                raise ArtifactViolation(f"output holds a {_kind(info.st_mode)}, not a file")

    def _make_dir(self, parts: tuple[str, ...]) -> None:
        target = self._target(parts)
        target.mkdir(mode=0o755, exist_ok=parts == (OUTPUT_ROOT,))

    def _copy_file(self, dir_fd: int, name: str, parts: tuple[str, ...]) -> None:
        if len(self.files) >= self.max_files:
            raise ArtifactViolation(f"output holds more than {self.max_files} files")
        try:
            source = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise ArtifactViolation(f"an output file cannot be opened ({exc.strerror})") from None
        try:
            if not stat.S_ISREG(os.fstat(source).st_mode):
                raise ArtifactViolation("an output file was replaced while it was copied")
            copied = self._copy_bytes(source, self._target(parts))
        finally:
            os.close(source)
        self.files.append(("/".join(parts), copied))

    def _copy_bytes(self, source: int, target: Path) -> int:
        copied = 0
        destination = os.open(target, _WRITE_FLAGS, 0o644)
        try:
            while chunk := os.read(source, _COPY_CHUNK_BYTES):
                copied += len(chunk)
                self.total_bytes += len(chunk)
                if self.total_bytes > self.max_bytes:
                    raise ArtifactViolation(f"output holds more than {self.max_bytes} bytes")
                os.write(destination, chunk)
        finally:
            os.close(destination)
        return copied

    def _target(self, parts: tuple[str, ...]) -> Path:
        target = self.dest_root.joinpath(*parts)
        # Names are checked already; this guards the guard (and a dest_root that moved).
        if not target.resolve().is_relative_to(self.dest_root):
            raise ArtifactViolation("an artifact would be written outside the run folder")
        return target


@contextmanager
def _open_child_dir(dir_fd: int, name: str) -> Iterator[int]:
    try:
        child_fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        raise ArtifactViolation(f"an output folder cannot be opened ({exc.strerror})") from None
    try:
        yield child_fd
    finally:
        os.close(child_fd)


def _check_name(name: str) -> None:
    try:
        # os.scandir decodes undecodable bytes to lone surrogates; those fail here.
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ArtifactViolation("an output file name is not valid UTF-8") from None
    if "\\" in name or "\x00" in name:
        raise ArtifactViolation("an output file name contains a backslash or NUL")
    # Control characters (newlines above all) would leak into headers and logs.
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise ArtifactViolation("an output file name contains a control character")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
