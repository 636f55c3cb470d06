"""Beat jobs and worker start-up: the reaper of runs whose worker vanished, the hourly clean-up
of run files, and the sweep of stale run folders (SPEC §6, §12; reference §1.4, §1.9)."""

import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import create_run_token
from apps.runs import services as run_services
from apps.runs import session_files, tasks
from apps.runs.models import RunStatus, ToolRun, ToolSession
from apps.runs.runner.backends import RunRequest
from apps.runs.runner.docker_backend import LABEL_RUN_DIR
from apps.runs.services import execute_run
from tests.factories.runs import STEPS_SOURCE, editor_world, execute
from tests.runs.conftest import docker_runner
from tests.runs.helpers import (
    RunDirs,
    isolated_run_dirs,
    published,
    queue_preview,
    queue_production_run,
)
from tests.runs.test_backends import SMALL_LIMITS, TOOL_ENV

pytestmark = pytest.mark.django_db

GRACE_SECONDS = django_settings.RUN_STUCK_GRACE_SECONDS  # what the reaper adds to a wall limit


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


def _pretend_running_since(run: ToolRun, seconds_ago: float) -> ToolRun:
    """The state a worker leaves behind when it dies mid-run: running, with a live run token."""
    since = timezone.now() - timedelta(seconds=seconds_ago)
    ToolRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, requested_at=since, started_at=since
    )
    create_run_token(
        user=run.requested_by,
        project_id=run.tool.project_id,
        project_role="owner",
        expires_at=timezone.now() + timedelta(hours=1),
        run_id=run.pk,
    )
    run.refresh_from_db()
    return run


def _queued_since(run: ToolRun, seconds_ago: float) -> None:
    since = timezone.now() - timedelta(seconds=seconds_ago)
    ToolRun.objects.filter(pk=run.pk).update(requested_at=since)


@pytest.fixture
def sent() -> Iterator[mock.MagicMock]:
    """What the reaper sends to the broker (the one place the broker is replaced)."""
    with mock.patch("apps.runs.services.submission.current_app.send_task") as send_task:
        yield send_task


def test_running_past_wall_and_grace_is_timed_out_and_its_token_revoked(alice, settings, sent):
    settings.RUN_WALL_SECONDS_SANDBOX = 2
    world = editor_world(alice)
    stuck = _pretend_running_since(queue_preview(world, "x = 1"), 2 + GRACE_SECONDS + 5)
    young = _pretend_running_since(queue_preview(world, "x = 2"), 2 + GRACE_SECONDS - 5)
    assert tasks.reap_stuck_runs_task() == {"timed_out": 1, "requeued": 0}
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_summary) == (RunStatus.TIMED_OUT, "Execution timed out.")
    assert stuck.finished_at is not None
    assert stuck.ui_payload["outputs"][0]["message"] == "Execution timed out."
    assert ApiToken.objects.get(run_id=stuck.pk).revoked_at is not None
    young.refresh_from_db()
    assert young.status == RunStatus.RUNNING
    assert ApiToken.objects.get(run_id=young.pk).revoked_at is None
    # The worker, were it alive after all, finds nothing to claim or finish.
    assert execute_run(run_id=stuck.pk) is None
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.TIMED_OUT
    sent.assert_not_called()


def test_each_context_has_its_own_wall(alice, settings):
    settings.RUN_WALL_SECONDS_SANDBOX = 2
    settings.RUN_WALL_SECONDS_PRODUCTION = 100
    tool = published(alice)
    production = _pretend_running_since(queue_production_run(tool, alice), 60)
    assert tasks.reap_stuck_runs_task()["timed_out"] == 0
    production.refresh_from_db()
    assert production.status == RunStatus.RUNNING


