"""Host-side walks over a run folder: hand it to the sandbox uid and back, and measure it.

Every walk uses lstat and never follows symlinks: after a run the folder holds whatever the
tool made (symlinks to host paths included), and the worker walking it is root.
"""

import os
import shutil
import stat
import time
from pathlib import Path

# Each entry costs at least one block, so a tool cannot fill the host's inode table with
# millions of empty files for free.
_MIN_ENTRY_BYTES = 4096


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give `root` and everything below it to uid:gid (symlinks themselves, never their targets)."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (*dirnames, *filenames):
            try:
                os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)
            except FileNotFoundError:
                continue


def _entry_bytes(entry: os.DirEntry[str]) -> int:
    info = entry.stat(follow_symlinks=False)
    return max(info.st_size, info.st_blocks * 512, _MIN_ENTRY_BYTES)


def tree_bytes(root: Path) -> int:
    """Sum what the files and folders under `root` occupy (the larger of size and blocks)."""
    total = 0
    pending = [str(root)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    try:
                        total += _entry_bytes(entry)
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                    except FileNotFoundError:
                        continue  # the tool deleted it while we looked
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return total


def remove_stale_entries(root: Path, max_age_s: float) -> int:
    """Delete the entries directly under `root` not modified for `max_age_s`; dot-entries stay.

    Dot-entries are the worker's own bookkeeping (`.slots/`, `.runner-<hash>/`), except
    `.runner-tmp-*` leftovers of a worker that died while copying the runner files.
    """
    cutoff = time.time() - max_age_s
    removed = 0
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(".") and not entry.name.startswith(".runner-tmp-"):
            continue
        info = entry.stat(follow_symlinks=False)
        if info.st_mtime > cutoff:
            continue
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed += 1
    return removed
