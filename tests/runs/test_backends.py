"""The sandbox backends against the runner contract (result.json, env, output capture)."""

import json
import os
import shutil
import socket
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner import backends, bwrap_preflight, uid_slots
from apps.runs.runner.backends import (
    BwrapRunner,
    CapturedStream,
    DockerRunner,
    RunLimits,
    RunRequest,
    RunResult,
    SandboxRunner,
    get_runner,
)
from apps.runs.runner.bwrap_backend import runner_venv, slot_lock_dir
from apps.runs.runner.streams import StreamCapture

SMALL_LIMITS = RunLimits(
    timeout_s=10.0,
    memory_bytes=768 << 20,
    cpu_seconds=10,
    processes=32,
    tmp_bytes=16 << 20,
    file_bytes=32 << 20,
    work_max_bytes=8 << 20,
    stdout_max_bytes=10_000,
    stderr_max_bytes=10_000,
)
# The contract's variables as the pipeline passes them (reference §2.2).
TOOL_ENV = {
    "SKRIPTOTEKET_SCRIPT_PATH": "/work/script.py",
    "SKRIPTOTEKET_ENTRYPOINT": "run_tool",
    "SKRIPTOTEKET_INPUT_DIR": "/work/input",
    "SKRIPTOTEKET_INPUT_MANIFEST": '{"files":[]}',
    "SKRIPTOTEKET_INPUTS": "{}",
    "SKRIPTOTEKET_MEMORY_PATH": "/work/memory.json",
    "SKRIPTOTEKET_OUTPUT_DIR": "/work/output",
    "SKRIPTOTEKET_RESULT_PATH": "/work/result.json",
}
# A uid range no other process on this machine uses, so the per-uid process counts and the
# leftover-process checks see only these tests' sandboxes.
TEST_UID_BASE = 40000 + (os.getpid() % 1000) * 8
TEST_UID_SLOTS = 4


def new_work_root() -> Path:
    # Not pytest's tmp_path: that lives under a 0700 folder the sandbox uid cannot pass.
    root = Path(tempfile.mkdtemp(prefix="skt-test-runs-", dir="/tmp"))
    root.chmod(0o711)
    return root


def use_work_root(settings: Any, root: Path) -> Path:
    settings.SANDBOX_WORK_ROOT = root
    settings.SANDBOX_UID_BASE = TEST_UID_BASE
    settings.SANDBOX_UID_SLOTS = TEST_UID_SLOTS
    return root


def make_workdir(root: Path, source: str, inputs: dict[str, bytes] | None = None) -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    (workdir / "input").mkdir()
    (workdir / "output").mkdir()
    (workdir / "script.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (workdir / "memory.json").write_text('{"settings": {}}', encoding="utf-8")
    for name, data in (inputs or {}).items():
        (workdir / "input" / name).write_bytes(data)
    return workdir


def run_tool(
    runner: SandboxRunner,
    root: Path,
    source: str,
    limits: RunLimits = SMALL_LIMITS,
    env: dict[str, str] | None = None,
) -> tuple[RunResult, dict[str, Any] | None, Path]:
    """Run `source` in a fresh run folder; return the result, result.json (or None), folder."""
    workdir = make_workdir(root, source)
    result = runner.run(RunRequest(workdir=workdir, env={**TOOL_ENV, **(env or {})}, limits=limits))
    result_file = workdir / "result.json"
    payload = json.loads(result_file.read_text("utf-8")) if result_file.is_file() else None
    return result, payload, workdir


def test_successful_run_writes_contract_v2_result_and_lists_artifacts(runner, work_root):
    result, payload, workdir = run_tool(
        runner,
        work_root,
        """
        import os
        def run_tool(input_dir, output_dir):
            os.makedirs(output_dir + "/sub")
            open(output_dir + "/sub/report.csv", "w").write("a,b\\n")
            os.symlink("/etc/passwd", output_dir + "/link")
            print("three rows")
            return {"outputs": [{"kind": "notice", "level": "info", "message": "ok"}],
                    "next_actions": [{"action_id": "next", "label": "Next", "kind": "form",
                                      "fields": [], "prefill": {}}],
                    "state": {"step": 1}, "ignored": True}
        """,
    )
    assert (result.outcome, result.exit_code, result.signal) == ("exited", 0, None)
    assert result.stdout.text == "three rows\n"
    assert payload == {
        "contract_version": 2,
        "status": "succeeded",
        "error_summary": None,
        "outputs": [{"kind": "notice", "level": "info", "message": "ok"}],
        "next_actions": [
            {"action_id": "next", "label": "Next", "kind": "form", "fields": [], "prefill": {}}
        ],
        "state": {"step": 1},
        "artifacts": [{"path": "output/sub/report.csv", "bytes": 4}],
    }
    assert (workdir / "output" / "sub" / "report.csv").read_text() == "a,b\n"


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        ("raise ToolUserError('  Filen saknar kolumnen namn  ')", "Filen saknar kolumnen namn"),
        ("raise ToolUserError('   ')", "Ett fel inträffade."),
        ("raise ValueError('secret detail')", "Tool execution failed (ValueError)."),
        ("raise SystemExit(3)", "Tool execution failed (SystemExit)."),
        ("raise KeyboardInterrupt", "Tool execution failed (KeyboardInterrupt)."),
        ("return 42", "Tool execution failed (TypeError)."),
        ("return [{'kind': 'notice'}]", "Tool execution failed (TypeError)."),
    ],
)
def test_failures_still_write_result_json_and_exit_zero(runner, work_root, body, summary):
    source = f"""
    from tool_errors import ToolUserError
    def run_tool(input_dir, output_dir):
        open(output_dir + "/partial.txt", "w").write("x")
        {body}
    """
    result, payload, _ = run_tool(runner, work_root, source)
    assert (result.outcome, result.exit_code) == ("exited", 0)
    assert payload is not None
    assert (payload["status"], payload["error_summary"]) == ("failed", summary)
    assert (payload["outputs"], payload["next_actions"], payload["state"]) == ([], [], None)
    assert payload["artifacts"] == []
    if "ToolUserError" in body:
        assert "Traceback" not in result.stderr.text
    else:
        assert "Traceback" in result.stderr.text


