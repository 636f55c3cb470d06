"""Host-side walks over a run folder: hand it to the sandbox uid and back, and measure it.

Every walk uses lstat and never follows symlinks: after a run the folder holds whatever the
tool made (symlinks to host paths included), and the worker walking it is root.
"""

import os
import shutil
import time
from collections.abc import Callable
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


def remove_entries(root: Path, *, keep: Callable[[str], bool], tmp_max_age_s: float) -> int:
    """Delete the entries directly under `root` whose name `keep` refuses; return how many.

    Dot-entries are the worker's own bookkeeping (`.slots/`, `.runner-<hash>/`) and stay, except
    `.runner-tmp-*` leftovers of a worker that died while copying the runner files, removed once
    older than `tmp_max_age_s` (a live worker may be copying one right now).
    """
    cutoff = time.time() - tmp_max_age_s
    removed = 0
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith("."):
            if not entry.name.startswith(".runner-tmp-"):
                continue
            if entry.stat(follow_symlinks=False).st_mtime > cutoff:
                continue
        elif keep(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed += 1
    return removed
