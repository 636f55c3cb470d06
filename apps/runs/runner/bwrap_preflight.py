"""Checks that bubblewrap can build a sandbox on this host, with a hint for the operator if not."""

import shutil
import subprocess
import threading
from pathlib import Path

from apps.runs.exceptions import RunnerUnavailable

INSTALL_HINT = "run scripts/sandbox.sh (as root it installs Debian's bubblewrap)"
_USERNS_HINT = (
    "the kernel refuses unprivileged user namespaces; allow them "
    "(sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu "
    "kernel.apparmor_restrict_unprivileged_userns=0) or use SANDBOX_RUNNER=docker."
)
_SMOKE_TIMEOUT_SECONDS = 10

_lock = threading.Lock()
_smoke_passed = threading.Event()  # one successful probe per process is enough


def which(program: str) -> str:
    """Absolute path of `program`, or RunnerUnavailable."""
    path = shutil.which(program)
    if path is None:
        raise RunnerUnavailable(f"{program} is not installed; {INSTALL_HINT}.")
    return path


def _smoke_argv(bwrap: str) -> list[str]:
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        argv += ["--symlink", f"usr/{link}", f"/{link}"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/", "/usr/bin/true"]
    return argv


def smoke_test(uid: int | None) -> None:
    """Start one empty sandbox (as `uid` when given) once per process.

    :raises RunnerUnavailable: when bubblewrap cannot create namespaces here.
    """
    with _lock:
        if _smoke_passed.is_set():
            return
        try:
            probe = subprocess.run(  # noqa: S603  # fixed argv, no shell
                _smoke_argv(which("bwrap")),
                capture_output=True,
                env={"PATH": "/usr/bin:/bin"},
                timeout=_SMOKE_TIMEOUT_SECONDS,
                check=False,
                user=uid,
                group=uid,
                extra_groups=[] if uid is not None else None,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RunnerUnavailable(f"bubblewrap could not start: {error}.") from error
        if probe.returncode != 0:
            reason = probe.stderr.decode(errors="replace").strip()[:300]
            raise RunnerUnavailable(f"bubblewrap cannot build a sandbox ({reason}); {_USERNS_HINT}")
        _smoke_passed.set()


def tasks_of_uid(uid: int) -> int:
    """How many tasks (threads included, as RLIMIT_NPROC counts them) `uid` runs right now."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1"))
    return count
