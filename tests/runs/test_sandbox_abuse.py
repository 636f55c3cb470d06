"""Hostile tool code against both real backends (bad-input catalogue B.7, rows 25-28), with the
same assertions: bubblewrap and a Docker container must contain the same tool the same way.

Each case asserts what actually happened inside or to the run, with limits small enough to
keep the whole file to a few seconds per case on two cores.
"""

import errno
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from apps.runs.runner.backends import RunRequest, SandboxRunner
from apps.runs.runner.docker_backend import CONTAINER_UID, LABEL_RUN_DIR
from tests.runs.test_backends import (
    SMALL_LIMITS,
    TEST_UID_BASE,
    TEST_UID_SLOTS,
    TOOL_ENV,
    make_workdir,
    run_tool,
)

ABUSE_LIMITS = replace(SMALL_LIMITS, timeout_s=3.0, memory_bytes=512 << 20)


def _slot_uid_processes() -> list[str]:
    """Host processes whose real uid is one of the test slot uids."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
        uid = int(fields.get("Uid", "-1").split()[0])
        if TEST_UID_BASE <= uid < TEST_UID_BASE + TEST_UID_SLOTS:
            found.append(f"{status.parent.name} {fields.get('Name')} {fields.get('State')}")
    return found


def _docker_containers(workdir: Path) -> list[str]:
    """Ids of the containers (running or not) the Docker backend made for `workdir`."""
    import docker  # type: ignore[import-untyped]

    filters = {"label": f"{LABEL_RUN_DIR}={workdir.name}"}
    return [c.id for c in docker.from_env().containers.list(all=True, filters=filters)]


def _leftovers(runner: SandboxRunner, workdir: Path) -> list[str]:
    """What of the run is still there after it ended: processes of the slot uids (bwrap), the
    run's container, whose removal ends every process in it (docker)."""
    if runner.name == "docker":
        return _docker_containers(workdir)
    return _slot_uid_processes()


def _state(payload: dict | None) -> dict:
    assert payload is not None, "the runner wrote no result.json"
    assert payload["status"] == "succeeded", payload
    return payload["state"]


def test_busy_loop_is_killed_at_the_wall_limit(runner: SandboxRunner, work_root: Path) -> None:
    source = "def run_tool(i, o):\n    while True:\n        pass\n"
    limits = replace(ABUSE_LIMITS, timeout_s=2.0)
    result, payload, _ = run_tool(runner, work_root, source, limits)
    assert (result.outcome, result.signal, payload) == ("timed_out", "SIGKILL", None)
    assert 2.0 <= result.wall_s < 3.0


def test_busy_loop_gets_sigxcpu_when_cpu_limit_is_below_the_wall(runner, work_root) -> None:
    source = "def run_tool(i, o):\n    while True:\n        pass\n"
    limits = replace(ABUSE_LIMITS, cpu_seconds=1)
    result, payload, _ = run_tool(runner, work_root, source, limits)
    assert (result.outcome, result.signal, payload) == ("signalled", "SIGXCPU", None)
    assert result.wall_s < 2.5


