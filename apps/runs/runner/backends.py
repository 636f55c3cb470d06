"""Sandbox backends behind one interface; `get_runner()` picks one from settings.SANDBOX_RUNNER.

The caller prepares the run folder under SANDBOX_WORK_ROOT (script.py, memory.json, input/,
output/), calls `get_runner().run(RunRequest(...))`, then reads result.json and output/ from
the folder and deletes it. A backend never deletes the folder.
"""

import os
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.runs.runner.bwrap_backend import BwrapRunner
from apps.runs.runner.docker_backend import DockerRunner
from apps.runs.runner.sandbox_types import (
    CapturedStream,
    RunLimits,
    RunOutcome,
    RunRequest,
    RunResult,
    SandboxRunner,
)
from apps.runs.runner.work_tree import remove_entries

__all__ = [
    "BwrapRunner",
    "CapturedStream",
    "DockerRunner",
    "RunLimits",
    "RunOutcome",
    "RunRequest",
    "RunResult",
    "SandboxRunner",
    "get_runner",
    "run_folder_names",
    "sweep_folders",
]

_BACKENDS: dict[str, type[BwrapRunner] | type[DockerRunner]] = {
    "bwrap": BwrapRunner,
    "docker": DockerRunner,
}
# A worker copies the runner files into the work root in well under a second.
RUNNER_COPY_MAX_AGE_SECONDS = 600
_lock = threading.Lock()
_runners: dict[str, SandboxRunner] = {}


def get_runner() -> SandboxRunner:
    """Return this process's backend for settings.SANDBOX_RUNNER (built on first use).

    :raises ImproperlyConfigured: when the setting names no known backend.
    """
    name = settings.SANDBOX_RUNNER
    backend = _BACKENDS.get(name)
    if backend is None:
        known = ", ".join(sorted(_BACKENDS))
        raise ImproperlyConfigured(f"SANDBOX_RUNNER={name!r} is not one of: {known}.")
    with _lock:
        if name not in _runners:
            _runners[name] = backend()
        return _runners[name]


def run_folder_names() -> list[str]:
    """Names of the entries in SANDBOX_WORK_ROOT that may be run folders (not the workers' own
    dot-entries)."""
    try:
        return [name for name in os.listdir(settings.SANDBOX_WORK_ROOT) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def sweep_folders(*, keep: Callable[[str], bool]) -> int:
    """Delete the run folders under SANDBOX_WORK_ROOT whose name `keep` refuses (and stale
    runner-file copies); return how many."""
    work_root = Path(settings.SANDBOX_WORK_ROOT)
    return remove_entries(work_root, keep=keep, tmp_max_age_s=RUNNER_COPY_MAX_AGE_SECONDS)
