"""The files of runs and sessions, all kept in the storage STORAGES["runfiles"] (settings).

That storage is a FileSystemStorage at RUN_FILES_ROOT by default, or an S3 bucket, so a web host
and a worker on another host share these files through it alone (docs/runner.md). Names in it:
    sessions/<tool_id>/<user_id>/<sha256(context)>/meta.json   which set is current, its files
                                                               and when it was stored
    sessions/<tool_id>/<user_id>/<sha256(context)>/accessed    written when they were last read
    sessions/<tool_id>/<user_id>/<sha256(context)>/<set>/<name>
    inputs/<run_id>/<name>        uploads waiting for their run (moved or removed when it ends)
    inputs-kept/<run_id>/<name>   a production run's input files after it ended, for re-runs;
                                  removed RUN_INPUTS_RETENTION_DAYS later
    artifacts/<run_id>/output/... what a finished run left in /work/output
A run folder also holds STORED_MARK, written when the folder was made: its age for the sweeps
(an object store has no folders, so none has a modification time).

A session's files are replaced as a whole: the new set is written to a new folder, then
meta.json (one object, replaced at once) names it, so a reader never sees half of each.
"""

import contextlib
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import ClientError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages
from storages.backends.s3 import S3Storage

STORED_MARK = ".stored"
# Sessions written before sets had names kept their files in files/.
_FIRST_SET = "files"
# A session's files were last listed when this object was written.
_ACCESSED = "accessed"


@dataclass(frozen=True)
class StoredFile:
    name: str
    key: str  # its name in the run files storage
    bytes: int


@dataclass(frozen=True)
class CleanupCounts:
    sessions: int
    files: int
    bytes: int


def storage() -> Storage:
    return storages["runfiles"]


def open_file(key: str) -> IO[bytes]:
    """:raises FileNotFoundError:"""
    opened: IO[bytes] = storage().open(key, "rb")
    return opened