def test_fork_bomb_is_contained_and_leaves_no_process(runner, work_root) -> None:
    source = """
    import os
    def run_tool(i, o):
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    limits = replace(ABUSE_LIMITS, timeout_s=2.0, processes=16)
    started = time.monotonic()
    result, _, workdir = run_tool(runner, work_root, source, limits)
    assert result.outcome in {"timed_out", "signalled"}
    assert time.monotonic() - started < 4.0
    # bwrap: the pid namespace's init is killed first and reaped by the outer bwrap, so no
    # zombies wait for the host's init and the slot uid is clean almost at once.
    deadline = time.monotonic() + 1.0
    while _leftovers(runner, workdir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _leftovers(runner, workdir) == []


# The sandbox's own processes count too: bwrap's two and the runner; docker-init and the runner.
SANDBOX_PROCESSES = {"bwrap": 3, "docker": 2}


def test_process_limit_refuses_forks_past_the_budget(runner, work_root) -> None:
    if runner.name == "bwrap" and os.geteuid() != 0:
        pytest.skip("RLIMIT_NPROC is per uid: needs the slot uid")
    source = """
    import os, time
    def run_tool(i, o):
        children = 0
        try:
            while children < 100:
                if os.fork() == 0:
                    time.sleep(5)
                    os._exit(0)
                children += 1
        except BlockingIOError:
            pass
        return {"state": {"children": children}}
    """
    limits = replace(ABUSE_LIMITS, processes=16)
    result, payload, _ = run_tool(runner, work_root, source, limits)
    assert _state(payload)["children"] <= limits.processes - SANDBOX_PROCESSES[runner.name]
    assert result.wall_s < 2.0  # the runner's exit ends the namespace and its sleepers


def test_allocating_4_gib_fails_with_memory_error(runner, work_root) -> None:
    source = "def run_tool(i, o):\n    block = bytearray(4 << 30)\n    return {}\n"
    result, payload, _ = run_tool(runner, work_root, source, ABUSE_LIMITS)
    assert (result.outcome, result.exit_code) == ("exited", 0)
    assert payload is not None
    assert payload["status"] == "failed"
    assert payload["error_summary"] == "Tool execution failed (MemoryError)."


def test_printing_10_gib_is_truncated_and_stopped_by_the_wall(runner, work_root) -> None:
    source = """
    import sys
    def run_tool(i, o):
        chunk = "x" * (1 << 20)
        for _ in range(10 << 10):
            sys.stdout.write(chunk)
        return {}
    """
    limits = replace(ABUSE_LIMITS, timeout_s=2.0)
    result, _, _ = run_tool(runner, work_root, source, limits)
    assert result.stdout.truncated is True
    assert result.stdout.text == "x" * limits.stdout_max_bytes
    assert result.stdout.total_bytes > 100 * limits.stdout_max_bytes
    assert result.wall_s < limits.timeout_s + 1.0


def test_filling_tmp_ends_in_enospc_at_the_tmpfs_size(runner, work_root) -> None:
    source = """
    import os
    def run_tool(i, o):
        written = 0
        try:
            for n in range(10 << 10):
                with open(f"/tmp/fill{n % 64}", "ab") as out:
                    out.write(b"x" * (1 << 20))
                written += 1 << 20
        except OSError as error:
            return {"state": {"errno": error.errno, "written": written}}
        return {"state": {"errno": None, "written": written}}
    """
    _, payload, _ = run_tool(runner, work_root, source, ABUSE_LIMITS)
    state = _state(payload)
    assert state["errno"] == errno.ENOSPC
    assert state["written"] <= ABUSE_LIMITS.tmp_bytes


def test_one_file_past_the_file_size_limit_fails_with_efbig(runner, work_root) -> None:
    source = """
    def run_tool(i, o):
        try:
            with open(o + "/big.bin", "wb") as out:
                for _ in range(64):
                    out.write(b"x" * (1 << 20))
        except OSError as error:
            return {"state": {"errno": error.errno}}
        return {"state": {"errno": None}}
    """
    limits = replace(ABUSE_LIMITS, file_bytes=2 << 20)
    _, payload, workdir = run_tool(runner, work_root, source, limits)
    assert _state(payload)["errno"] == errno.EFBIG
    assert (workdir / "output" / "big.bin").stat().st_size == 2 << 20


def test_writing_past_the_work_quota_kills_the_run(runner, work_root) -> None:
    source = """
    import time
    def run_tool(i, o):
        for n in range(1000):
            with open(f"{o}/part{n}.bin", "wb") as out:
                out.write(b"x" * (1 << 20))
            time.sleep(0.05)
        return {}
    """
    result, payload, workdir = run_tool(runner, work_root, source, ABUSE_LIMITS)
    assert (result.outcome, result.signal, payload) == ("work_limit", "SIGKILL", None)
    written = sum(p.stat().st_size for p in (workdir / "output").iterdir())
    assert ABUSE_LIMITS.work_max_bytes < written < ABUSE_LIMITS.work_max_bytes + (16 << 20)


NETWORK_PROBE = """
import socket
def attempt(action):
    try:
        action()
    except OSError as error:
        return type(error).__name__
    return "connected"

def run_tool(i, o):
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.close()
    return {"state": {
        "postgres": attempt(lambda: socket.create_connection(("127.0.0.1", 5432), timeout=1)),
        "metadata": attempt(lambda: socket.create_connection(("169.254.169.254", 80), timeout=1)),
        "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
        "ipv6": attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM)),
        "unix_socket": "created",
    }}