def test_reaping_an_action_releases_the_session_and_keeps_its_state(alice):
    tool = published(alice, STEPS_SOURCE)
    execute(queue_production_run(tool, alice).pk)
    action, session = run_services.start_production_action(
        tool=tool,
        actor=alice,
        context="default",
        action_id="next",
        raw_input={"by": 5},
        expected_state_rev=1,
    )
    assert session.pending_run_id == action.pk
    _pretend_running_since(action, 10_000)
    assert tasks.reap_stuck_runs_task()["timed_out"] == 1
    session.refresh_from_db()
    assert (session.state, session.state_rev, session.pending_run_id) == ({"step": 0}, 1, None)
    assert ToolRun.objects.get(pk=action.pk).status == RunStatus.TIMED_OUT
    # The revision is free again: the user can retry the action.
    retry, _ = run_services.start_production_action(
        tool=tool,
        actor=alice,
        context="default",
        action_id="next",
        raw_input={"by": 5},
        expected_state_rev=1,
    )
    assert execute(retry.pk).status == RunStatus.SUCCEEDED
    session.refresh_from_db()
    assert (session.state, session.state_rev) == ({"step": 5}, 2)


def test_queued_runs_nobody_picked_up_are_sent_again(alice, settings, sent):
    settings.RUN_REQUEUE_AFTER_SECONDS = 60
    world = editor_world(alice)
    tool = published(alice)
    old_preview = queue_preview(world, "def run_tool(i, o):\n    return 'late'\n")
    old_production = queue_production_run(tool, alice)
    fresh = queue_production_run(tool, alice)
    finished = execute(queue_production_run(tool, alice).pk)
    for run in (old_preview, old_production, finished):
        _queued_since(run, 61)
    _queued_since(fresh, 59)
    assert tasks.reap_stuck_runs_task() == {"timed_out": 0, "requeued": 2}
    calls = {(call.args[0], tuple(call.kwargs["args"])) for call in sent.call_args_list}
    assert calls == {
        ("apps.runs.tasks.execute_sandbox_run_task", (str(old_preview.pk),)),
        ("apps.runs.tasks.execute_production_run_task", (str(old_production.pk),)),
    }
    # A re-sent run is executed once, however many copies arrive.
    assert execute_run(run_id=old_preview.pk) == RunStatus.SUCCEEDED
    assert execute_run(run_id=old_preview.pk) is None


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _store(tool_id: uuid.UUID, user_id: int, context: str, tmp: Path) -> Path:
    """Session files of one context; returns its meta.json."""
    source = session_files.storage().save(f"uploads/{context}.txt", ContentFile(context.encode()))
    session_files.store_files(
        tool_id=tool_id, user_id=user_id, context=context, files=[("a.txt", source)]
    )
    digest = hashlib.sha256(context.encode()).hexdigest()
    root = Path(session_files.storage().path("sessions"))
    return root / str(tool_id) / str(user_id) / digest / "meta.json"


def _last_accessed(meta: Path, seconds_ago: float) -> None:
    data = json.loads(meta.read_text())
    data["last_accessed_at"] = time.time() - seconds_ago
    meta.write_text(json.dumps(data))


def test_cleanup_removes_expired_session_files_old_artifacts_and_orphan_spools(
    alice, settings, dirs, tmp_path
):
    settings.SESSION_FILES_TTL_SECONDS = 600
    settings.ARTIFACTS_RETENTION_DAYS = 7
    tool = published(alice)
    expired = _store(tool.pk, alice.pk, "old-context", tmp_path)
    live = _store(tool.pk, alice.pk, "default", tmp_path)
    _last_accessed(expired, 601)
    _last_accessed(live, 599)

    artifacts = dirs.files / "artifacts"
    for name, age_days in (("old-run", 8), ("new-run", 6)):
        (artifacts / name / "output").mkdir(parents=True)
        (artifacts / name / "output" / "r.txt").write_text("r")
        _age(artifacts / name, age_days * 86_400)

    waiting = queue_production_run(tool, alice)  # its spool belongs to a queued run
    orphan, young = uuid.uuid4(), uuid.uuid4()
    for run_id in (waiting.pk, orphan, young):
        (dirs.files / session_files.inputs_dir(run_id)).mkdir(parents=True, exist_ok=True)
        (dirs.files / session_files.inputs_dir(run_id) / "f.txt").write_text("f")
    (dirs.files / "inputs" / "not-a-run").mkdir()
    for folder in (waiting.pk, orphan, "not-a-run"):
        _age(dirs.files / "inputs" / str(folder), 3601)

    counts = tasks.cleanup_run_files_task()
    assert counts == {
        "session_folders": 1,
        "session_files": 1,
        "session_bytes": len("old-context"),
        "artifact_folders": 1,
        "kept_input_folders": 0,
        "orphan_spools": 1,
    }
    assert not expired.parent.exists() and live.parent.exists()
    assert [
        f.name
        for f in session_files.list_files(tool_id=tool.pk, user_id=alice.pk, context="default")
    ] == ["a.txt"]
    assert sorted(p.name for p in artifacts.iterdir()) == ["new-run"]
    assert sorted(p.name for p in (dirs.files / "inputs").iterdir()) == sorted(
        [str(waiting.pk), str(young), "not-a-run"]
    )


