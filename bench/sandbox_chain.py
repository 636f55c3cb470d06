"""The bubblewrap platform overhead for `sandbox_runs`, timed in this process, spawn to exit.

- bwrap_chain: exactly the chain `BwrapRunner.run` starts (apps.runs.runner.bwrap_backend
  .sandbox_python_argv: as root a fresh run cgroup, joined, and setpriv's switch to a slot uid;
  prlimit with the sandbox limits, bwrap with every flag, the seccomp filter from a fresh
  descriptor, a new session), with `<interpreter> -I -c pass` inside instead of the runner; the
  cgroup's creation and removal are inside the timing.
- bare_python: the same interpreter and arguments started bare, same stdio and environment.
  The target compares these two: like with like.
- runner_chain: the same chain running the real runner (`-I /runner/_runner.py`) on a prepared
  run folder of a trivial tool: what the runner's own work adds (toolkit, tool, result.json).
- backend_run: `get_runner().run(...)` on such a folder, as a worker calls it: adds the slot
  claim, the chown of the folder there and back, and the watchdog's wait for the exit.

Needs harness.setup_django() first (the backend reads its paths and limits from settings).
"""

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench import harness

if TYPE_CHECKING:
    from apps.runs.runner.cgroups import RunCgroup

PYTHON_ARGS = ("-I", "-c", "pass")
RUNNER_ARGS = ("-I", "/runner/_runner.py")
TOOL_SOURCE = "def run_tool(i, o):\n    return 'ok'\n"
CHAIN = "bwrap_chain"
BARE = "bare_python"
RUNNER = "runner_chain"
BACKEND = "backend_run"
_CHAIN_ENV = {"PATH": "/usr/bin:/bin"}  # what the backend gives prlimit; the bare run too


@dataclass(frozen=True)
class Chain:
    """Two prepared run folders of the trivial tool and what starting the chain needs."""

    workdir: Path  # owned by `uid` for the chain cases
    backend_workdir: Path  # for get_runner().run, which hands it to a slot uid of its own
    tool_env: dict[str, str]  # the SKRIPTOTEKET_* variables of both folders
    uid: int
    switch_uid: bool
    seccomp_bpf: Path
    interpreter: str


@contextmanager
def prepared_chain() -> Iterator[Chain]:
    """Run folders under SANDBOX_WORK_ROOT; the first handed to a claimed slot uid, as the
    backend does for a run. Folders are removed and the slot released on exit."""
    from django.conf import settings

    from apps.runs.runner.bwrap_backend import slot_lock_dir
    from apps.runs.runner.runner_files import prepare_runner_assets
    from apps.runs.runner.uid_slots import claim_uid_slot
    from apps.runs.runner.work_tree import chown_tree

    work_root = Path(settings.SANDBOX_WORK_ROOT).resolve()
    assets = prepare_runner_assets(work_root)
    workdir = work_root / f"bench-chain-{uuid.uuid4()}"
    backend_workdir = work_root / f"bench-backend-{uuid.uuid4()}"
    with ExitStack() as cleanup:
        for folder in (workdir, backend_workdir):
            cleanup.callback(shutil.rmtree, folder, True)
        tool_env = _prepare_folder(workdir)
        _prepare_folder(backend_workdir)
        switch_uid = os.geteuid() == 0
        uid = os.getuid()
        if switch_uid:
            lock_dir = slot_lock_dir(work_root)
            slot = cleanup.enter_context(claim_uid_slot(lock_dir, settings.SANDBOX_UID_SLOTS))
            uid = settings.SANDBOX_UID_BASE + slot
            chown_tree(workdir, uid, uid)
        # sandbox_python_argv ends with `<interpreter> *python_args`.
        interpreter = _argv(workdir, tool_env, uid, PYTHON_ARGS, 0)[-len(PYTHON_ARGS) - 1]
        yield Chain(
            workdir, backend_workdir, tool_env, uid, switch_uid, assets.seccomp_bpf, interpreter
        )


def _prepare_folder(workdir: Path) -> dict[str, str]:
    from apps.runs.runner.workdir import prepare_workdir, runner_env

    manifest = prepare_workdir(
        workdir=workdir, source_code=TOOL_SOURCE, memory={"settings": {}}, input_files=[]
    )
    return runner_env(
        entrypoint="run_tool",
        manifest_files=manifest,
        inputs={},
        action=None,
        collections_socket=None,
    )


def _argv(
    workdir: Path,
    tool_env: dict[str, str],
    uid: int,
    python_args: Sequence[str],
    seccomp_fd: int,
    cgroup: "RunCgroup | None" = None,
) -> list[str]:
    from apps.runs.runner.backends import RunLimits, RunRequest
    from apps.runs.runner.bwrap_backend import sandbox_python_argv

    request = RunRequest(workdir=workdir, env=tool_env, limits=RunLimits.for_context("sandbox"))
    return sandbox_python_argv(
        request, uid=uid, gid=uid, seccomp_fd=seccomp_fd, python_args=python_args, cgroup=cgroup
    )