"""


def test_tool_has_no_network_but_may_use_unix_sockets(runner, work_root) -> None:
    _, payload, _ = run_tool(runner, work_root, NETWORK_PROBE, ABUSE_LIMITS)
    assert _state(payload) == {
        "postgres": "PermissionError",
        "metadata": "PermissionError",
        "dns": "gaierror",
        "ipv6": "PermissionError",
        "unix_socket": "created",
    }


def test_no_host_secrets_or_host_files_are_visible(runner, work_root, monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "fake-host-secret-4b1d")
    source = """
    import os
    def read(path):
        try:
            with open(path, "rb") as source:
                return source.read().decode(errors="replace")
        except OSError as error:
            return type(error).__name__
    def run_tool(i, o):
        return {"state": {
            "environ": read("/proc/self/environ"),
            "pid1_environ": read("/proc/1/environ"),
            "pid1_cmdline": read("/proc/1/cmdline"),
            "docker_sock": os.path.exists("/var/run/docker.sock"),
            "shadow": read("/etc/shadow"),
            "root_home": os.path.exists("/root"),
            "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        }}
    """
    _, payload, _ = run_tool(runner, work_root, source, ABUSE_LIMITS)
    state = _state(payload)
    assert "fake-host-secret" not in repr(state)
    assert "SKRIPTOTEKET_ENTRYPOINT=run_tool" in state["environ"]
    assert (state["docker_sock"], state["shadow"], state["root_home"]) == (
        False,
        "FileNotFoundError",
        False,
    )
    # The sandbox's init and the runner: no host process is visible.
    assert len(state["pids"]) == 2
    assert state["pids"][0] == 1


SYSCALL_PROBE = """
import ctypes, fcntl, termios
libc = ctypes.CDLL(None, use_errno=True)

def errno_of(number, *args):
    if libc.syscall(number, *args) == -1:
        return ctypes.get_errno()
    return 0

def run_tool(i, o):
    numbers = {numbers}
    result = {{name: errno_of(number, 0, 0, 0, 0) for name, number in numbers.items()}}
    try:
        fcntl.ioctl(0, termios.TIOCSTI, b"x")
        result["tiocsti"] = 0
    except OSError as error:
        result["tiocsti"] = error.errno
    return {{"state": result}}
"""


def test_kernel_interfaces_are_refused_with_eperm(runner, work_root) -> None:
    import pyseccomp  # type: ignore[import-untyped]

    names = ["mount", "unshare", "ptrace", "keyctl", "bpf", "setns", "io_uring_setup"]
    numbers = {name: pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name) for name in names}
    _, payload, _ = run_tool(runner, work_root, SYSCALL_PROBE.format(numbers=numbers))
    assert _state(payload) == dict.fromkeys([*names, "tiocsti"], errno.EPERM)


def test_tool_runs_without_capabilities_and_not_as_host_root(runner, work_root) -> None:
    source = """
    import os
    def run_tool(i, o):
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        attempts = {}
        for path in ("/usr/evil", "/evil", "/proc/sys/kernel/hostname", "/runner/evil"):
            try:
                open(path, "w").close()
                attempts[path] = "written"
            except OSError as error:
                attempts[path] = error.errno
        return {"state": {
            "cap_eff": status["CapEff"].strip(),
            "no_new_privs": status["NoNewPrivs"].strip(),
            "seccomp": status["Seccomp"].strip(),
            "writes": attempts,
        }}
    """
    _, payload, _ = run_tool(runner, work_root, source, ABUSE_LIMITS)
    state = _state(payload)
    assert state["cap_eff"] == "0000000000000000"
    assert (state["no_new_privs"], state["seccomp"]) == ("1", "2")
    assert state["writes"] == {
        "/usr/evil": errno.EROFS,
        "/evil": errno.EROFS,
        "/proc/sys/kernel/hostname": errno.EROFS,
        "/runner/evil": errno.EROFS,
    }


def _host_uids_of_sandboxed_python(runner: SandboxRunner, workdir: Path) -> set[tuple[int, int]]:
    """(real, effective) host uids of the Python processes the sandbox of `workdir` runs:
    children of its bwrap, or processes in its container's cgroup."""
    statuses = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            lines = (proc / "status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
        statuses[proc.name] = (cmdline, fields)
    bwraps = {pid for pid, (cmdline, _) in statuses.items() if str(workdir).encode() in cmdline}
    containers = _docker_containers(workdir) if runner.name == "docker" else []

    def in_sandbox(pid: str, fields: dict[str, str]) -> bool:
        if runner.name == "bwrap":
            return fields.get("PPid") in bwraps
        try:
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return False
        return any(container in cgroup for container in containers)

    uids = set()
    for pid, (cmdline, fields) in statuses.items():
        if b"/runner/_runner.py" in cmdline and in_sandbox(pid, fields):
            real, effective = fields["Uid"].split()[:2]
            uids.add((int(real), int(effective)))
    return uids


def test_tool_process_is_not_root_on_the_host(runner, work_root) -> None:
    workdir = make_workdir(work_root, "import time\ntime.sleep(1.5)\n")
    request = RunRequest(workdir=workdir, env=TOOL_ENV, limits=ABUSE_LIMITS)
    run = threading.Thread(target=runner.run, args=(request,))
    run.start()
    seen: set[tuple[int, int]] = set()
    deadline = time.monotonic() + 1.2
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = _host_uids_of_sandboxed_python(runner, workdir)
    run.join()
    expected = os.getuid() if os.geteuid() != 0 else None
    assert seen, "the sandboxed runner process was not found on the host"
    for real, effective in seen:
        assert real != 0
        assert effective != 0
        if expected is None and runner.name == "docker":
            assert real == CONTAINER_UID
        elif expected is None:
            assert TEST_UID_BASE <= real < TEST_UID_BASE + TEST_UID_SLOTS
        else:
            assert real == expected


def test_a_forged_result_symlink_never_reaches_the_caller(runner, work_root) -> None:
    source = """
    import os
    def run_tool(i, o):
        os.symlink("/etc/shadow", "/work/result.json")
        return {"state": {"ok": True}}
    """
    _, payload, workdir = run_tool(runner, work_root, source, ABUSE_LIMITS)
    assert not (workdir / "result.json").is_symlink()
    assert _state(payload) == {"ok": True}
