"""Production backend: one hardened container per run, through docker-py.

Hardening per shared/reference/skriptoteket-behaviour.md §2.5, plus `no-new-privileges` and the
bwrap backend's seccomp rules (seccomp_policy.py). The run folder is bind-mounted at /work, as
bwrap does: the worker and the engine share a host and the path (docker-compose.yml), so the
collections helper's socket in the folder works, the worker's /work quota watchdog sees what
the tool writes, and result.json and output/ need no copying. Limits of memory, processes and
CPU rate are the container's, so they hold for the run as a whole (docs/runner.md, "Limits").
The image is docker/runner.Dockerfile (settings.SANDBOX_DOCKER_IMAGE).
"""

import contextlib
import importlib
import os
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner import cgroups
from apps.runs.runner.sandbox_types import RunLimits, RunOutcome, RunRequest, RunResult
from apps.runs.runner.seccomp_policy import docker_seccomp_profile
from apps.runs.runner.streams import StreamCapture
from apps.runs.runner.supervision import POLL_SECONDS, cgroup_verdict, run_ending
from apps.runs.runner.work_tree import chown_tree, tree_bytes

CONTAINER_UID = 10001  # the image's `runner` user, the sandbox uid of a root worker
CONTAINER_PYTHON = "/opt/runner-venv/bin/python"
CONTAINER_HOME = "/tmp/home"  # noqa: S108  # inside the container's private /tmp tmpfs
# Labels every sandbox container carries: the sweep finds a dead worker's containers by them.
LABEL_SANDBOX = "skriptoteket.sandbox"
LABEL_WORK_ROOT = "skriptoteket.work_root"
LABEL_RUN_DIR = "skriptoteket.run_dir"
KILL_WAIT_SECONDS = 10
_READER_JOIN_SECONDS = 5.0
_API_MARGIN_SECONDS = 60  # docker API calls may take this long beyond the run's wall limit


def _import_docker() -> Any:
    # By name: the repository's docker/ folder (Dockerfiles) would shadow the SDK for mypy,
    # and without the SDK installed it imports as an empty namespace package.
    try:
        module = importlib.import_module("docker")
    except ImportError:
        module = None
    if not hasattr(module, "from_env"):
        raise RunnerUnavailable(
            "The docker Python package is missing; pip install -r requirements/base.txt."
        )
    return module


def _unreachable_hint(error: Exception) -> str:
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return (
            "Docker socket /var/run/docker.sock not found: start the Docker engine "
            "(scripts/docker_engine.sh), set DOCKER_HOST, or use SANDBOX_RUNNER=bwrap here."
        )
    return f"Docker daemon unreachable ({error}); check that the engine runs and DOCKER_HOST."


@cache
def _seccomp_option() -> str:
    return f"seccomp={docker_seccomp_profile()}"


def _host_config(limits: RunLimits, docker: Any) -> dict[str, Any]:
    ulimit = docker.types.Ulimit
    return {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges", _seccomp_option()],
        "read_only": True,
        # docker-init as pid 1 reaps orphans and reports the runner's signal as 128 + N.
        "init": True,
        "tmpfs": {"/tmp": f"rw,noexec,nosuid,nodev,size={limits.tmp_only_bytes},mode=1777"},  # noqa: S108
        "shm_size": limits.shm_bytes,
        "ipc_mode": "private",
        # The container's cgroup: totals of the whole run.
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,
        "nano_cpus": limits.cpus * 1_000_000_000,
        "pids_limit": limits.processes,
        "ulimits": [
            ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds + 1),
            ulimit(name="fsize", soft=limits.file_bytes, hard=limits.file_bytes),
            ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
            ulimit(name="core", soft=0, hard=0),
            # Docker has no RLIMIT_AS; RLIMIT_DATA counts private mappings (what malloc takes),
            # so an oversized allocation fails with MemoryError, as under bwrap.
            ulimit(name="data", soft=limits.memory_bytes, hard=limits.memory_bytes),
        ],
        # Output is read live through attach; the daemon keeps no copy.
        "log_config": docker.types.LogConfig(type="none"),
    }


def _sandbox_ids() -> tuple[int, int]:
    """The uid:gid the tool runs as: the image's user for a root worker, else the worker's own
    (which owns the run folder already)."""
    if os.geteuid() == 0:
        return CONTAINER_UID, CONTAINER_UID
    return os.getuid(), os.getgid()


def _environment(extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": "/opt/runner-venv/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": CONTAINER_HOME,
        "XDG_CACHE_HOME": f"{CONTAINER_HOME}/.cache",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **extra,
    }