@pytest.mark.parametrize(
    "source",
    [
        "def something_else(a, b):\n    return {}\n",
        "run_tool = 5\n",
        "",
    ],
)
def test_missing_or_uncallable_entrypoint_fails_as_runtime_error(runner, work_root, source):
    result, payload, _ = run_tool(runner, work_root, source)
    assert payload is not None
    assert payload["error_summary"] == "Tool execution failed (RuntimeError)."
    assert "Entrypoint not found: run_tool" in result.stderr.text


def test_syntax_error_in_script_is_a_failed_result(runner, work_root):
    result, payload, _ = run_tool(runner, work_root, "def run_tool(:\n")
    assert payload is not None
    assert payload["error_summary"] == "Tool execution failed (SyntaxError)."
    assert result.exit_code == 0


def test_string_return_is_one_html_output_and_empty_string_none(runner, work_root):
    source = "def run_tool(i, o):\n    return '<p>Hej</p>'\n"
    _, payload, _ = run_tool(runner, work_root, source)
    assert payload is not None
    assert payload["outputs"] == [{"kind": "html_sandboxed", "html": "<p>Hej</p>"}]
    _, payload, _ = run_tool(runner, work_root, "def run_tool(i, o):\n    return ''\n")
    assert payload is not None
    assert (payload["status"], payload["outputs"]) == ("succeeded", [])


def test_return_value_is_coerced_to_plain_json(runner, work_root):
    source = """
    import math
    from dataclasses import dataclass

    @dataclass
    class Point:
        x: int

    def nested(depth):
        value = "bottom"
        for _ in range(depth):
            value = [value]
        return value

    def run_tool(input_dir, output_dir):
        return {
            "outputs": [
                {"kind": "json", "value": {"t": (1, 2), "s": {"b", "a", 3}, 1: "dropped",
                                           "p": Point(1), "nan": math.nan}},
                "not a dict",
                7,
            ],
            "next_actions": "not a list",
            "state": {"deep": nested(60)},
        }
    """
    _, payload, _ = run_tool(runner, work_root, source)
    assert payload is not None
    assert payload["status"] == "succeeded"
    assert payload["outputs"] == [
        {"kind": "json", "value": {"t": [1, 2], "s": ["a", "b", 3], "p": "Point(x=1)", "nan": None}}
    ]
    assert payload["next_actions"] == []
    deep = payload["state"]["deep"]
    for _ in range(49):  # "deep" is at depth 1; the list at depth 50 is stringified
        assert isinstance(deep, list)
        deep = deep[0]
    assert isinstance(deep, str)
    assert deep.startswith("[[")


def test_non_dict_state_becomes_null(runner, work_root):
    _, payload, _ = run_tool(runner, work_root, "def run_tool(i, o):\n    return {'state': [1]}\n")
    assert payload is not None
    assert (payload["status"], payload["state"]) == ("succeeded", None)


