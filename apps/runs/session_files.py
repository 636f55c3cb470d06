"""Files that stay with a session between runs (multi-step tools), and the folders of runs.

Layout under settings.RUN_FILES_ROOT:
    sessions/<tool_id>/<user_id>/<sha256(context)>/meta.json + files/<name>
    inputs/<run_id>/<name>        uploads waiting for their run (moved or removed when it ends)
    inputs-kept/<run_id>/<name>   a production run's input files after it ended, for re-runs;
                                  removed RUN_INPUTS_RETENTION_DAYS later (folder mtime = end)
    artifacts/<run_id>/output/... what a finished run left in /work/output

A session's files are replaced as a whole: the new set is written to a temporary folder that is
then renamed over the old one, so a reader never sees half of each.
"""

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class StoredFile:
    name: str
    path: Path
    bytes: int


@dataclass(frozen=True)
class CleanupCounts:
    sessions: int
    files: int
    bytes: int


def _root() -> Path:
    return Path(settings.RUN_FILES_ROOT)


def inputs_dir(run_id: uuid.UUID | str) -> Path:
    return _root() / "inputs" / str(run_id)


def kept_inputs_dir(run_id: uuid.UUID | str) -> Path:
    return _root() / "inputs-kept" / str(run_id)


def artifacts_root() -> Path:
    return _root() / "artifacts"


def _session_dir(tool_id: uuid.UUID, user_id: int, context: str) -> Path:
    digest = hashlib.sha256(context.encode()).hexdigest()
    return _root() / "sessions" / str(tool_id) / str(user_id) / digest


def list_files(*, tool_id: uuid.UUID, user_id: int, context: str) -> list[StoredFile]:
    """The session's files, oldest name first; reading counts as access for the TTL."""
    folder = _session_dir(tool_id, user_id, context)
    files_dir = folder / "files"
    if not files_dir.is_dir():
        return []
    _touch(folder, context)
    return [
        StoredFile(name=entry.name, path=Path(entry.path), bytes=entry.stat().st_size)
        for entry in sorted(os.scandir(files_dir), key=lambda e: e.name)
        if entry.is_file(follow_symlinks=False)
    ]


def store_files(
    *, tool_id: uuid.UUID, user_id: int, context: str, files: list[tuple[str, Path]]
) -> None:
    """Replace the session's files with `files` (name, source path); names are already safe."""
    folder = _session_dir(tool_id, user_id, context)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}"
    (staging / "files").mkdir(parents=True)
    for name, source in files:
        shutil.copyfile(source, staging / "files" / name, follow_symlinks=False)
    _write_meta(staging, context)
    retired = folder.parent / f".{folder.name}.old.{uuid.uuid4().hex}"
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)


def clear_files(*, tool_id: uuid.UUID, user_id: int, context: str) -> None:
    shutil.rmtree(_session_dir(tool_id, user_id, context), ignore_errors=True)


def clear_context_for_all_users(*, tool_id: uuid.UUID, context: str) -> int:
    """Delete every user's files of `context` on the tool (an expired snapshot's sessions)."""
    digest = hashlib.sha256(context.encode()).hexdigest()
    removed = 0
    for folder in (_root() / "sessions" / str(tool_id)).glob(f"*/{digest}"):
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def cleanup_expired(*, ttl_seconds: int) -> CleanupCounts:
    """Delete sessions whose files were last read or written more than `ttl_seconds` ago."""
    cutoff = time.time() - ttl_seconds
    sessions = files = size = 0
    for meta_path in (_root() / "sessions").glob("*/*/*/meta.json"):
        folder = meta_path.parent
        if _last_access(meta_path) >= cutoff:
            continue
        for entry in (folder / "files").glob("*"):
            files += 1
            size += entry.stat().st_size
        shutil.rmtree(folder, ignore_errors=True)
        sessions += 1
    return CleanupCounts(sessions=sessions, files=files, bytes=size)


def remove_run_folders(run_id: uuid.UUID | str) -> None:
    """Drop a run's spooled inputs (its artifacts stay until the retention sweep)."""
    shutil.rmtree(inputs_dir(run_id), ignore_errors=True)


def keep_run_inputs(run_id: uuid.UUID | str) -> bool:
    """Move an ended run's spooled inputs to the kept folder (an empty spool is just removed);
    the folder's mtime becomes now, the start of its retention. False when nothing was kept."""
    spool, kept = inputs_dir(run_id), kept_inputs_dir(run_id)
    if not spool.is_dir() or not any(spool.iterdir()):
        remove_run_folders(run_id)
        return False
    kept.parent.mkdir(parents=True, exist_ok=True)
    try:
        spool.rename(kept)
    except OSError:  # kept already (a second finish of the same run): the first copy stays
        remove_run_folders(run_id)
        return kept.is_dir()
    os.utime(kept)
    return True


def kept_input_files(run_id: uuid.UUID | str, names: list[str]) -> list[tuple[str, Path]] | None:
    """(name, path) of each of the run's kept input files, or None once any of them is gone."""
    folder = kept_inputs_dir(run_id)
    found = [(name, folder / name) for name in names]
    if not all(path.is_file() for _, path in found):
        return None
    return found


def artifacts_kept(run_id: uuid.UUID | str) -> bool:
    """Whether the run's artifacts are still stored (the retention sweep removes them whole)."""
    return (artifacts_root() / str(run_id)).is_dir()


def cleanup_old_artifacts(*, retention_days: int) -> int:
    return _remove_old_folders(artifacts_root(), retention_days)


def cleanup_kept_inputs(*, retention_days: int) -> int:
    return _remove_old_folders(_root() / "inputs-kept", retention_days)


def _remove_old_folders(root: Path, retention_days: int) -> int:
    """Delete the folders in `root` last modified more than `retention_days` ago."""
    cutoff = time.time() - retention_days * 86_400
    removed = 0
    if not root.is_dir():
        return 0
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _write_meta(folder: Path, context: str) -> None:
    meta: dict[str, Any] = {"context": context, "last_accessed_at": time.time()}
    (folder / "meta.json").write_text(json.dumps(meta))


def _touch(folder: Path, context: str) -> None:
    # A concurrent replace may have removed the folder; the new one has a fresh time anyway.
    with contextlib.suppress(OSError):
        _write_meta(folder, context)


def _last_access(meta_path: Path) -> float:
    try:
        return float(json.loads(meta_path.read_text())["last_accessed_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def spooled_run_ids() -> list[uuid.UUID]:
    """Run ids with an input spool folder older than an hour (younger ones may be mid-submit)."""
    root = _root() / "inputs"
    if not root.is_dir():
        return []
    cutoff = time.time() - 3600
    ids = []
    for entry in os.scandir(root):
        try:
            run_id = uuid.UUID(entry.name)
        except ValueError:
            continue
        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
            ids.append(run_id)
    return ids
