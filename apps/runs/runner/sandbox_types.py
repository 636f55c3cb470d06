"""Values passed to and returned by a sandbox backend (re-exported by `runner.backends`)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from django.conf import settings

RunOutcome = Literal["exited", "signalled", "timed_out", "work_limit"]


@dataclass(frozen=True)
class RunLimits:
    """What one run may use. Backends enforce each limit with their own mechanism."""

    timeout_s: float  # wall clock; the whole sandbox is killed when it passes
    memory_bytes: int  # bwrap: RLIMIT_AS (virtual memory); docker: memory cgroup
    cpu_seconds: int  # bwrap: RLIMIT_CPU (SIGXCPU); docker: ulimit cpu plus 1 CPU of rate
    processes: int  # bwrap: RLIMIT_NPROC of the slot uid; docker: pids_limit
    tmp_bytes: int  # size of the tmpfs at /tmp
    file_bytes: int  # RLIMIT_FSIZE: the largest single file the tool may write
    work_max_bytes: int  # what the tool may leave in /work (it lands on the host's disk)
    stdout_max_bytes: int
    stderr_max_bytes: int
    open_files: int = 256

    @classmethod
    def for_context(cls, context: str) -> "RunLimits":
        """Build the limits of a "sandbox" (preview) or "production" run from settings.

        :raises ValueError: for any other context.
        """
        walls = {
            "sandbox": settings.RUN_WALL_SECONDS_SANDBOX,
            "production": settings.RUN_WALL_SECONDS_PRODUCTION,
        }
        if context not in walls:
            raise ValueError(f"Unknown run context {context!r}; expected sandbox or production.")
        return cls(
            timeout_s=float(walls[context]),
            memory_bytes=settings.RUN_MEMORY_BYTES,
            cpu_seconds=settings.RUN_CPU_SECONDS,
            processes=settings.RUN_MAX_PROCESSES,
            tmp_bytes=settings.RUN_TMP_BYTES,
            file_bytes=settings.RUN_FILE_BYTES,
            work_max_bytes=settings.RUN_WORK_MAX_BYTES,
            stdout_max_bytes=settings.RUN_STDOUT_MAX_BYTES,
            stderr_max_bytes=settings.RUN_STDERR_MAX_BYTES,
        )


@dataclass(frozen=True)
class RunRequest:
    """A prepared run folder (script.py, memory.json, input/, output/) and the tool's env vars."""

    workdir: Path
    env: dict[str, str]
    limits: RunLimits


@dataclass(frozen=True)
class CapturedStream:
    """The first bytes of a stream, decoded; `total_bytes` counts everything the tool wrote."""

    text: str
    total_bytes: int
    truncated: bool


@dataclass(frozen=True)
class RunResult:
    outcome: RunOutcome
    exit_code: int | None  # set when outcome is "exited"
    signal: str | None  # e.g. "SIGXCPU" when outcome is "signalled"; "SIGKILL" after our kills
    stdout: CapturedStream
    stderr: CapturedStream
    wall_s: float


class SandboxRunner(Protocol):
    name: str

    def check_available(self) -> None:
        """Raise RunnerUnavailable (with a hint for the operator) when nothing can run."""

    def run(self, request: RunRequest) -> RunResult:
        """Run `<python> -I /runner/_runner.py` with /work = request.workdir."""