def test_tool_sees_exactly_the_contract_environment(runner, work_root):
    source = """
    import os
    def run_tool(input_dir, output_dir):
        return {"state": {"env": dict(os.environ), "args": [input_dir, output_dir],
                          "cwd": os.getcwd()}}
    """
    _, payload, _ = run_tool(runner, work_root, source, env={"SKRIPTOTEKET_ACTION": "{}"})
    assert payload is not None
    env = payload["state"]["env"]
    expected = {
        "HOME": "/tmp/home",  # noqa: S108  # the sandbox's own tmpfs
        "XDG_CACHE_HOME": "/tmp/home/.cache",  # noqa: S108
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        **TOOL_ENV,
        "SKRIPTOTEKET_ACTION": "{}",
    }
    set_by_backend = {"bwrap": {"PWD"}, "docker": {"HOSTNAME"}}[runner.name]
    assert set(env) - set_by_backend == {*expected, "PATH"}
    assert {key: env[key] for key in expected} == expected
    assert "SKRIPTOTEKET_INPUT_PATH" not in env
    assert payload["state"]["args"] == ["/work/input", "/work/output"]
    assert payload["state"]["cwd"] == "/work"


def test_toolkit_reads_inputs_settings_and_files_inside_the_sandbox(runner, work_root):
    source = """
    from pathlib import Path
    from skriptoteket_toolkit import get_action_parts, list_input_files, read_inputs, read_settings
    def run_tool(input_dir, output_dir):
        files = list_input_files()
        return {"state": {"inputs": read_inputs(), "settings": read_settings(),
                          "action": list(get_action_parts()),
                          "content": Path(files[0]["path"]).read_text()}}
    """
    workdir = make_workdir(work_root, source, inputs={"data.csv": b"a;b"})
    (workdir / "memory.json").write_text('{"settings": {"lang": "sv"}}')
    manifest = {"files": [{"name": "data.csv", "path": "/work/input/data.csv", "bytes": 3}]}
    env = {
        **TOOL_ENV,
        "SKRIPTOTEKET_INPUTS": '{"n":3}',
        "SKRIPTOTEKET_INPUT_MANIFEST": json.dumps(manifest),
        "SKRIPTOTEKET_ACTION": '{"action_id":"go","input":{"x":1},"state":{"s":2}}',
    }
    runner.run(RunRequest(workdir=workdir, env=env, limits=SMALL_LIMITS))
    payload = json.loads((workdir / "result.json").read_text())
    assert payload["state"] == {
        "inputs": {"n": 3},
        "settings": {"lang": "sv"},
        "action": ["go", {"x": 1}, {"s": 2}],
        "content": "a;b",
    }


@pytest.mark.parametrize(("printed", "truncated"), [(10_000, False), (10_001, True)])
def test_stdout_is_capped_with_a_real_truncation_flag(runner, work_root, printed, truncated):
    source = f"""
    import sys
    def run_tool(i, o):
        sys.stdout.write("x" * {printed})
        return {{}}
    """
    result, _, _ = run_tool(runner, work_root, source)
    assert result.stdout.total_bytes == printed
    assert result.stdout.truncated is truncated
    assert result.stdout.text == "x" * 10_000


def test_output_cut_at_the_cap_never_splits_a_utf8_character(runner, work_root):
    # "é" is two bytes: a 10,000-byte cap through 5,001 of them would split the last one.
    source = """
    import sys
    def run_tool(i, o):
        sys.stderr.write("x" + "é" * 5001)
        return {}
    """
    result, _, _ = run_tool(runner, work_root, source)
    assert result.stderr.truncated is True
    assert result.stderr.total_bytes == 10_003
    assert result.stderr.text == "x" + "é" * 4999
    assert "\ufffd" not in result.stderr.text


def test_exit_codes_and_signals_are_reported(runner, work_root):
    result, payload, _ = run_tool(runner, work_root, "import os\nos._exit(3)\n")
    assert (result.outcome, result.exit_code, result.signal, payload) == ("exited", 3, None, None)
    source = "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n"
    result, payload, _ = run_tool(runner, work_root, source)
    assert (result.outcome, result.exit_code, result.signal) == ("signalled", None, "SIGTERM")


