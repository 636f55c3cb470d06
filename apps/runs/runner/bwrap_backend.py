"""Development/CI backend: bubblewrap + rlimits + seccomp + a cgroup per run, started as an
unprivileged host uid.

The chain is `sh (joins the run cgroup) → setpriv (drops to the slot uid) → prlimit … → bwrap …
<python> -I /runner/_runner.py`, in its own process group; docs/runner.md lists every limit.
"""

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import structlog
from django.conf import settings

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner import cgroups
from apps.runs.runner.bwrap_preflight import INSTALL_HINT, smoke_test, tasks_of_uid, which
from apps.runs.runner.cgroups import CgroupLimits, CgroupUnavailable, RunCgroup
from apps.runs.runner.runner_files import RunnerAssets, prepare_runner_assets
from apps.runs.runner.sandbox_types import RunLimits, RunRequest, RunResult
from apps.runs.runner.streams import StreamCapture, start_drain
from apps.runs.runner.supervision import kill_sandbox, run_ending, supervise
from apps.runs.runner.uid_slots import claim_uid_slot
from apps.runs.runner.work_tree import chown_tree

log = structlog.get_logger(__name__)

SYSTEM_PYTHON = Path("/usr/bin/python3")
# Paths inside the sandbox, whose /tmp is its own tmpfs (nothing shared with the host's /tmp).
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_HOME = f"{SANDBOX_TMP}/home"
SANDBOX_SHM = "/dev/shm"  # noqa: S108 - the sandbox's own sized tmpfs
_READER_JOIN_SECONDS = 5.0


@dataclass(frozen=True)
class _Sandbox:
    """Everything the bwrap command line is made of for one run."""

    workdir: Path
    assets: RunnerAssets
    venv: Path | None
    uid: int
    gid: int
    seccomp_fd: int


def runner_venv() -> Path | None:
    """The venv scripts/sandbox.sh built for tools (pandas, openpyxl), when it exists."""
    venv = Path(settings.SANDBOX_RUNNER_VENV)
    return venv if (venv / "bin" / "python").exists() else None


def sandbox_env(venv: Path | None, extra: dict[str, str]) -> dict[str, str]:
    """The complete environment a tool sees (bwrap starts from an empty one)."""
    path = "/usr/bin:/bin" if venv is None else f"{venv}/bin:/usr/bin:/bin"
    return {
        "PATH": path,
        "HOME": SANDBOX_HOME,
        "XDG_CACHE_HOME": f"{SANDBOX_HOME}/.cache",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        # RLIMIT_AS counts virtual memory; multi-threaded BLAS reserves buffers per thread.
        "OPENBLAS_NUM_THREADS": "1",
        **extra,
    }


def _prlimit_argv(prlimit: str, limits: RunLimits, nproc: int) -> list[str]:
    return [
        prlimit,
        f"--as={limits.memory_bytes}",
        # SIGXCPU at the soft limit; the hard limit one second later is a SIGKILL backstop.
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--nproc={nproc}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        "--core=0",
        "--",
    ]


