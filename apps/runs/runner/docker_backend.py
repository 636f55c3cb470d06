"""Production backend: one hardened container per run, through docker-py.

Hardening per shared/reference/skriptoteket-behaviour.md §2.5, plus `no-new-privileges` (the
interpreter runs directly, no shell). /work is a fresh labelled volume: the run folder is
copied in as the sandbox uid, and result.json and output/ are copied back out safely.
The image is docker/runner.Dockerfile (settings.SANDBOX_DOCKER_IMAGE).
"""

import contextlib
import importlib
import os
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner.safe_tar import ChunkStream, extract_safely, workdir_tar
from apps.runs.runner.sandbox_types import RunLimits, RunOutcome, RunRequest, RunResult
from apps.runs.runner.streams import StreamCapture

CONTAINER_UID = 10001  # the image's `runner` user
CONTAINER_PYTHON = "/opt/runner-venv/bin/python"
CONTAINER_HOME = "/tmp/home"  # noqa: S108  # inside the container's private /tmp tmpfs
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
            "Docker socket /var/run/docker.sock not found: start the Docker engine, set "
            "DOCKER_HOST, or use SANDBOX_RUNNER=bwrap on this host."
        )
    return f"Docker daemon unreachable ({error}); check that the engine runs and DOCKER_HOST."


def _host_config(limits: RunLimits, docker: Any) -> dict[str, Any]:
    ulimit = docker.types.Ulimit
    return {
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "read_only": True,
        "tmpfs": {"/tmp": f"rw,noexec,nosuid,nodev,size={limits.tmp_only_bytes},mode=1777"},  # noqa: S108
        "shm_size": limits.shm_bytes,
        "mem_limit": limits.memory_bytes,
        "memswap_limit": limits.memory_bytes,
        "nano_cpus": limits.cpus * 1_000_000_000,
        "pids_limit": limits.processes,
        "ipc_mode": "private",
        "ulimits": [
            ulimit(name="cpu", soft=limits.cpu_seconds, hard=limits.cpu_seconds + 1),
            ulimit(name="fsize", soft=limits.file_bytes, hard=limits.file_bytes),
            ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
            ulimit(name="core", soft=0, hard=0),
        ],
        # Output is read live through attach; the daemon's own copy stays small.
        "log_config": docker.types.LogConfig(
            type="json-file", config={"max-size": "1m", "max-file": "1"}
        ),
    }


def _socket_mounts(workdir: Path, docker: Any) -> list[Any]:
    # A Unix socket the worker serves in the run folder (the collections helper) cannot be
    # copied into a volume; bind it at the same place instead (worker and engine share a host).
    mounts = []
    for path in sorted(workdir.iterdir()):
        if stat.S_ISSOCK(path.lstat().st_mode):
            target = f"/work/{path.name}"
            mounts.append(docker.types.Mount(target=target, source=str(path), type="bind"))
    return mounts


def _drain_attached(frames: Any, stdout: StreamCapture, stderr: StreamCapture) -> None:
    with contextlib.suppress(Exception):  # the connection closes when the container is gone
        for out_chunk, err_chunk in frames:
            if out_chunk:
                stdout.feed(out_chunk)
            if err_chunk:
                stderr.feed(err_chunk)


def _exit_result(status_code: int) -> tuple[RunOutcome, int | None, str | None]:
    # Docker reports a process killed by signal N as 128 + N (137 = OOM kill or our kill).
    signo = status_code - 128
    if status_code > 128 and signo in signal.valid_signals():
        return "signalled", None, signal.Signals(signo).name
    return "exited", status_code, None


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
                f"Runner image {image} not found; build it with "
                f"`docker build -f docker/runner.Dockerfile -t {image} .`."
            ) from error
        except docker.errors.DockerException as error:
            raise RunnerUnavailable(_unreachable_hint(error)) from error
        return docker, client

    def check_available(self) -> None:
        """:raises RunnerUnavailable: without the SDK, the engine, or the runner image."""
        self._ready_client(_API_MARGIN_SECONDS)

    def run(self, request: RunRequest) -> RunResult:
        """Run the tool in a fresh container; result.json and output/ land in request.workdir.

        :raises RunnerUnavailable: when the engine or the image is missing.
        """
        docker, client = self._ready_client(request.limits.timeout_s + _API_MARGIN_SECONDS)
        labels = {"skriptoteket.sandbox": "1", "skriptoteket.run_dir": request.workdir.name}
        try:
            return self._run_in_volume(client, request, labels, docker)
        except docker.errors.DockerException as error:
            raise RunnerUnavailable(_unreachable_hint(error)) from error

    def _run_in_volume(
        self, client: Any, request: RunRequest, labels: dict[str, str], docker: Any
    ) -> RunResult:
        volume = client.volumes.create(labels=labels)
        try:
            container = client.containers.create(
                settings.SANDBOX_DOCKER_IMAGE,
                command=[CONTAINER_PYTHON, "-I", "/runner/_runner.py"],
                user=f"{CONTAINER_UID}:{CONTAINER_UID}",
                environment=self._environment(request.env),
                working_dir="/work",
                hostname="sandbox",
                labels=labels,
                volumes={volume.name: {"bind": "/work", "mode": "rw"}},
                mounts=_socket_mounts(request.workdir, docker),
                **_host_config(request.limits, docker),
            )
            try:
                container.put_archive("/work", workdir_tar(request.workdir, CONTAINER_UID))
                return self._start_and_collect(container, request, docker)
            finally:
                with contextlib.suppress(docker.errors.DockerException):
                    container.remove(force=True)
        finally:
            # Labelled, so an operator can find and remove what a dead engine left behind.
            with contextlib.suppress(docker.errors.DockerException):
                volume.remove(force=True)

    @staticmethod
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
        started = time.monotonic()
        container.start()
        status_code = self._wait(container, limits.timeout_s, docker)
        wall_s = time.monotonic() - started
        reader.join(_READER_JOIN_SECONDS)
        with contextlib.suppress(Exception):
            frames.close()
        self._copy_out(container, request, docker)
        if status_code is None:
            return RunResult("timed_out", None, "SIGKILL", stdout.result(), stderr.result(), wall_s)
        outcome, exit_code, signal_name = _exit_result(status_code)
        return RunResult(outcome, exit_code, signal_name, stdout.result(), stderr.result(), wall_s)

    @staticmethod
    def _wait(container: Any, timeout_s: float, docker: Any) -> int | None:
        """The exit status, or None when the wall limit passed and the container was killed."""
        import requests  # docker-py's transport

        try:
            status: int = container.wait(timeout=timeout_s)["StatusCode"]
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            with contextlib.suppress(docker.errors.APIError):
                container.kill()
            with contextlib.suppress(Exception):
                container.wait(timeout=KILL_WAIT_SECONDS)
            return None
        return status

    @staticmethod
    def _copy_out(container: Any, request: RunRequest, docker: Any) -> None:
        budget = request.limits.work_max_bytes
        stale_result = request.workdir / "result.json"
        if stale_result.is_file() or stale_result.is_symlink():
            stale_result.unlink()
        for inside in ("/work/result.json", "/work/output"):
            try:
                chunks, _stat = container.get_archive(inside)
            except docker.errors.NotFound:
                continue  # the tool removed it, or the runner never got to write it
            budget -= extract_safely(ChunkStream(chunks), request.workdir, budget)