@contextmanager
def _run_cgroup(chain: Chain) -> Iterator["RunCgroup | None"]:
    """The run's cgroup, as the backend makes one per run (none when we are not root)."""
    if not chain.switch_uid:
        yield None
        return
    from apps.runs.runner import cgroups
    from apps.runs.runner.backends import RunLimits

    limits = RunLimits.for_context("sandbox")
    cgroup_limits = cgroups.CgroupLimits(limits.memory_bytes, limits.processes, limits.cpus)
    with cgroups.run_cgroup(name=f"slot-{chain.uid}", limits=cgroup_limits) as cgroup:
        yield cgroup


def chain_sample(
    chain: Chain, python_args: Sequence[str] = PYTHON_ARGS, case: str = CHAIN
) -> float:
    """Seconds from creating the run's cgroup and spawning the sandbox chain to its exit and
    the cgroup's removal (a blocking wait: the exact end). bwrap reads the filter to its end,
    so every start needs a fresh descriptor, as in the backend."""
    seccomp_fd = os.open(chain.seccomp_bpf, os.O_RDONLY | os.O_CLOEXEC)
    try:
        started = time.perf_counter()
        with _run_cgroup(chain) as cgroup:
            argv = _argv(chain.workdir, chain.tool_env, chain.uid, python_args, seccomp_fd, cgroup)
            switch_uid = chain.switch_uid and cgroup is None  # else setpriv switches
            completed = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=_CHAIN_ENV,
                start_new_session=True,
                pass_fds=(seccomp_fd,),
                user=chain.uid if switch_uid else None,
                group=chain.uid if switch_uid else None,
                extra_groups=[] if switch_uid else None,
                check=False,
            )
        elapsed = time.perf_counter() - started
    finally:
        os.close(seccomp_fd)
    _check(case, completed)
    return elapsed


def runner_sample(chain: Chain) -> float:
    """The chain running the real runner on the trivial tool; it must report success."""
    result = chain.workdir / "result.json"
    result.unlink(missing_ok=True)
    elapsed = chain_sample(chain, RUNNER_ARGS, RUNNER)
    _check_result(RUNNER, result)
    return elapsed


def backend_sample(chain: Chain) -> float:
    """`get_runner().run` on the trivial tool, as execute_run calls it (no collections bridge)."""
    from apps.runs.runner.backends import RunLimits, RunRequest, get_runner

    (chain.backend_workdir / "result.json").unlink(missing_ok=True)
    request = RunRequest(
        workdir=chain.backend_workdir, env=chain.tool_env, limits=RunLimits.for_context("sandbox")
    )
    started = time.perf_counter()
    result = get_runner().run(request)
    elapsed = time.perf_counter() - started
    if result.outcome != "exited" or result.exit_code != 0:
        raise harness.BenchError(f"{BACKEND}: {result.outcome} {result.stderr.text[:300]!r}")
    _check_result(BACKEND, chain.backend_workdir / "result.json")
    return elapsed


def bare_sample(interpreter: str) -> float:
    """Seconds from spawning `<interpreter> -I -c pass` to its exit, no sandbox."""
    started = time.perf_counter()
    completed = subprocess.run(
        [interpreter, *PYTHON_ARGS],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_CHAIN_ENV,
        start_new_session=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    _check(BARE, completed)
    return elapsed


def _check(case: str, completed: subprocess.CompletedProcess[bytes]) -> None:
    if completed.returncode != 0:
        stderr = completed.stderr.decode(errors="replace").strip()[:300]
        raise harness.BenchError(f"{case} exited with {completed.returncode}: {stderr}")


def _check_result(case: str, path: Path) -> None:
    try:
        status = json.loads(path.read_text()).get("status")
    except (OSError, ValueError) as error:
        raise harness.BenchError(f"{case}: no readable result.json ({error})") from error
    if status != "succeeded":
        raise harness.BenchError(f"{case}: the trivial tool reported {status!r}")


def interleaved_ms(
    cases: list[tuple[str, Callable[[], float]]], samples: int, warmup: int
) -> dict[str, list[float]]:
    """`warmup` untimed runs of each case, then `samples` rounds of one run each, in milliseconds.
    Too many runs for harness.interleave's line per run; the table comes at the end."""
    for _ in range(warmup):
        for _, sample in cases:
            sample()
    timings: dict[str, list[float]] = {name: [] for name, _ in cases}
    for _ in range(samples):
        for name, sample in cases:
            timings[name].append(sample() * 1000)
    return timings