def _bwrap_argv(bwrap: str, box: _Sandbox, env: dict[str, str], limits: RunLimits) -> list[str]:
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    argv += ["--cap-drop", "ALL", "--disable-userns"]
    argv += ["--uid", str(box.uid), "--gid", str(box.gid), "--hostname", "sandbox", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        argv += ["--symlink", f"usr/{link}", f"/{link}"]
    # /proc/sys read-only: host-global sysctls must not even pass an access(W_OK) check.
    argv += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev"]
    # bwrap's /dev is a tmpfs as large as half the host's memory, /dev/shm a folder in it: give
    # /dev/shm its own sized tmpfs and make the rest of /dev read-only.
    argv += ["--size", str(limits.shm_bytes), "--tmpfs", SANDBOX_SHM, "--remount-ro", "/dev"]
    argv += ["--size", str(limits.tmp_only_bytes), "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME]
    argv += ["--bind", str(box.workdir), "/work", "--chdir", "/work"]
    if box.venv is not None:
        argv += ["--ro-bind", str(box.venv), str(box.venv)]
    argv += ["--ro-bind", str(box.assets.runner_dir), "/runner"]
    argv += ["--seccomp", str(box.seccomp_fd)]
    # Without this the root tmpfs bwrap builds stays writable.
    argv += ["--remount-ro", "/"]
    python = box.venv / "bin" / "python" if box.venv is not None else SYSTEM_PYTHON
    return [*argv, str(python), "-I", "/runner/_runner.py"]


def sandbox_python_argv(
    request: RunRequest,
    *,
    uid: int,
    gid: int,
    seccomp_fd: int,
    python_args: Sequence[str],
    cgroup: RunCgroup | None,
) -> list[str]:
    """The command line `run` starts for `request`, with `python_args` in place of
    `-I /runner/_runner.py`.

    Everything else is the backend's own: with `cgroup`, the join and setpriv's switch to `uid`;
    prlimit with the request's limits, then bwrap with every flag, the tools' environment (with
    `request.env`) and interpreter; it ends with `<interpreter> *python_args`. For measuring
    what the sandbox itself costs (bench/sandbox_runs.py); the caller starts it as `run` does
    (`seccomp_fd` passed, a new session, as `uid` when root without a cgroup) with
    `request.workdir` owned by `uid`.
    """
    assets = prepare_runner_assets(Path(settings.SANDBOX_WORK_ROOT))
    box = _Sandbox(request.workdir.resolve(), assets, runner_venv(), uid, gid, seccomp_fd)
    argv = _launch_argv(box, request.limits, request.env, cgroup)
    # _launch_argv ends with `<interpreter> -I /runner/_runner.py`; keep only the interpreter.
    runner_args = 2
    return [*argv[:-runner_args], *python_args]


def slot_lock_dir(work_root: Path) -> Path:
    """Slots name host uids, so every worker using the same uids must share one lock folder,
    whatever its work root (a test's temporary root included)."""
    if os.geteuid() != 0:
        return work_root / ".slots"
    return Path(settings.SANDBOX_UID_LOCK_ROOT) / f"uid-slots-{settings.SANDBOX_UID_BASE}"


class BwrapRunner:
    name = "bwrap"

    def check_available(self) -> None:
        """:raises RunnerUnavailable: without bwrap, prlimit, libseccomp or a Python for tools,
        when the kernel does not let bubblewrap build a sandbox, or (outside DEBUG) when no
        cgroup can be created for a run."""
        which("bwrap")
        which("prlimit")
        if runner_venv() is None and not SYSTEM_PYTHON.exists():
            raise RunnerUnavailable(f"{SYSTEM_PYTHON} is missing; {INSTALL_HINT}.")
        prepare_runner_assets(Path(settings.SANDBOX_WORK_ROOT))
        smoke_test(settings.SANDBOX_UID_BASE if os.geteuid() == 0 else None)
        _cgroups_usable()

    def remove_leftovers(self, *, keep: Callable[[str], bool]) -> int:
        """Nothing to remove: a killed worker's sandboxes die with it (--die-with-parent), and
        its run cgroups are emptied when their uid slot is used again (cgroups.run_cgroup)."""
        return 0

    def run(self, request: RunRequest) -> RunResult:
        """Run the tool in `request.workdir`; the folder stays, owned by the caller again.

        :raises RunnerUnavailable: when the sandbox cannot start or every uid slot is busy.
        """
        self.check_available()
        work_root = Path(settings.SANDBOX_WORK_ROOT).resolve()
        workdir = request.workdir.resolve()
        if work_root not in workdir.parents or not workdir.is_dir():
            # The folder is chowned recursively below; never let a wrong path reach that.
            raise ValueError(f"Run folder {workdir} must be a folder under {work_root}.")
        assets = prepare_runner_assets(Path(settings.SANDBOX_WORK_ROOT))
        if os.geteuid() != 0:
            return self._run_as(request, assets, os.getuid(), os.getgid(), None)
        with claim_uid_slot(slot_lock_dir(work_root), settings.SANDBOX_UID_SLOTS) as slot:
            uid = settings.SANDBOX_UID_BASE + slot
            chown_tree(workdir, uid, uid)
            workdir.chmod(0o700)
            try:
                with _run_cgroup(uid, request.limits) as cgroup:
                    return self._run_as(request, assets, uid, uid, cgroup)
            finally:
                chown_tree(workdir, os.getuid(), os.getgid())

    def _run_as(
        self,
        request: RunRequest,
        assets: RunnerAssets,
        uid: int,
        gid: int,
        cgroup: RunCgroup | None,
    ) -> RunResult:
        seccomp_fd = os.open(assets.seccomp_bpf, os.O_RDONLY | os.O_CLOEXEC)
        box = _Sandbox(request.workdir.resolve(), assets, runner_venv(), uid, gid, seccomp_fd)
        try:
            return self._execute(request, box, cgroup)
        finally:
            os.close(seccomp_fd)

    def _execute(self, request: RunRequest, box: _Sandbox, cgroup: RunCgroup | None) -> RunResult:
        limits = request.limits
        started = time.monotonic()
        process = _start(_launch_argv(box, limits, request.env, cgroup), box, cgroup)
        if process.stdout is None or process.stderr is None:  # pragma: no cover - PIPE given
            raise RuntimeError("Popen did not open the output pipes.")
        stdout = StreamCapture(limits.stdout_max_bytes)
        stderr = StreamCapture(limits.stderr_max_bytes)
        readers = [
            start_drain(process.stdout, stdout, "sandbox-stdout"),
            start_drain(process.stderr, stderr, "sandbox-stderr"),
        ]
        try:
            killed_for = supervise(process, request, cgroup)
        except BaseException:
            kill_sandbox(process, cgroup)
            raise
        wall_s = time.monotonic() - started
        for reader in readers:
            reader.join(_READER_JOIN_SECONDS)
        # Popen reports bwrap itself killed by signal N as -N; as 128 + N like its command.
        returncode = process.returncode
        outcome, exit_code, signal_name = run_ending(
            killed_for, 128 - returncode if returncode < 0 else returncode
        )
        return RunResult(
            outcome,
            exit_code,
            signal_name,
            stdout.result(),
            stderr.result(),
            wall_s,
            cpu_s=cgroup.cpu_seconds() if cgroup else None,
            memory_peak_bytes=cgroup.memory_peak_bytes() if cgroup else None,
        )


def _launch_argv(
    box: _Sandbox, limits: RunLimits, tool_env: dict[str, str], cgroup: RunCgroup | None
) -> list[str]:
    switch_uid = os.geteuid() == 0
    # RLIMIT_NPROC counts every task of the uid. A slot uid runs nothing else; without the
    # switch the worker's own user does, so the budget comes on top of what it runs now.
    nproc = limits.processes if switch_uid else limits.processes + tasks_of_uid(box.uid)
    env = sandbox_env(box.venv, tool_env)
    chain = [
        *_prlimit_argv(which("prlimit"), limits, nproc),
        *_bwrap_argv(which("bwrap"), box, env, limits),
    ]
    if cgroup is None:
        return chain
    # Root joins the cgroup (the slot uid could not), then setpriv drops to the slot uid.
    setpriv = [which("setpriv"), f"--reuid={box.uid}", f"--regid={box.gid}", "--clear-groups"]
    return [*cgroups.join_argv(cgroup), *setpriv, "--", *chain]


def _start(argv: list[str], box: _Sandbox, cgroup: RunCgroup | None) -> subprocess.Popen[bytes]:
    # Without a cgroup a root worker switches to the slot uid here; with one, setpriv does.
    switch_uid = os.geteuid() == 0 and cgroup is None
    try:
        return subprocess.Popen(  # noqa: S603  # fixed argv, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin"},  # the worker's secrets never reach the chain
            start_new_session=True,
            pass_fds=(box.seccomp_fd,),
            user=box.uid if switch_uid else None,
            group=box.gid if switch_uid else None,
            extra_groups=[] if switch_uid else None,
        )
    except OSError as error:
        raise RunnerUnavailable(f"The sandbox could not start: {error}.") from error


@contextlib.contextmanager
def _run_cgroup(uid: int, limits: RunLimits) -> Iterator[RunCgroup | None]:
    """The run's cgroup, named after its uid slot; None where the DEBUG fallback allows none."""
    if not _cgroups_usable():
        yield None
        return
    cgroup_limits = CgroupLimits(limits.memory_bytes, limits.processes, limits.cpus)
    try:
        with cgroups.run_cgroup(name=f"slot-{uid}", limits=cgroup_limits) as cgroup:
            yield cgroup
    except CgroupUnavailable as error:
        raise RunnerUnavailable(f"The run cgroup could not be created: {error}.") from error


@cache
def _warn_unbounded(reason: str) -> None:
    log.warning("runner.unbounded_runs", reason=reason)


def _cgroups_usable() -> bool:
    """Whether runs get a cgroup here.

    :raises RunnerUnavailable: when they cannot, outside DEBUG: a run bounded per process only
        could use RUN_MAX_PROCESSES times the memory and every core of the host.
    """
    try:
        cgroups.check_available()
    except CgroupUnavailable as error:
        if not settings.DEBUG:
            raise RunnerUnavailable(
                f"Runs cannot be bounded as a whole ({error}); run the worker as root on a host "
                "with cgroups, or set DEBUG=true for an unbounded development sandbox."
            ) from error
        _warn_unbounded(str(error))
        return False
    return True