def test_the_folder_is_returned_to_the_caller_and_kept(runner, work_root):
    result, _, workdir = run_tool(runner, work_root, "def run_tool(i, o):\n    return {}\n")
    assert result.exit_code == 0
    for path in [workdir, *workdir.rglob("*")]:
        assert path.lstat().st_uid == os.geteuid()
    assert sorted(p.name for p in workdir.iterdir()) == [
        "input",
        "memory.json",
        "output",
        "result.json",
        "script.py",
    ]


def test_bwrap_tool_runs_as_a_slot_uid_and_concurrent_runs_get_different_ones(bwrap, work_root):
    source = """
    import os, time
    def run_tool(i, o):
        time.sleep(0.5)
        return {"state": {"uid": os.getuid()}}
    """
    uids: list[int] = []

    def one_run() -> None:
        _, payload, _ = run_tool(bwrap, work_root, source)
        assert payload is not None
        uids.append(payload["state"]["uid"])

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if os.geteuid() == 0:
        assert len(set(uids)) == 2
        assert all(TEST_UID_BASE <= uid < TEST_UID_BASE + TEST_UID_SLOTS for uid in uids)
    else:
        assert uids == [os.getuid(), os.getuid()]


@pytest.mark.skipif(os.geteuid() != 0, reason="uid slots are used only when the worker is root")
def test_bwrap_gives_up_when_every_slot_stays_busy(bwrap, work_root, settings, monkeypatch):
    settings.SANDBOX_UID_SLOTS = 1
    monkeypatch.setattr(uid_slots, "SLOT_WAIT_SECONDS", 0.2)
    workdir = make_workdir(work_root, "def run_tool(i, o):\n    return {}\n")
    with (
        uid_slots.claim_uid_slot(slot_lock_dir(work_root), 1),
        pytest.raises(RunnerUnavailable, match="slots are busy"),
    ):
        bwrap.run(RunRequest(workdir=workdir, env=TOOL_ENV, limits=SMALL_LIMITS))
    assert not (workdir / "result.json").exists()


def test_tool_can_reach_a_unix_socket_the_worker_serves_in_work(runner, work_root):
    # The collections helper's transport: the worker listens in the run folder.
    source = """
    import socket
    def run_tool(i, o):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect("/work/.collections.sock")
        client.sendall(b"ping")
        return {"state": {"reply": client.recv(16).decode()}}
    """
    workdir = make_workdir(work_root, source)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(workdir / ".collections.sock"))
    server.listen(1)
    server.settimeout(5)

    def answer() -> None:
        connection, _ = server.accept()
        with connection:
            connection.sendall(b"pong:" + connection.recv(16))

    responder = threading.Thread(target=answer)
    responder.start()
    try:
        runner.run(RunRequest(workdir=workdir, env=TOOL_ENV, limits=SMALL_LIMITS))
    finally:
        responder.join(5)
        server.close()
    payload = json.loads((workdir / "result.json").read_text())
    assert payload["state"] == {"reply": "pong:ping"}


def test_a_folder_outside_the_work_root_is_refused(runner, work_root):
    outside = Path(tempfile.mkdtemp(prefix="skt-outside-", dir="/tmp"))
    try:
        with pytest.raises(ValueError, match="must be a folder under"):
            runner.run(RunRequest(workdir=outside, env=TOOL_ENV, limits=SMALL_LIMITS))
        assert outside.stat().st_uid == os.geteuid()
    finally:
        shutil.rmtree(outside)


def test_bwrap_is_unavailable_without_bubblewrap_on_path(work_root, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RunnerUnavailable, match="bwrap is not installed"):
        BwrapRunner().check_available()


def test_bwrap_that_cannot_build_namespaces_is_reported_with_a_hint(work_root, monkeypatch):
    # A stand-in bwrap failing the way a kernel without unprivileged user namespaces makes it;
    # in the work root, because the probe runs as the sandbox uid.
    bin_dir = Path(tempfile.mkdtemp(dir=work_root))
    bin_dir.chmod(0o755)
    fake = bin_dir / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    (bin_dir / "prlimit").symlink_to(shutil.which("prlimit"))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(bwrap_preflight, "_smoke_passed", threading.Event())
    with pytest.raises(RunnerUnavailable, match=r"No permissions.*unprivileged_userns_clone"):
        BwrapRunner().check_available()


