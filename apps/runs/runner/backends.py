"""Sandbox backends behind one interface; `get_runner()` picks one from settings.SANDBOX_RUNNER.

The caller prepares the run folder under SANDBOX_WORK_ROOT (script.py, memory.json, input/,
output/), calls `get_runner().run(RunRequest(...))`, then reads result.json and output/ from
the folder and deletes it. A backend never deletes the folder.
"""

import threading
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
from apps.runs.runner.work_tree import remove_stale_entries

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
    "sweep_stale_workdirs",
]

_BACKENDS: dict[str, type[BwrapRunner] | type[DockerRunner]] = {
    "bwrap": BwrapRunner,
    "docker": DockerRunner,
}
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


def sweep_stale_workdirs(max_age_s: float) -> int:
    """Delete run folders under SANDBOX_WORK_ROOT untouched for `max_age_s`; return how many.

    Meant for worker start: a worker killed mid-run leaves its folder behind. Choose
    `max_age_s` above the longest wall limit so no live run loses its folder.
    """
    return remove_stale_entries(Path(settings.SANDBOX_WORK_ROOT), max_age_s)
