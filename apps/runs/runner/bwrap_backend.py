"""Development/CI backend: bubblewrap + rlimits + seccomp, started as an unprivileged host uid.

Recipe and measurements: shared/reference/ecosystem-notes.md §1. The chain is
`prlimit … -- bwrap … <python> -I /runner/_runner.py`, in its own process group.
"""

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner.bwrap_preflight import INSTALL_HINT, smoke_test, tasks_of_uid, which
from apps.runs.runner.runner_files import RunnerAssets, prepare_runner_assets
from apps.runs.runner.sandbox_types import RunLimits, RunOutcome, RunRequest, RunResult
from apps.runs.runner.streams import StreamCapture, start_drain
from apps.runs.runner.uid_slots import claim_uid_slot
from apps.runs.runner.work_tree import chown_tree, tree_bytes

SYSTEM_PYTHON = Path("/usr/bin/python3")
# Paths inside the sandbox, whose /tmp is its own tmpfs (nothing shared with the host's /tmp).
SANDBOX_TMP = "/tmp"  # noqa: S108
SANDBOX_HOME = f"{SANDBOX_TMP}/home"
# How often the watchdog measures /work; a tool can write about this long past the quota.
WORK_POLL_SECONDS = 0.25
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


def _bwrap_argv(bwrap: str, box: _Sandbox, env: dict[str, str], tmp_bytes: int) -> list[str]:
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
    argv += ["--size", str(tmp_bytes), "--tmpfs", SANDBOX_TMP, "--dir", SANDBOX_HOME]
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
    request: RunRequest, *, uid: int, gid: int, seccomp_fd: int, python_args: Sequence[str]
) -> list[str]:
    """The command line `run` starts for `request`, with `python_args` in place of
    `-I /runner/_runner.py`.

    Everything else is the backend's own: prlimit with the request's limits, then bwrap with
    every flag, the tools' environment (with `request.env`) and interpreter; it ends with
    `<interpreter> *python_args`. For measuring what the sandbox itself costs
    (bench/sandbox_runs.py); the caller starts it as `run` does (as `uid`, `seccomp_fd` passed,
    a new session) with `request.workdir` owned by `uid`.
    """
    assets = prepare_runner_assets(Path(settings.SANDBOX_WORK_ROOT))
    box = _Sandbox(request.workdir.resolve(), assets, runner_venv(), uid, gid, seccomp_fd)
    limits = request.limits
    nproc = limits.processes if os.geteuid() == 0 else limits.processes + tasks_of_uid(uid)
    env = sandbox_env(box.venv, request.env)
    bwrap = _bwrap_argv(which("bwrap"), box, env, limits.tmp_bytes)
    # _bwrap_argv ends with `<interpreter> -I /runner/_runner.py`; keep only the interpreter.
    runner_args = 2
    return [*_prlimit_argv(which("prlimit"), limits, nproc), *bwrap[:-runner_args], *python_args]


def _exit_result(returncode: int) -> tuple[RunOutcome, int | None, str | None]:
    # bwrap reports a command killed by signal N as exit code 128 + N.
    signo = -returncode if returncode < 0 else returncode - 128
    if (returncode < 0 or returncode > 128) and signo in signal.valid_signals():
        return "signalled", None, signal.Signals(signo).name
    return "exited", returncode, None


def _kill_child(parent_pid: int, child_pid: int) -> None:
    # A pidfd pins the process; checking its parent afterwards proves the pid was not reused.
    try:
        pidfd = os.pidfd_open(child_pid)
    except OSError:
        return
    try:
        status = Path(f"/proc/{child_pid}/status").read_text()
        if f"\nPPid:\t{parent_pid}\n" in status:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # Kill bwrap's pid 1 first: the kernel then ends every process in the pid namespace (also
    # those the tool moved to other sessions), and the outer bwrap reaps it and exits. Killing
    # the outer one first would leave pid 1 a zombie, counted against the slot uid's
    # RLIMIT_NPROC until the host's init reaps it.
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    with contextlib.suppress(OSError):
        for child in children.read_text().split():
            _kill_child(process.pid, int(child))
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=1.0)
    if process.returncode is None:  # still unreaped, so its pid is still its process group's
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _supervise(process: subprocess.Popen[bytes], request: RunRequest) -> RunOutcome | None:
    """Wait for the run; kill it at the wall limit or when /work grows past its quota."""
    limits = request.limits
    deadline = time.monotonic() + limits.timeout_s
    quota = tree_bytes(request.workdir) + limits.work_max_bytes
    with _exit_waiter(process) as exited_within:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(process)
                return "timed_out"
            if exited_within(min(WORK_POLL_SECONDS, remaining)):
                return None
            if tree_bytes(request.workdir) > quota:
                _kill_group(process)
                return "work_limit"


