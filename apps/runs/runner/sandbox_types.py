"""Values passed to and returned by a sandbox backend (re-exported by `runner.backends`)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from django.conf import settings

RunOutcome = Literal["exited", "signalled", "timed_out", "work_limit", "memory_limit", "cpu_limit"]


@dataclass(frozen=True)
class RunLimits:
    """What one run may use. Backends enforce each limit with their own mechanism; which apply
    to the run as a whole and which to each process: docs/runner.md, "Limits"."""

    timeout_s: float  # wall clock; the whole sandbox is killed when it passes
    # Memory of the whole run (cgroup: resident memory, tmpfs pages, kernel memory) and the
    # address space of each process (bwrap: RLIMIT_AS).
    memory_bytes: int
    # CPU time of the whole run (cgroup counter, bwrap's watchdog) and of each process
    # (RLIMIT_CPU: SIGXCPU).
    cpu_seconds: int
    processes: int  # processes and threads of the run (pids cgroup; bwrap: also RLIMIT_NPROC)
    tmp_bytes: int  # /tmp and /dev/shm together: /dev/shm gets shm_bytes, /tmp the rest
    file_bytes: int  # RLIMIT_FSIZE: the largest single file the tool may write
    work_max_bytes: int  # what the tool may leave in /work (it lands on the host's disk)
    stdout_max_bytes: int
    stderr_max_bytes: int
    open_files: int = 256
    shm_bytes: int = 4 << 20  # size of the tmpfs at /dev/shm, taken from tmp_bytes
    cpus: int = 1  # CPU rate of the whole run, in cores (cgroup CPU quota)

    def __post_init__(self) -> None:
        if not 0 < self.shm_bytes < self.tmp_bytes:
            raise ValueError("shm_bytes must be above 0 and below tmp_bytes (it is taken from it).")

    @property
    def tmp_only_bytes(self) -> int:
        """Size of the tmpfs at /tmp: the tmp budget less /dev/shm."""
        return self.tmp_bytes - self.shm_bytes

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
            shm_bytes=settings.RUN_SHM_BYTES,
            cpus=settings.RUN_CPUS,
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
    # What the run as a whole used, from its cgroup (None where the backend cannot tell).
    cpu_s: float | None = None
    memory_peak_bytes: int | None = None


class SandboxRunner(Protocol):
    name: str

    def check_available(self) -> None:
        """Raise RunnerUnavailable (with a hint for the operator) when nothing can run."""

    def run(self, request: RunRequest) -> RunResult:
        """Run `<python> -I /runner/_runner.py` with /work = request.workdir."""

    def remove_leftovers(self, *, keep: Callable[[str], bool]) -> int:
        """Remove what runs of a killed worker left in the backend (not their folders) unless
        `keep` accepts the run folder's name; return how many."""