def open_stream(key: str) -> tuple[IO[bytes], int]:
    """The file and its size, for reading once from the start. An S3 object is read as its
    bytes arrive (opening it through the storage would first copy it whole to a local file).

    :raises FileNotFoundError:
    """
    local = storage()
    if not isinstance(local, S3Storage):
        return open_file(key), local.size(key)
    name = f"{local.location.rstrip('/')}/{key}" if local.location else key
    try:
        found = local.connection.meta.client.get_object(Bucket=local.bucket_name, Key=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(key) from None
        raise
    body: IO[bytes] = found["Body"]
    return body, int(found["ContentLength"])


def inputs_dir(run_id: uuid.UUID | str) -> str:
    return f"inputs/{run_id}"


def kept_inputs_dir(run_id: uuid.UUID | str) -> str:
    return f"inputs-kept/{run_id}"


def artifacts_dir(run_id: uuid.UUID | str) -> str:
    return f"artifacts/{run_id}"


def _session_dir(tool_id: uuid.UUID, user_id: int, context: str) -> str:
    return f"sessions/{tool_id}/{user_id}/{_digest(context)}"


def _digest(context: str) -> str:
    return hashlib.sha256(context.encode()).hexdigest()


# --- sessions ----------------------------------------------------------------------------------


def list_files(*, tool_id: uuid.UUID, user_id: int, context: str) -> list[StoredFile]:
    """The session's files, oldest name first; reading counts as access for the TTL."""
    folder = _session_dir(tool_id, user_id, context)
    meta = _read_meta(folder)
    if meta is None:
        return []
    # An object of its own: writing meta.json here could put back a set that store_files has
    # just replaced.
    _save(f"{folder}/{_ACCESSED}", ContentFile(b""))
    return _meta_files(folder, meta)


def store_files(
    *, tool_id: uuid.UUID, user_id: int, context: str, files: list[tuple[str, str]]
) -> None:
    """Replace the session's files with `files` (name, key in the storage); names are safe."""
    folder = _session_dir(tool_id, user_id, context)
    previous = _read_meta(folder)
    new_set = uuid.uuid4().hex
    stored = []
    for name, source in files:
        key = f"{folder}/{new_set}/{name}"
        try:
            stored.append(StoredFile(name=name, key=key, bytes=_copy(source, key)))
        except FileNotFoundError:  # gone from its spool already (swept): the others still count
            continue
    _write_meta(folder, context, new_set, sorted(stored, key=lambda f: f.name))
    if previous is not None:
        _delete_folder(f"{folder}/{previous.get('set', _FIRST_SET)}")


def clear_files(*, tool_id: uuid.UUID, user_id: int, context: str) -> None:
    _delete_folder(_session_dir(tool_id, user_id, context))


def clear_context_for_all_users(*, tool_id: uuid.UUID, context: str) -> int:
    """Delete every user's files of `context` on the tool (an expired snapshot's sessions)."""
    digest = _digest(context)
    removed = 0
    for user in _subfolders(f"sessions/{tool_id}"):
        folder = f"sessions/{tool_id}/{user}/{digest}"
        if digest in _subfolders(f"sessions/{tool_id}/{user}"):
            _delete_folder(folder)
            removed += 1
    return removed


def cleanup_expired(*, ttl_seconds: int) -> CleanupCounts:
    """Delete sessions whose files were last read or written more than `ttl_seconds` ago."""
    cutoff = time.time() - ttl_seconds
    sessions = files = size = 0
    for tool in _subfolders("sessions"):
        for user in _subfolders(f"sessions/{tool}"):
            for digest in _subfolders(f"sessions/{tool}/{user}"):
                folder = f"sessions/{tool}/{user}/{digest}"
                if not storage().exists(f"{folder}/meta.json"):
                    continue  # a first set being written right now (store_files)
                meta = _read_meta(folder) or {}  # unreadable: long unused
                if _last_access(folder, meta) >= cutoff:
                    continue
                stored = _meta_files(folder, meta) if meta else []
                files += len(stored)
                size += sum(item.bytes for item in stored)
                _delete_folder(folder)
                sessions += 1
    return CleanupCounts(sessions=sessions, files=files, bytes=size)


def _read_meta(folder: str) -> dict[str, Any] | None:
    try:
        with open_file(f"{folder}/meta.json") as opened:
            meta = json.loads(opened.read())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _meta_files(folder: str, meta: dict[str, Any]) -> list[StoredFile]:
    set_folder = f"{folder}/{meta.get('set', _FIRST_SET)}"
    listed = meta.get("files")
    if not isinstance(listed, list):  # written before meta.json listed them
        return [
            StoredFile(name=name, key=key, bytes=storage().size(key))
            for name in _files_in(set_folder)
            for key in [f"{set_folder}/{name}"]
        ]
    return [
        StoredFile(name=item["name"], key=f"{set_folder}/{item['name']}", bytes=item["bytes"])
        for item in listed
    ]


def _write_meta(folder: str, context: str, set_name: str, files: list[StoredFile]) -> None:
    meta = {
        "context": context,
        "last_accessed_at": time.time(),
        "set": set_name,
        "files": [{"name": item.name, "bytes": item.bytes} for item in files],
    }
    content = ContentFile(json.dumps(meta).encode())
    local = storage()
    if not isinstance(local, FileSystemStorage):
        _save(f"{folder}/meta.json", content)  # one PUT: readers see the old or the new object
        return
    # A file rewritten in place could be read half-written; a rename replaces it at once.
    staged = f"{folder}/.meta.{uuid.uuid4().hex}.json"
    _save(staged, content)
    os.replace(local.path(staged), local.path(f"{folder}/meta.json"))


def _last_access(folder: str, meta: dict[str, Any]) -> float:
    """When the session's files were last stored (meta.json) or listed (its _ACCESSED mark)."""
    try:
        stored = float(meta["last_accessed_at"])
    except (ValueError, KeyError, TypeError):
        stored = 0.0
    mark = f"{folder}/{_ACCESSED}"
    if not storage().exists(mark):
        return stored
    return max(stored, storage().get_modified_time(mark).timestamp())


# --- runs --------------------------------------------------------------------------------------


def save_input(run_id: uuid.UUID | str, name: str, content: File[Any] | IO[bytes]) -> int:
    """Store one of a run's input files; returns its size. The first one marks the folder."""
    folder = inputs_dir(run_id)
    if not storage().exists(f"{folder}/{STORED_MARK}"):
        _mark(folder)
    key = f"{folder}/{name}"
    _save(key, content)
    return storage().size(key)


def copy_input(run_id: uuid.UUID | str, name: str, source_key: str) -> int:
    with open_file(source_key) as opened:
        return save_input(run_id, name, opened)


def remove_run_folders(run_id: uuid.UUID | str) -> None:
    """Drop a run's spooled inputs (its artifacts stay until the retention sweep)."""
    _delete_folder(inputs_dir(run_id))


def keep_run_inputs(run_id: uuid.UUID | str) -> bool:
    """Copy an ended run's spooled inputs to the kept folder, whose retention starts now (the
    spool itself goes with remove_run_folders). False when there was nothing to keep."""
    spool, kept = inputs_dir(run_id), kept_inputs_dir(run_id)
    names = [name for name in _files_in(spool) if name != STORED_MARK]
    if not names:
        return False
    if not storage().exists(f"{kept}/{STORED_MARK}"):
        # Not kept already (a second finish of the same run): the first copy stays.
        _mark(kept)
        for name in names:
            _copy(f"{spool}/{name}", f"{kept}/{name}")
    return True


def kept_input_files(run_id: uuid.UUID | str, names: list[str]) -> list[tuple[str, str]] | None:
    """(name, key) of each of the run's kept input files, or None once any of them is gone."""
    folder = kept_inputs_dir(run_id)
    present = set(_files_in(folder))
    if not all(name in present for name in names):
        return None
    return [(name, f"{folder}/{name}") for name in names]


def store_artifacts(run_id: uuid.UUID | str, local_dir: Path) -> None:
    """Store every file under `local_dir` (a worker's own copy of a run's output, see
    runner.artifacts.collect_artifacts) as the run's artifacts, replacing any earlier ones."""
    folder = artifacts_dir(run_id)
    _delete_folder(folder)
    _mark(folder)
    for parent, _, names in os.walk(local_dir):
        for name in names:
            path = Path(parent) / name
            with path.open("rb") as opened:
                _save(f"{folder}/{path.relative_to(local_dir).as_posix()}", opened)


def remove_artifacts(run_id: uuid.UUID | str) -> None:
    _delete_folder(artifacts_dir(run_id))


def artifacts_kept(run_id: uuid.UUID | str) -> bool:
    """Whether the run's artifacts are still stored (the retention sweep removes them whole)."""
    return bool(_files_in(artifacts_dir(run_id)) or _subfolders(artifacts_dir(run_id)))


def cleanup_old_artifacts(*, retention_days: int) -> int:
    return _remove_old_folders("artifacts", retention_days * 86_400)


def cleanup_kept_inputs(*, retention_days: int) -> int:
    return _remove_old_folders("inputs-kept", retention_days * 86_400)


def spooled_run_ids() -> list[uuid.UUID]:
    """Run ids with an input spool folder older than an hour (younger ones may be mid-submit)."""
    cutoff = time.time() - 3600
    ids = []
    for name in _subfolders("inputs"):
        try:
            run_id = uuid.UUID(name)
        except ValueError:
            continue
        if _stored_at(inputs_dir(name)) < cutoff:
            ids.append(run_id)
    return ids


def _remove_old_folders(root: str, max_age_s: int) -> int:
    """Delete the run folders in `root` stored more than `max_age_s` seconds ago."""
    cutoff = time.time() - max_age_s
    removed = 0
    for name in _subfolders(root):
        if _stored_at(f"{root}/{name}") < cutoff:
            _delete_folder(f"{root}/{name}")
            removed += 1
    return removed


# --- storage helpers ---------------------------------------------------------------------------


def _save(key: str, content: File[Any] | IO[bytes]) -> None:
    saved = storage().save(key, content if isinstance(content, File) else File(content))
    # Both backends are configured to overwrite (settings.RUN_FILES_STORAGE), never to rename.
    if saved != key:
        raise RuntimeError(f"run files storage renamed {key!r} to {saved!r}")


def _copy(source_key: str, target_key: str) -> int:
    with open_file(source_key) as opened:
        _save(target_key, opened)
    return storage().size(target_key)


def _mark(folder: str) -> None:
    _save(f"{folder}/{STORED_MARK}", ContentFile(b""))


def _stored_at(folder: str) -> float:
    """When the run folder was made; 0 (long ago) for one whose mark is missing."""
    mark = f"{folder}/{STORED_MARK}"
    if storage().exists(mark):
        return storage().get_modified_time(mark).timestamp()
    local = storage()
    if isinstance(local, FileSystemStorage):
        # Folders written before the marks existed: their own mtime, as it was then.
        try:
            return os.stat(local.path(folder)).st_mtime
        except OSError:
            return 0.0
    return 0.0


def _listdir(folder: str) -> tuple[list[str], list[str]]:
    try:
        return storage().listdir(folder)
    except FileNotFoundError:  # a filesystem folder nobody made yet; a bucket lists nothing
        return [], []


def _subfolders(folder: str) -> list[str]:
    return sorted(_listdir(folder)[0])


def _files_in(folder: str) -> list[str]:
    return sorted(_listdir(folder)[1])


def _delete_folder(folder: str) -> None:
    """Delete everything under `folder` (and, on a filesystem, the emptied folders)."""
    folders, files = _listdir(folder)
    for name in files:
        storage().delete(f"{folder}/{name}")
    for name in folders:
        _delete_folder(f"{folder}/{name}")
    local = storage()
    if isinstance(local, FileSystemStorage):
        # Gone already, or a file arrived meanwhile: the next sweep takes it.
        with contextlib.suppress(OSError):
            os.rmdir(local.path(folder))