@contextlib.contextmanager
def _exit_waiter(process: subprocess.Popen[bytes]) -> Iterator[Callable[[float], bool]]:
    """A wait that wakes the moment the process exits. Popen.wait(timeout) polls with growing
    sleeps (up to 50 ms), which added 0-35 ms to every run; a pidfd becomes readable at exit."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # old kernel: fall back to Popen's polling
        yield lambda timeout: _wait_polling(process, timeout)
        return
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)

    def exited_within(timeout: float) -> bool:
        if not poller.poll(max(1, int(timeout * 1000))):
            return False
        process.wait()
        return True

    try:
        yield exited_within
    finally:
        os.close(pidfd)


def _wait_polling(process: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


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
        or when the kernel does not let bubblewrap build a sandbox."""
        which("bwrap")
        which("prlimit")
        if runner_venv() is None and not SYSTEM_PYTHON.exists():
            raise RunnerUnavailable(f"{SYSTEM_PYTHON} is missing; {INSTALL_HINT}.")
        prepare_runner_assets(Path(settings.SANDBOX_WORK_ROOT))
        smoke_test(settings.SANDBOX_UID_BASE if os.geteuid() == 0 else None)

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
            return self._run_as(request, assets, os.getuid(), os.getgid())
        with claim_uid_slot(slot_lock_dir(work_root), settings.SANDBOX_UID_SLOTS) as slot:
            uid = settings.SANDBOX_UID_BASE + slot
            chown_tree(workdir, uid, uid)
            workdir.chmod(0o700)
            try:
                return self._run_as(request, assets, uid, uid)
            finally:
                chown_tree(workdir, os.getuid(), os.getgid())

    def _run_as(self, request: RunRequest, assets: RunnerAssets, uid: int, gid: int) -> RunResult:
        seccomp_fd = os.open(assets.seccomp_bpf, os.O_RDONLY | os.O_CLOEXEC)
        box = _Sandbox(request.workdir.resolve(), assets, runner_venv(), uid, gid, seccomp_fd)
        try:
            return self._execute(request, box)
        finally:
            os.close(seccomp_fd)

    def _execute(self, request: RunRequest, box: _Sandbox) -> RunResult:
        limits = request.limits
        env = sandbox_env(box.venv, request.env)
        switch_uid = os.geteuid() == 0
        # RLIMIT_NPROC counts every task of the uid. A slot uid runs nothing else; without the
        # switch the worker's own user does, so the budget comes on top of what it runs now.
        nproc = limits.processes if switch_uid else limits.processes + tasks_of_uid(box.uid)
        argv = [
            *_prlimit_argv(which("prlimit"), limits, nproc),
            *_bwrap_argv(which("bwrap"), box, env, limits.tmp_bytes),
        ]
        started = time.monotonic()
        try:
            process = subprocess.Popen(  # noqa: S603  # fixed argv, no shell
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
        if process.stdout is None or process.stderr is None:  # pragma: no cover - PIPE given
            raise RuntimeError("Popen did not open the output pipes.")
        stdout = StreamCapture(limits.stdout_max_bytes)
        stderr = StreamCapture(limits.stderr_max_bytes)
        readers = [
            start_drain(process.stdout, stdout, "sandbox-stdout"),
            start_drain(process.stderr, stderr, "sandbox-stderr"),
        ]
        try:
            killed_for = _supervise(process, request)
        except BaseException:
            _kill_group(process)
            raise
        wall_s = time.monotonic() - started
        for reader in readers:
            reader.join(_READER_JOIN_SECONDS)
        if killed_for is not None:
            return RunResult(killed_for, None, "SIGKILL", stdout.result(), stderr.result(), wall_s)
        outcome, exit_code, signal_name = _exit_result(process.returncode)
        return RunResult(outcome, exit_code, signal_name, stdout.result(), stderr.result(), wall_s)