def test_tools_can_use_pandas_and_openpyxl_from_the_runner_venv(runner, work_root):
    if runner.name == "bwrap" and runner_venv() is None:
        pytest.skip("runner venv missing: run scripts/sandbox.sh")
    source = """
    import pandas as pd
    def run_tool(input_dir, output_dir):
        pd.DataFrame({"a": [1, 2]}).to_excel(output_dir + "/out.xlsx", index=False)
        back = pd.read_excel(output_dir + "/out.xlsx")
        return {"state": {"sum": int(back["a"].sum())}}
    """
    result, payload, _ = run_tool(runner, work_root, source)
    assert payload is not None, result.stderr.text
    assert payload["state"] == {"sum": 3}
    assert payload["artifacts"][0]["path"] == "output/out.xlsx"


def test_get_runner_builds_one_backend_per_process_from_settings(settings):
    settings.SANDBOX_RUNNER = "bwrap"
    assert isinstance(get_runner(), BwrapRunner)
    assert get_runner() is get_runner()
    settings.SANDBOX_RUNNER = "docker"
    assert isinstance(get_runner(), DockerRunner)
    settings.SANDBOX_RUNNER = "chroot"
    with pytest.raises(ImproperlyConfigured, match="chroot"):
        get_runner()


def test_docker_backend_is_unavailable_without_an_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(RunnerUnavailable) as raised:
        DockerRunner().check_available()
    assert raised.value.code == "RUNNER_UNAVAILABLE"
    assert "docker" in raised.value.message.lower()


def test_limits_for_context_come_from_settings(settings):
    settings.RUN_WALL_SECONDS_SANDBOX = 7
    settings.RUN_WALL_SECONDS_PRODUCTION = 9
    settings.RUN_STDOUT_MAX_BYTES = 123
    assert RunLimits.for_context("sandbox").timeout_s == 7.0
    production = RunLimits.for_context("production")
    assert (production.timeout_s, production.stdout_max_bytes) == (9.0, 123)
    assert production.memory_bytes == settings.RUN_MEMORY_BYTES
    with pytest.raises(ValueError, match="Unknown run context"):
        RunLimits.for_context("preview")


def test_sweep_removes_what_keep_refuses_and_stale_runner_copies(settings, tmp_path):
    settings.SANDBOX_WORK_ROOT = tmp_path
    for name in (
        "ended-run",
        "live-run",
        ".slots",
        ".runner-abc",
        ".runner-tmp-x",
        ".runner-tmp-y",
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x")
    for name in (".slots", ".runner-abc", ".runner-tmp-x"):
        os.utime(tmp_path / name, (1_000_000, 1_000_000))
    assert sorted(backends.run_folder_names()) == ["ended-run", "live-run"]
    assert backends.sweep_folders(keep=lambda name: name == "live-run") == 2
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == [".runner-abc", ".runner-tmp-y", ".slots", "live-run"]
    assert backends.sweep_folders(keep=lambda name: True) == 0


def test_stream_capture_counts_everything_and_keeps_the_head():
    capture = StreamCapture(max_bytes=5)
    for chunk in (b"abc", b"def", b"ghi"):
        capture.feed(chunk)
    assert capture.result() == CapturedStream(text="abcde", total_bytes=9, truncated=True)


def test_docker_container_is_hardened_labelled_and_removed(work_root):
    import docker  # type: ignore[import-untyped]
    from tests.runs.conftest import docker_runner

    runner = docker_runner()
    workdir = make_workdir(work_root, "import time\ntime.sleep(2)\n")
    run = threading.Thread(
        target=runner.run, args=(RunRequest(workdir=workdir, env=TOOL_ENV, limits=SMALL_LIMITS),)
    )
    run.start()
    client = docker.from_env()
    filters = {"label": f"skriptoteket.run_dir={workdir.name}"}
    found: list[Any] = []
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        found = client.containers.list(filters=filters)
        time.sleep(0.05)
    run.join()
    assert len(found) == 1
    host = found[0].attrs["HostConfig"]
    assert found[0].labels["skriptoteket.work_root"] == str(work_root.resolve())
    assert (host["NetworkMode"], host["ReadonlyRootfs"], host["CapDrop"]) == ("none", True, ["ALL"])
    assert "no-new-privileges" in host["SecurityOpt"]
    assert any(
        opt.startswith("seccomp=") and "io_uring_setup" in opt for opt in host["SecurityOpt"]
    )
    assert (host["Memory"], host["PidsLimit"]) == (
        SMALL_LIMITS.memory_bytes,
        SMALL_LIMITS.processes,
    )
    assert host["NanoCpus"] == SMALL_LIMITS.cpus * 1_000_000_000
    assert found[0].attrs["Config"]["User"] != "0:0"
    assert client.containers.list(all=True, filters=filters) == []  # removed after the run