class DockerRunner:
    name = "docker"

    def _ready_client(self, timeout_s: float) -> tuple[Any, Any]:
        """The docker module and a client whose engine answers and has the runner image."""
        docker = _import_docker()
        image = settings.SANDBOX_DOCKER_IMAGE
        try:
            client = docker.from_env(timeout=int(timeout_s))
            client.ping()
            client.images.get(image)
        except docker.errors.ImageNotFound as error:
            raise RunnerUnavailable(
                f"Runner image {image} not found; build it with scripts/runner_image.sh "
                f"(or `docker build -f docker/runner.Dockerfile -t {image} .`)."
            ) from error
        except docker.errors.DockerException as error:
            raise RunnerUnavailable(_unreachable_hint(error)) from error
        return docker, client

    def check_available(self) -> None:
        """:raises RunnerUnavailable: without the SDK, the engine, or the runner image."""
        self._ready_client(_API_MARGIN_SECONDS)

    def run(self, request: RunRequest) -> RunResult:
        """Run the tool in a fresh container with /work = request.workdir; the folder stays,
        owned by the caller again, and the container is gone.

        :raises RunnerUnavailable: when the engine or the image is missing.
        """
        docker, client = self._ready_client(request.limits.timeout_s + _API_MARGIN_SECONDS)
        work_root = Path(settings.SANDBOX_WORK_ROOT).resolve()
        workdir = request.workdir.resolve()
        if work_root not in workdir.parents or not workdir.is_dir():
            # The folder is chowned recursively below; never let a wrong path reach that.
            raise ValueError(f"Run folder {workdir} must be a folder under {work_root}.")
        uid, gid = _sandbox_ids()
        chown_tree(workdir, uid, gid)
        workdir.chmod(0o700)
        labels = {
            LABEL_SANDBOX: "1",
            LABEL_WORK_ROOT: str(work_root),
            LABEL_RUN_DIR: workdir.name,
        }
        try:
            return self._run_container(client, docker, request, workdir, labels, f"{uid}:{gid}")
        except docker.errors.DockerException as error:
            raise RunnerUnavailable(_unreachable_hint(error)) from error
        finally:
            chown_tree(workdir, os.getuid(), os.getgid())

    def _run_container(
        self,
        client: Any,
        docker: Any,
        request: RunRequest,
        workdir: Path,
        labels: dict[str, str],
        user: str,
    ) -> RunResult:
        # `env -i`: the tool sees exactly its environment, not the ENV lines of the image and
        # its base (PIP_*, GPG_KEY, PYTHON_VERSION of the official image).
        env_argv = [f"{key}={value}" for key, value in _environment(request.env).items()]
        container = client.containers.create(
            settings.SANDBOX_DOCKER_IMAGE,
            command=["/usr/bin/env", "-i", *env_argv, CONTAINER_PYTHON, "-I", "/runner/_runner.py"],
            user=user,
            working_dir="/work",
            hostname="sandbox",
            labels=labels,
            mounts=[docker.types.Mount(target="/work", source=str(workdir), type="bind")],
            **_host_config(request.limits, docker),
        )
        try:
            return self._start_and_collect(container, request, docker)
        finally:
            # Also when the worker is told to stop mid-run; a killed worker's containers are
            # removed by the sweep (remove_leftovers).
            with contextlib.suppress(docker.errors.DockerException):
                container.remove(force=True)

    def _start_and_collect(self, container: Any, request: RunRequest, docker: Any) -> RunResult:
        limits = request.limits
        stdout = StreamCapture(limits.stdout_max_bytes)
        stderr = StreamCapture(limits.stderr_max_bytes)
        # Attach before start so no output is missed and none has to be stored by the daemon.
        frames = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
        reader = threading.Thread(
            target=_drain_attached,
            args=(frames, stdout, stderr),
            name="sandbox-attach",
            daemon=True,
        )
        reader.start()
        container.start()
        # From here, as bwrap's from its spawn: the engine's start (runc, ~0.3 s) is not the tool's.
        started = time.monotonic()
        waiter = _ExitWaiter(container, limits.timeout_s + _API_MARGIN_SECONDS)
        usage = _Usage.of(container)
        killed_for = _supervise(container, request, waiter, usage, docker)
        wall_s = time.monotonic() - started
        reader.join(_READER_JOIN_SECONDS)
        with contextlib.suppress(Exception):
            frames.close()
        container.reload()
        if killed_for is None and container.attrs["State"].get("OOMKilled"):
            # An OOM kill of one process may not end the run; it still failed on memory.
            killed_for = "memory_limit"
        outcome, exit_code, signal_name = run_ending(killed_for, waiter.status_code)
        return RunResult(
            outcome,
            exit_code,
            signal_name,
            stdout.result(),
            stderr.result(),
            wall_s,
            cpu_s=usage.cpu_s,
            memory_peak_bytes=usage.memory_peak_bytes,
        )

    def remove_leftovers(self, *, keep: Callable[[str], bool]) -> int:
        """Remove this work root's sandbox containers whose run folder `keep` refuses (those of
        a worker killed mid-run); return how many. 0 when no engine answers."""
        try:
            docker, client = self._ready_client(_API_MARGIN_SECONDS)
        except RunnerUnavailable:
            return 0
        work_root = str(Path(settings.SANDBOX_WORK_ROOT).resolve())
        filters = {"label": [f"{LABEL_SANDBOX}=1", f"{LABEL_WORK_ROOT}={work_root}"]}
        removed = 0
        for container in client.containers.list(all=True, filters=filters):
            if keep(container.labels.get(LABEL_RUN_DIR, "")):
                continue
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
                removed += 1
        return removed


