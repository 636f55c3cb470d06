"""Watching a running sandbox: wall clock, /work growth, the run cgroup's OOM and CPU counters;
killing a bubblewrap sandbox when one of them is past its limit; and how a run ended, for both
backends."""

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from apps.runs.runner.cgroups import RunCgroup
from apps.runs.runner.sandbox_types import RunOutcome, RunRequest
from apps.runs.runner.work_tree import tree_bytes

# How often the watchdog measures /work and the cgroup; a tool can write (or compute) about
# this long past a limit.
POLL_SECONDS = 0.25


def run_ending(
    killed_for: RunOutcome | None, exit_status: int
) -> tuple[RunOutcome, int | None, str | None]:
    """(outcome, exit code, signal name) of a run the watchdog killed (`killed_for`) or that
    ended by itself with `exit_status`, where bwrap and docker-init both report a command killed
    by signal N as 128 + N."""
    if killed_for is not None:
        return killed_for, None, "SIGKILL"
    signo = exit_status - 128
    if exit_status > 128 and signo in signal.valid_signals():
        return "signalled", None, signal.Signals(signo).name
    return "exited", exit_status, None


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


def kill_sandbox(process: subprocess.Popen[bytes], cgroup: RunCgroup | None) -> None:
    """Kill every process of the run and reap the first one."""
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
    if cgroup is not None:
        cgroup.kill_all()  # whatever is left, wherever it went
    if process.returncode is None:  # still unreaped, so its pid is still its process group's
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# The run-wide CPU budget is the per-process RLIMIT_CPU plus this much: a single busy process
# meets its own limit first (SIGXCPU, as the original runner reported it), while CPU time spread
# over many processes is still caught. Without the margin the two raced, since the run's cgroup
# also counts the interpreter's start-up and, with Docker, the container's init.
RUN_CPU_MARGIN_SECONDS = 0.5


def cgroup_verdict(cgroup: RunCgroup | None, cpu_seconds: int) -> RunOutcome | None:
    """The limit the run as a whole went past, if any."""
    if cgroup is None:
        return None
    if cgroup.oom_kills() > 0:
        return "memory_limit"
    if cgroup.cpu_seconds() > cpu_seconds + RUN_CPU_MARGIN_SECONDS:
        return "cpu_limit"
    return None


def supervise(
    process: subprocess.Popen[bytes], request: RunRequest, cgroup: RunCgroup | None
) -> RunOutcome | None:
    """Wait for the run; kill it at the wall limit, when /work grows past its quota, or when
    the run's cgroup reports an OOM kill or more CPU time than allowed. None = it exited."""
    limits = request.limits
    deadline = time.monotonic() + limits.timeout_s
    quota = tree_bytes(request.workdir) + limits.work_max_bytes
    with _exit_waiter(process) as exited_within:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_sandbox(process, cgroup)
                return "timed_out"
            if exited_within(min(POLL_SECONDS, remaining)):
                # An OOM kill of one process may not end the run; it still failed on memory.
                return "memory_limit" if cgroup and cgroup.oom_kills() else None
            verdict = cgroup_verdict(cgroup, limits.cpu_seconds)
            if verdict is None and tree_bytes(request.workdir) > quota:
                verdict = "work_limit"
            if verdict is not None:
                kill_sandbox(process, cgroup)
                return verdict


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
