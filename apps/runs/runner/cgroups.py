"""One cgroup per bubblewrap run: memory, processes and CPU bounded for the run as a whole.

rlimits are per process (RLIMIT_AS, RLIMIT_CPU) or per uid (RLIMIT_NPROC), and a run may have up
to RUN_MAX_PROCESSES processes, so only a cgroup bounds what they use together. The worker (root)
creates the cgroup under SANDBOX_CGROUP_PARENT, names it after the run's uid slot (a slot is held
by one run at a time, so a cgroup a killed worker left behind is emptied and reused by the next
run of that slot), and removes it when the run ends. The sandbox's first process joins the cgroup
before it drops to the slot uid (`join_argv`), so every process of the run is inside from its
start. cgroup v2 where its controllers are available; else the v1 hierarchies (one mount per
controller, as on the CI machines).
"""

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from django.conf import settings

# The controllers a run cgroup needs, by cgroup version (v1 reads CPU time from cpuacct).
V2_CONTROLLERS = ("memory", "pids", "cpu")
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
CPU_PERIOD_US = 100_000
# Killed processes leave the cgroup once the kernel has reaped them; rmdir waits this long.
_REMOVE_WAIT_SECONDS = 5.0
# Joins every cgroup named before `--`, then execs the rest. `echo 0` moves the shell itself
# (writing 0 to cgroup.procs means "the writer"); exec keeps the pid, and children inherit.
_JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo 0 > "$1" || exit 125; shift; done; shift; exec "$@"'


class CgroupUnavailable(Exception):
    """No cgroup can be created for runs here (not root, no controllers, read-only cgroupfs)."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    processes: int
    cpus: int


class RunCgroup(Protocol):
    def procs_files(self) -> list[Path]: ...

    def oom_kills(self) -> int: ...

    def cpu_seconds(self) -> float: ...

    def memory_peak_bytes(self) -> int | None: ...

    def kill_all(self) -> None: ...

    def remove(self) -> None: ...


def _write(path: Path, value: str | int) -> None:
    path.write_text(f"{value}\n")


def _pids(procs_file: Path) -> list[int]:
    try:
        return [int(line) for line in procs_file.read_text().split()]
    except OSError:
        return []


def _kill_listed(procs_file: Path) -> None:
    for pid in _pids(procs_file):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _remove_dir(path: Path, procs_file: Path) -> None:
    """rmdir `path` once its processes are gone, killing any still listed."""
    deadline = time.monotonic() + _REMOVE_WAIT_SECONDS
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
        _kill_listed(procs_file)
        time.sleep(0.02)


def _flat_keys(path: Path) -> dict[str, int]:
    """A cgroup file of `key value` lines (memory.events, cpu.stat, memory.oom_control)."""
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


@dataclass(frozen=True)
class _V2Cgroup:
    path: Path

    def procs_files(self) -> list[Path]:
        return [self.path / "cgroup.procs"]

    def oom_kills(self) -> int:
        return _flat_keys(self.path / "memory.events").get("oom_kill", 0)

    def cpu_seconds(self) -> float:
        return _flat_keys(self.path / "cpu.stat").get("usage_usec", 0) / 1e6

    def memory_peak_bytes(self) -> int | None:
        peak = self.path / "memory.peak"  # Linux 5.19+
        return int(peak.read_text()) if peak.exists() else None

    def kill_all(self) -> None:
        kill_file = self.path / "cgroup.kill"  # Linux 5.14+: the whole cgroup in one write
        if kill_file.exists():
            _write(kill_file, 1)
        _kill_listed(self.path / "cgroup.procs")

    def remove(self) -> None:
        self.kill_all()
        _remove_dir(self.path, self.path / "cgroup.procs")


@dataclass(frozen=True)
class _V1Cgroup:
    paths: dict[str, Path]  # controller -> this run's folder in that hierarchy

    def procs_files(self) -> list[Path]:
        return [path / "cgroup.procs" for path in self.paths.values()]

    def oom_kills(self) -> int:
        return _flat_keys(self.paths["memory"] / "memory.oom_control").get("oom_kill", 0)

    def cpu_seconds(self) -> float:
        return int((self.paths["cpuacct"] / "cpuacct.usage").read_text()) / 1e9

    def memory_peak_bytes(self) -> int | None:
        return int((self.paths["memory"] / "memory.max_usage_in_bytes").read_text())

    def kill_all(self) -> None:
        _kill_listed(self.paths["pids"] / "cgroup.procs")

    def remove(self) -> None:
        self.kill_all()
        for path in self.paths.values():
            _remove_dir(path, path / "cgroup.procs")


@dataclass(frozen=True)
class _Layout:
    version: int
    mounts: dict[str, Path]  # controller -> mount point (v2: every controller, one mount)


def _cgroup_mounts() -> list[tuple[str, Path, set[str]]]:
    """(fstype, mount point, super options) of every cgroup mount of this process."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, _, options = tail.split(" ")[:3]
        if fstype in {"cgroup", "cgroup2"}:
            found.append((fstype, Path(fields.split(" ")[4]), set(options.split(","))))
    return found


@cache
def _layout() -> _Layout | None:
    mounts = _cgroup_mounts()
    for fstype, point, _ in mounts:
        if fstype == "cgroup2":
            available = set((point / "cgroup.controllers").read_text().split())
            if available.issuperset(V2_CONTROLLERS):
                return _Layout(2, dict.fromkeys(V2_CONTROLLERS, point))
    v1 = {c: point for fstype, point, opts in mounts if fstype == "cgroup" for c in opts}
    if all(controller in v1 for controller in V1_CONTROLLERS):
        return _Layout(1, {c: v1[c] for c in V1_CONTROLLERS})
    return None


