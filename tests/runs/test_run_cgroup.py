"""What a run may use as a whole: its cgroup (memory, processes, CPU) and its sized /dev/shm,
against both real backends (bubblewrap's run cgroup, the container's), with the host's memory
measured while the tool tries to take more. Before the run cgroups each of these tools got what
it asked for."""

import os
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner import cgroups
from apps.runs.runner.backends import BwrapRunner
from tests.factories.runs import execute
from tests.runs.helpers import isolated_run_dirs, published
from tests.runs.test_backends import SMALL_LIMITS, TEST_UID_BASE, TEST_UID_SLOTS, run_tool

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run cgroups need a root worker")

MIB = 1 << 20
LIMITS = replace(
    SMALL_LIMITS, memory_bytes=512 * MIB, tmp_bytes=32 * MIB, shm_bytes=8 * MIB, processes=32
)


def _meminfo_bytes(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} missing from /proc/meminfo")


class HostMemory:
    """Samples the host's MemAvailable and Shmem every 10 ms while the block runs."""

    def __init__(self) -> None:
        self.available_before = _meminfo_bytes("MemAvailable")
        self.shmem_before = _meminfo_bytes("Shmem")
        self.lowest_available = self.available_before
        self.highest_shmem = self.shmem_before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "HostMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.lowest_available = min(self.lowest_available, _meminfo_bytes("MemAvailable"))
            self.highest_shmem = max(self.highest_shmem, _meminfo_bytes("Shmem"))

    @property
    def taken(self) -> int:
        return self.available_before - self.lowest_available

    @property
    def shmem_added(self) -> int:
        return self.highest_shmem - self.shmem_before


def _test_slot_cgroups() -> list[Path]:
    parent = Path("/sys/fs/cgroup/memory") / settings.SANDBOX_CGROUP_PARENT
    if not parent.exists():
        parent = Path("/sys/fs/cgroup") / settings.SANDBOX_CGROUP_PARENT
    names = {f"slot-{TEST_UID_BASE + n}" for n in range(TEST_UID_SLOTS)}
    return [path for path in parent.glob("slot-*") if path.name in names]


# Nothing can be planted in /dev: bwrap remounts it read-only, Docker's belongs to root.
DEV_WRITE_ERROR = {"bwrap": "EROFS", "docker": "EACCES"}


def test_dev_shm_is_sized_from_the_tmp_budget_and_dev_is_read_only(runner, work_root):
    source = """
    import errno
    def run_tool(i, o):
        written, failure = 0, None
        try:
            for n in range(256):  # 1 GiB in 4 MiB files (each below RLIMIT_FSIZE)
                with open(f"/dev/shm/fill-{n}", "wb") as f:
                    for _ in range(4):
                        f.write(b"x" * (1 << 20))
                        f.flush()
                        written += 1 << 20
        except OSError as error:
            failure = errno.errorcode[error.errno]
        try:
            open("/dev/planted", "w")
            dev = "writable"
        except OSError as error:
            dev = errno.errorcode[error.errno]
        with open("/dev/null", "w") as null:
            null.write("still works")
        import shutil
        return {"state": {"written": written, "failure": failure, "dev": dev,
                          "tmp_size": shutil.disk_usage("/tmp").total}}
    """
    with HostMemory() as host:
        result, payload, _ = run_tool(runner, work_root, source, LIMITS)
    assert result.outcome == "exited", result
    state = payload["state"]
    assert (state["failure"], state["dev"]) == ("ENOSPC", DEV_WRITE_ERROR[runner.name])
    assert 7 * MIB <= state["written"] <= 8 * MIB
    assert state["tmp_size"] == 24 * MIB  # the tmp budget less /dev/shm
    # The host's shared memory grew by the 8 MiB the tool could write, not the 1 GiB it tried.
    assert host.shmem_added < 64 * MIB, host.shmem_added


def test_children_under_the_process_limit_but_over_the_run_limit_fail_the_run(runner, work_root):
    source = """
    import os, time
    def run_tool(i, o):
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                block = bytearray(300 << 20)  # below RLIMIT_AS (512 MiB) in each process
                for at in range(0, len(block), 4096):
                    block[at] = 1
                time.sleep(5)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        return {"state": {"survived": True}}
    """
    with HostMemory() as host:
        result, _, _ = run_tool(runner, work_root, source, LIMITS)
    assert result.outcome == "memory_limit", result
    assert result.memory_peak_bytes is not None
    assert result.memory_peak_bytes <= LIMITS.memory_bytes
    # 900 MiB asked for; the host lost at most the run's 512 MiB (plus noise from elsewhere).
    assert host.taken < LIMITS.memory_bytes + 200 * MIB, host.taken
    assert result.wall_s < 5.0  # killed at the OOM, not after the children's sleep


