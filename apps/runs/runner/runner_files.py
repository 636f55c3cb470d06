"""The files every sandbox gets read-only at /runner, plus the compiled seccomp filter.

They are copied out of the repository into `<work root>/.runner-<content hash>/` because the
sandbox uid must be able to read them, and the repository may sit in a 0700 home folder.
The content hash covers the files and the filter, so a changed runner never reuses an old copy.
"""

import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from apps.runs.runner.seccomp_policy import build_seccomp_bpf

SOURCE_DIR = Path(__file__).resolve().parent / "files"
BPF_NAME = "sandbox.bpf"  # outside the bound /runner tree: the sandbox does not need it

_lock = threading.Lock()
_prepared: dict[Path, "RunnerAssets"] = {}


@dataclass(frozen=True)
class RunnerAssets:
    runner_dir: Path  # bound read-only at /runner
    seccomp_bpf: Path


def _source_files() -> list[Path]:
    files = [
        path
        for path in SOURCE_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    return sorted(files)


def _content_hash(files: list[Path], bpf: bytes) -> str:
    digest = hashlib.sha256(bpf)
    for path in files:
        digest.update(path.relative_to(SOURCE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_work_root(work_root: Path) -> None:
    """Create the work root as 0711: the sandbox uids pass through it to their own run folder
    but cannot list it (and so learn other runs' ids)."""
    work_root.mkdir(mode=0o711, parents=True, exist_ok=True)
    # mkdir's mode is not applied to a folder that exists already (made by `parents=True` of a
    # run folder, or by an older version): correct it when it is ours.
    info = work_root.stat()
    if info.st_mode & 0o777 != 0o711 and info.st_uid == os.geteuid():
        work_root.chmod(0o711)


def _write_copy(target: Path, files: list[Path], bpf: bytes) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".runner-tmp-", dir=target.parent))
    try:
        staging.chmod(0o755)
        (staging / "files").mkdir(mode=0o755)
        for path in files:
            destination = staging / "files" / path.relative_to(SOURCE_DIR)
            destination.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
            destination.chmod(0o644)
        for folder in (staging / "files").rglob("*"):
            if folder.is_dir():
                folder.chmod(0o755)
        (staging / BPF_NAME).write_bytes(bpf)
        (staging / BPF_NAME).chmod(0o644)
        staging.rename(target)  # atomic: another worker either sees all of it or nothing
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / BPF_NAME).is_file():
            raise  # not a lost race with another worker, a real failure


def prepare_runner_assets(work_root: Path) -> RunnerAssets:
    """Copy the runner files and filter under `work_root` once per process and return their paths.

    :raises RunnerUnavailable: when the seccomp filter cannot be built.
    """
    with _lock:
        if work_root in _prepared and _prepared[work_root].seccomp_bpf.is_file():
            return _prepared[work_root]
        ensure_work_root(work_root)
        bpf = build_seccomp_bpf()
        files = _source_files()
        target = work_root / f".runner-{_content_hash(files, bpf)}"
        if not (target / BPF_NAME).is_file():
            _write_copy(target, files, bpf)
        assets = RunnerAssets(runner_dir=target / "files", seccomp_bpf=target / BPF_NAME)
        _prepared[work_root] = assets
        return assets