def test_session_files_written_before_the_storage_api_are_read_reused_and_expired(
    alice, settings, dirs
):
    # The layout of earlier releases: meta.json without a set or a file list, files in files/.
    settings.SESSION_FILES_TTL_SECONDS = 600
    tool = published(alice)
    digest = hashlib.sha256(b"default").hexdigest()
    folder = dirs.files / "sessions" / str(tool.pk) / str(alice.pk) / digest
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "elever.csv").write_text("namn\n")
    meta = {"context": "default", "last_accessed_at": time.time() - 601}
    (folder / "meta.json").write_text(json.dumps(meta))

    assert tasks.cleanup_run_files_task()["session_folders"] == 1
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "elever.csv").write_text("namn\n")
    (folder / "meta.json").write_text(json.dumps({**meta, "last_accessed_at": time.time()}))
    stored = session_files.list_files(tool_id=tool.pk, user_id=alice.pk, context="default")
    assert [(f.name, f.bytes) for f in stored] == [("elever.csv", 5)]
    with session_files.open_file(stored[0].key) as opened:
        assert opened.read() == b"namn\n"
    session_files.store_files(
        tool_id=tool.pk, user_id=alice.pk, context="default", files=[("ny.csv", stored[0].key)]
    )
    assert not (folder / "files").exists()  # the old set went with its replacement
    assert [
        f.name
        for f in session_files.list_files(tool_id=tool.pk, user_id=alice.pk, context="default")
    ] == ["ny.csv"]


def test_reading_session_files_counts_as_access(alice, settings, tmp_path):
    settings.SESSION_FILES_TTL_SECONDS = 600
    tool = published(alice)
    meta = _store(tool.pk, alice.pk, "default", tmp_path)
    _last_accessed(meta, 601)
    session_files.list_files(tool_id=tool.pk, user_id=alice.pk, context="default")
    assert tasks.cleanup_run_files_task()["session_folders"] == 0