class _ExitWaiter:
    """Blocks in the engine's wait endpoint on a thread, so the watchdog wakes at the exit."""

    def __init__(self, container: Any, timeout_s: float) -> None:
        self.status_code = -1
        self.exited = threading.Event()
        self._thread = threading.Thread(
            target=self._wait, args=(container, timeout_s), name="sandbox-wait", daemon=True
        )
        self._thread.start()

    def _wait(self, container: Any, timeout_s: float) -> None:
        # The engine went away: the watchdog's deadline ends the run.
        with contextlib.suppress(Exception):
            self.status_code = int(container.wait(timeout=timeout_s)["StatusCode"])
        self.exited.set()


class _Usage:
    """The container's cgroup counters, read by the watchdog while the container lives (the
    engine removes the cgroup at its exit, so the figures are those of the last poll). Without
    a view of the cgroup (a worker in another pid namespace) every figure stays None and only
    the engine's OOMKilled flag tells a memory kill."""

    def __init__(self, cgroup: cgroups.RunCgroup | None) -> None:
        self.cgroup = cgroup
        self.cpu_s: float | None = None
        self.memory_peak_bytes: int | None = None

    @classmethod
    def of(cls, container: Any) -> "_Usage":
        with contextlib.suppress(Exception):  # gone already: nothing to read
            container.reload()
            pid = int(container.attrs["State"]["Pid"])  # a host pid
            return cls(cgroups.of_process(pid, path_contains=container.id))
        return cls(None)

    def verdict(self, cpu_seconds: int) -> RunOutcome | None:
        """The run-wide limit the container went past, if any (as the bwrap watchdog's)."""
        try:
            if self.cgroup is not None:
                self.cpu_s = self.cgroup.cpu_seconds()
                self.memory_peak_bytes = self.cgroup.memory_peak_bytes()
            return cgroup_verdict(self.cgroup, cpu_seconds)
        except (OSError, ValueError):  # the container ended between two reads
            return None


def _supervise(
    container: Any, request: RunRequest, waiter: _ExitWaiter, usage: _Usage, docker: Any
) -> RunOutcome | None:
    """Wait for the container; kill it at the wall limit, when /work grows past its quota, or
    when its cgroup reports an OOM kill or more CPU time than allowed. None = it exited."""
    limits = request.limits
    deadline = time.monotonic() + limits.timeout_s
    quota = tree_bytes(request.workdir) + limits.work_max_bytes
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            verdict: RunOutcome = "timed_out"
            break
        if waiter.exited.wait(min(POLL_SECONDS, remaining)):
            return None
        found = usage.verdict(limits.cpu_seconds)
        if found is None and tree_bytes(request.workdir) > quota:
            found = "work_limit"
        if found is not None:
            verdict = found
            break
    with contextlib.suppress(docker.errors.APIError):
        container.kill()
    waiter.exited.wait(KILL_WAIT_SECONDS)
    return verdict


def _drain_attached(frames: Any, stdout: StreamCapture, stderr: StreamCapture) -> None:
    with contextlib.suppress(Exception):  # the connection closes when the container is gone
        for out_chunk, err_chunk in frames:
            if out_chunk:
                stdout.feed(out_chunk)
            if err_chunk:
                stderr.feed(err_chunk)