def test_cpu_spin_in_8_processes_gets_one_core_and_stops_at_the_run_cpu_budget(runner, work_root):
    source = """
    import os
    def run_tool(i, o):
        for _ in range(7):
            if os.fork() == 0:
                break
        while True:
            pass
    """
    limits = replace(LIMITS, cpu_seconds=2, timeout_s=10.0)
    result, payload, _ = run_tool(runner, work_root, source, limits)
    assert (result.outcome, payload) == ("cpu_limit", None)
    assert result.cpu_s is not None
    # One core in all (2 here), and stopped within a watchdog poll of the 2 s budget.
    assert result.cpu_s / result.wall_s < 1.2, (result.cpu_s, result.wall_s)
    assert 2.0 <= result.cpu_s < 2.8, result.cpu_s


def test_no_run_cgroup_outlives_its_run(bwrap, work_root):
    run_tool(bwrap, work_root, "def run_tool(i, o):\n    return {}\n", LIMITS)
    assert _test_slot_cgroups() == []


def test_a_cgroup_left_by_a_killed_worker_is_emptied_and_reused(bwrap, work_root):
    limits = cgroups.CgroupLimits(memory_bytes=64 * MIB, processes=8, cpus=1)
    leftover = cgroups._create(f"slot-{TEST_UID_BASE}", limits)
    orphan = subprocess.Popen([*cgroups.join_argv(leftover), "/usr/bin/sleep", "60"])
    try:
        deadline = time.monotonic() + 2
        while not leftover.procs_files()[0].read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.01)
        result, payload, _ = run_tool(bwrap, work_root, "def run_tool(i, o):\n    return {}\n")
        assert (result.outcome, payload["status"]) == ("exited", "succeeded")
        assert orphan.wait(timeout=5) == -9  # the old cgroup's process was killed
    finally:
        orphan.kill()
    assert _test_slot_cgroups() == []


@pytest.fixture
def no_cgroups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "_layout", lambda: None)


def test_without_cgroups_the_backend_refuses_to_run_outside_debug(settings, work_root, no_cgroups):
    settings.DEBUG = False
    with pytest.raises(RunnerUnavailable, match="cannot be bounded as a whole"):
        BwrapRunner().check_available()


def test_without_cgroups_debug_runs_unbounded(settings: Any, work_root, no_cgroups):
    settings.DEBUG = True
    result, payload, _ = run_tool(BwrapRunner(), work_root, "def run_tool(i, o):\n    return {}\n")
    assert (result.outcome, payload["status"], result.cpu_s) == ("exited", "succeeded", None)


MEMORY_HOG_SOURCE = """\
import os, time
def run_tool(input_dir, output_dir):
    for _ in range(3):
        if os.fork() == 0:
            block = bytearray(200 << 20)
            for at in range(0, len(block), 4096):
                block[at] = 1
            time.sleep(5)
            os._exit(0)
    os.wait()
    return {"outputs": [{"kind": "notice", "level": "info", "message": "all memory was mine"}]}
"""


@pytest.mark.django_db
@pytest.mark.usefixtures("each_backend")
def test_a_run_over_its_memory_limit_is_a_clean_failed_run(settings, alice, api_client_for):
    settings.RUN_MEMORY_BYTES = 256 * MIB
    client = api_client_for(alice)
    with isolated_run_dirs(settings):
        tool = published(alice, MEMORY_HOG_SOURCE)
        response = client.post(f"/api/v1/tools/{tool.pk}/run", {}, format="json")
        assert response.status_code == 202, response.json()
        execute(response.json()["run_id"])
        body = client.get(f"/api/v1/runs/{response.json()['run_id']}").json()
    assert body["status"] == "failed"
    assert body["error_summary"] == "Memory limit reached: the run used more than 256 MiB in all."


def test_the_docker_backend_reads_a_cgroup_only_when_its_path_names_the_container():
    # Seen from another pid namespace, a container's host pid may be some other process.
    assert cgroups.of_process(os.getpid(), path_contains="0123456789abcdef") is None
    assert cgroups.of_process(0, path_contains="") is None