def test_a_finished_run_leaves_no_spool_behind(alice, dirs):
    files_field = {"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 1}
    tool = published(alice, input_schema=[files_field])
    run = queue_production_run(tool, alice, uploads=[SimpleUploadedFile("a.txt", b"a")])
    assert (dirs.files / session_files.inputs_dir(run.pk)).is_dir()
    execute(run.pk)
    assert not (dirs.files / session_files.inputs_dir(run.pk)).exists()


def _folder(dirs: RunDirs, name: str) -> Path:
    folder = dirs.work / name
    (folder / "output").mkdir(parents=True)
    (folder / "output" / "left.csv").write_text("what the tool wrote")
    return folder


def test_a_killed_workers_folder_goes_once_its_run_is_reaped_however_young(alice, settings, dirs):
    """Before, the sweep at worker start kept folders younger than 240 s: the restart right
    after a crash kept exactly the folders the crash left."""
    settings.RUN_WALL_SECONDS_SANDBOX = 2
    run = _pretend_running_since(queue_preview(editor_world(alice), "x = 1"), 1)
    folder = _folder(dirs, str(run.pk))
    tasks._sweep_run_folders_at_start()  # the worker restarts at once: the run still "runs"
    assert folder.is_dir()
    _pretend_running_since(run, 2 + GRACE_SECONDS + 5)
    tasks.reap_stuck_runs_task()
    assert tasks.sweep_run_folders_task() == 1
    assert not folder.exists()


def test_the_sweep_keeps_folders_of_live_runs_and_the_workers_own_files(alice, dirs):
    world = editor_world(alice)
    running = _pretend_running_since(queue_preview(world, "x = 1"), 10_000)
    queued = queue_preview(world, "x = 2")
    finished = execute(queue_preview(world, "x = 3").pk)
    kept = [_folder(dirs, str(running.pk)), _folder(dirs, str(queued.pk)), _folder(dirs, ".slots")]
    gone = [
        _folder(dirs, str(finished.pk)),  # a finished run
        _folder(dirs, str(uuid.uuid4())),  # a run the database does not know
        _folder(dirs, "not-a-run"),
        _folder(dirs, ".runner-tmp-abc"),  # a half-made copy of the runner files
    ]
    _age(dirs.work / ".runner-tmp-abc", 10_000)
    assert tasks.sweep_run_folders_task() == len(gone)
    assert all(folder.is_dir() for folder in kept)
    assert not any(folder.exists() for folder in gone)


def test_the_work_root_lets_sandbox_uids_pass_but_not_list(alice, settings, dirs):
    root = dirs.work / "made-by-the-first-run"
    settings.SANDBOX_WORK_ROOT = root
    run = execute(queue_preview(editor_world(alice), "def run_tool(i, o):\n    return {}\n").pk)
    assert run.status == RunStatus.SUCCEEDED, run.error_summary
    assert root.stat().st_mode & 0o777 == 0o711  # mkdir(parents=True) made it 0755 before
    root.chmod(0o755)  # an existing root of an older version is corrected by a new worker
    from apps.runs.runner import runner_files

    runner_files._prepared.clear()
    execute(queue_preview(editor_world(alice), "def run_tool(i, o):\n    return {}\n").pk)
    assert root.stat().st_mode & 0o777 == 0o711


def test_session_row_survives_reaping_of_an_initial_run(alice):
    # An initial run that dies never made a session; reaping it must not make one either.
    tool = published(alice, STEPS_SOURCE)
    _pretend_running_since(queue_production_run(tool, alice), 10_000)
    tasks.reap_stuck_runs_task()
    assert not ToolSession.objects.exists()


def test_a_container_of_a_worker_killed_mid_run_is_removed_by_the_sweep(alice, settings, dirs):
    settings.SANDBOX_RUNNER = "docker"
    runner = docker_runner()
    run = _pretend_running_since(queue_preview(editor_world(alice), "x = 1"), 1)
    folder = _folder(dirs, str(run.pk))
    (folder / "input").mkdir()
    (folder / "memory.json").write_text("{}")
    (folder / "script.py").write_text("import time\ntime.sleep(60)\n")
    request = RunRequest(workdir=folder, env=TOOL_ENV, limits=SMALL_LIMITS)
    worker = os.fork()
    if worker == 0:  # the worker: runs the tool until it is killed
        try:
            runner.run(request)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while not _containers_of(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    os.waitpid(worker, 0)
    assert len(_containers_of(folder)) == 1  # what the dead worker left running
    tasks._sweep_run_folders_at_start()  # the worker restarts at once: the run still "runs"
    assert len(_containers_of(folder)) == 1
    _pretend_running_since(run, settings.RUN_WALL_SECONDS_SANDBOX + GRACE_SECONDS + 5)
    tasks.reap_stuck_runs_task()
    assert tasks.sweep_run_folders_task() == 2  # its folder and its container
    assert _containers_of(folder) == []
    assert not folder.exists()


def _containers_of(folder: Path) -> list[str]:
    import docker  # type: ignore[import-untyped]

    filters = {"label": f"{LABEL_RUN_DIR}={folder.name}"}
    return [c.id for c in docker.from_env().containers.list(all=True, filters=filters)]