def _parent_dirs(layout: _Layout) -> dict[str, Path]:
    relative = str(settings.SANDBOX_CGROUP_PARENT).strip("/")
    return {c: point / relative for c, point in layout.mounts.items()}


def _prepare_parents(layout: _Layout) -> dict[str, Path]:
    """Create the parent cgroups (and, on v2, hand the controllers down to run cgroups)."""
    parents = _parent_dirs(layout)
    try:
        for parent in set(parents.values()):
            parent.mkdir(parents=True, exist_ok=True)
        if layout.version == 2:
            parent = parents["memory"]
            enable = " ".join(f"+{c}" for c in V2_CONTROLLERS)
            _write(parent.parent / "cgroup.subtree_control", enable)
            _write(parent / "cgroup.subtree_control", enable)
    except OSError as error:
        raise CgroupUnavailable(
            f"cannot create cgroups under {parents['memory']}: {error}"
        ) from error
    return parents


def check_available() -> str:
    """Describe the cgroup support runs get here (e.g. "cgroup v1 at /sys/fs/cgroup/…").

    :raises CgroupUnavailable: without root, without the memory/pids/cpu controllers, or when
        the parent cgroup cannot be created.
    """
    if os.geteuid() != 0:
        raise CgroupUnavailable("the worker is not root, so it cannot create a cgroup per run")
    layout = _layout()
    if layout is None:
        needed = ", ".join(V1_CONTROLLERS)
        raise CgroupUnavailable(f"no cgroup v2 or v1 hierarchy offers {needed}")
    parents = _prepare_parents(layout)
    return f"cgroup v{layout.version} under {parents['memory']}"


def _create(name: str, limits: CgroupLimits) -> RunCgroup:
    layout = _layout()
    if layout is None:
        raise CgroupUnavailable("no cgroup hierarchy with the needed controllers")
    parents = _prepare_parents(layout)
    paths = {c: parent / name for c, parent in parents.items()}
    leftover: RunCgroup = _V2Cgroup(paths["memory"]) if layout.version == 2 else _V1Cgroup(paths)
    if any(path.exists() for path in paths.values()):
        leftover.remove()  # a worker killed mid-run left it; its processes die now
    for path in set(paths.values()):
        path.mkdir()
    if layout.version == 2:
        cgroup = _V2Cgroup(paths["memory"])
        _write(cgroup.path / "memory.max", limits.memory_bytes)
        _write(cgroup.path / "memory.swap.max", 0)
        _write(cgroup.path / "pids.max", limits.processes)
        _write(cgroup.path / "cpu.max", f"{limits.cpus * CPU_PERIOD_US} {CPU_PERIOD_US}")
        return cgroup
    memory = paths["memory"]
    _write(memory / "memory.limit_in_bytes", limits.memory_bytes)
    swap_limit = memory / "memory.memsw.limit_in_bytes"
    if swap_limit.exists():  # only with swap accounting; the same value means no swap at all
        _write(swap_limit, limits.memory_bytes)
    _write(paths["pids"] / "pids.max", limits.processes)
    _write(paths["cpu"] / "cpu.cfs_period_us", CPU_PERIOD_US)
    _write(paths["cpu"] / "cpu.cfs_quota_us", limits.cpus * CPU_PERIOD_US)
    return _V1Cgroup(paths)


@contextlib.contextmanager
def run_cgroup(*, name: str, limits: CgroupLimits) -> Iterator[RunCgroup]:
    """A fresh cgroup `name` with `limits` for the block; every process in it is killed and the
    cgroup removed when the block ends.

    :raises CgroupUnavailable: when it cannot be created.
    """
    try:
        cgroup = _create(name, limits)
    except OSError as error:
        raise CgroupUnavailable(f"cannot create the run cgroup {name}: {error}") from error
    try:
        yield cgroup
    finally:
        cgroup.remove()


def join_argv(cgroup: RunCgroup) -> list[str]:
    """The command-line prefix that puts the process (and so all it starts) into `cgroup`."""
    return ["/bin/sh", "-c", _JOIN_SCRIPT, "sh", *map(str, cgroup.procs_files()), "--"]


def of_process(pid: int, *, path_contains: str) -> RunCgroup | None:
    """The cgroup `pid` is in, for reading its counters (the Docker backend reads its
    container's); None where this process cannot see it (no hierarchy), or where the cgroup's
    path lacks `path_contains`: in another pid namespace the number may name another process.
    """
    layout = _layout()
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    if layout is None or pid <= 0:
        return None
    # "<id>:<controllers>:<path>"; v2 is the one line with no controllers.
    relative = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if path_contains not in path:
            continue
        for controller in controllers.split(",") if controllers else ["v2"]:
            relative[controller] = path.lstrip("/")
    if layout.version == 2:
        found = layout.mounts["memory"] / relative.get("v2", "")
        return _V2Cgroup(found) if "v2" in relative and found.is_dir() else None
    if not all(controller in relative for controller in V1_CONTROLLERS):
        return None
    paths = {c: layout.mounts[c] / relative[c] for c in V1_CONTROLLERS}
    return _V1Cgroup(paths) if all(path.is_dir() for path in paths.values()) else None
