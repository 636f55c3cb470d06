"""Running a tool again with an earlier run's inputs (services.rerun_tool_run and
POST /api/v1/runs/{id}/rerun): the input files a production run keeps, what refuses a re-run,
and the hourly clean-up of kept files."""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.exceptions import ValidationFailed
from apps.projects import access as projects_access
from apps.runs import services, session_files, tasks
from apps.runs.exceptions import (
    RunFilesRemoved,
    RunLimitReached,
    RunNotRerunnable,
    ToolUnavailable,
)
from apps.runs.models import RunContext, RunStatus, ToolRun
from apps.tools import services as tool_services
from tests.factories.accounts import UserFactory
from tests.factories.runs import STEPS_SOURCE, editor_world, execute
from tests.runs.helpers import (
    RunDirs,
    age_run_folder,
    isolated_run_dirs,
    messages,
    published,
    queue_preview,
    queue_production_run,
    stored_names,
)

pytestmark = pytest.mark.django_db

SOURCE = """\
from skriptoteket_toolkit import list_input_files, read_inputs

def run_tool(input_dir, output_dir):
    found = ["%s=%s" % (f["name"], open(f["path"]).read()) for f in list_input_files()]
    return {"outputs": [{"kind": "notice", "level": "info",
                         "message": "inputs=%r files=%s" % (read_inputs(), ";".join(found))}]}
"""
SCHEMA = [
    {"kind": "string", "name": "name", "label": "Name"},
    {"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 3},
]


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


def _files() -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile("a.txt", b"one"), SimpleUploadedFile("b.csv", b"two,2")]


def finished_run(user: Any, tool: Any = None, **request: Any) -> ToolRun:
    tool = tool or published(user, SOURCE, input_schema=SCHEMA)
    request.setdefault("uploads", _files())
    run = queue_production_run(tool, user, request.pop("inputs", {"name": "Ada"}), **request)
    return execute(run.pk)


# --- keeping input files ------------------------------------------------------------------------


def test_a_finished_production_run_keeps_its_input_files(alice, dirs):
    run = finished_run(alice)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert not (dirs.files / session_files.inputs_dir(run.pk)).exists()
    kept = dirs.files / session_files.kept_inputs_dir(run.pk)
    assert stored_names(kept) == ["a.txt", "b.csv"]
    assert (kept / "b.csv").read_bytes() == b"two,2"
    # Retention counts from the end.
    assert abs((kept / session_files.STORED_MARK).stat().st_mtime - time.time()) < 60


def test_runs_without_files_previews_and_actions_keep_nothing(alice, dirs):
    plain = finished_run(alice, uploads=[])
    world = editor_world(alice)
    preview = execute(queue_preview(world, SOURCE).pk)
    steps = published(alice, STEPS_SOURCE)
    first = execute(queue_production_run(steps, alice).pk)
    action, _ = services.start_production_action(
        tool=steps, actor=alice, context="default", action_id="next", raw_input={"by": 1},
        expected_state_rev=1,
    )  # fmt: skip
    execute(action.pk)
    for run in (plain, preview, first, action):
        assert not (dirs.files / session_files.kept_inputs_dir(run.pk)).exists()
        assert not (dirs.files / session_files.inputs_dir(run.pk)).exists()


def test_cleanup_removes_kept_inputs_past_their_retention(alice, settings, dirs):
    settings.RUN_INPUTS_RETENTION_DAYS = 3
    old, young = finished_run(alice), finished_run(alice)
    age_run_folder(dirs.files / session_files.kept_inputs_dir(old.pk), 3 * 86_400 + 60)
    counts = tasks.cleanup_run_files_task()
    assert counts["kept_input_folders"] == 1
    assert not (dirs.files / session_files.kept_inputs_dir(old.pk)).exists()
    assert (dirs.files / session_files.kept_inputs_dir(young.pk)).is_dir()


def test_cleanup_keeps_the_inputs_of_a_run_the_reaper_ended(alice, dirs):
    tool = published(alice, SOURCE, input_schema=SCHEMA)
    run = queue_production_run(tool, alice, {}, uploads=_files())
    # Its worker died: the reaper timed it out, and nobody moved its spool.
    ToolRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=run.requested_at)
    ToolRun.objects.filter(pk=run.pk).update(
        status=RunStatus.TIMED_OUT, finished_at=run.requested_at
    )
    age_run_folder(dirs.files / session_files.inputs_dir(run.pk), 3601)
    assert tasks.cleanup_run_files_task()["orphan_spools"] == 1
    assert stored_names(dirs.files / session_files.kept_inputs_dir(run.pk)) == [
        "a.txt",
        "b.csv",
    ]


# --- the service --------------------------------------------------------------------------------


def test_rerun_runs_the_active_version_again_with_the_same_values_and_files(alice, dirs):
    run = finished_run(alice, session_context="reports")
    again = services.rerun_tool_run(run=run, actor=alice)
    assert (again.status, again.context, again.requested_by) == (
        RunStatus.QUEUED,
        RunContext.PRODUCTION,
        alice,
    )
    assert again.pk != run.pk
    assert again.version_id == run.tool.active_version_id
    assert again.input_values == {"name": "Ada"}
    assert again.input_manifest == run.input_manifest
    assert again.session_context == "reports"
    done = execute(again.pk)
    assert done.status == RunStatus.SUCCEEDED, done.stderr
    assert messages(done) == messages(run) == ["inputs={'name': 'Ada'} files=a.txt=one;b.csv=two,2"]
    # Both runs keep their own copy; the first one's files are still there.
    for kept in (run, done):
        assert session_files.kept_input_files(kept.pk, ["a.txt", "b.csv"]) is not None


def test_rerun_is_refused_once_the_files_are_gone(alice, settings, dirs):
    settings.RUN_INPUTS_RETENTION_DAYS = 5
    run = finished_run(alice)
    ((dirs.files / session_files.kept_inputs_dir(run.pk)) / "b.csv").unlink()
    before = ToolRun.objects.count()
    with pytest.raises(RunFilesRemoved) as refused:
        services.rerun_tool_run(run=run, actor=alice)
    assert refused.value.message == (
        "The files of this run were removed after 5 days; run the tool again with new files."
    )
    assert ToolRun.objects.count() == before


def test_a_run_without_files_can_run_again_whatever_the_clean_up_did(alice, dirs):
    run = finished_run(alice, uploads=[])
    again = execute(services.rerun_tool_run(run=run, actor=alice).pk)
    assert messages(again) == ["inputs={'name': 'Ada'} files="]


def test_rerun_is_refused_for_a_tool_that_is_no_longer_published(alice, dirs):
    run = finished_run(alice)
    tool_services.depublish_tool(tool=run.tool, actor=UserFactory(admin=True))
    with pytest.raises(ToolUnavailable) as refused:
        services.rerun_tool_run(run=run, actor=alice)
    assert refused.value.message == "This tool is no longer published, so it cannot be run again."
    assert refused.value.code == "TOOL_UNAVAILABLE"


def test_rerun_is_refused_to_someone_no_longer_in_the_project(alice, bob, project, dirs):
    tool = published(alice, SOURCE, input_schema=SCHEMA, project=project)
    run = finished_run(bob, tool)
    projects_access.revoke_role(user=bob, project=project)
    with pytest.raises(ToolUnavailable, match="no longer a member"):
        services.rerun_tool_run(run=run, actor=bob)


def test_rerun_counts_against_the_per_user_cap(alice, settings, dirs):
    settings.RUN_MAX_CONCURRENT_PER_USER = 1
    run = finished_run(alice)
    queue_production_run(run.tool, alice, {})  # takes the only place
    with pytest.raises(RunLimitReached):
        services.rerun_tool_run(run=run, actor=alice)


def test_rerun_is_refused_for_previews_actions_and_unfinished_runs(alice, dirs):
    world = editor_world(alice)
    preview = execute(queue_preview(world, SOURCE).pk)
    steps = published(alice, STEPS_SOURCE)
    execute(queue_production_run(steps, alice).pk)
    action, _ = services.start_production_action(
        tool=steps, actor=alice, context="default", action_id="next", raw_input={},
        expected_state_rev=1,
    )  # fmt: skip
    waiting = queue_production_run(steps, alice)
    with pytest.raises(RunNotRerunnable, match="not finished yet"):
        services.rerun_tool_run(run=waiting, actor=alice)
    for run in (preview, action, execute(action.pk)):
        with pytest.raises(RunNotRerunnable, match="Only a finished first run"):
            services.rerun_tool_run(run=run, actor=alice)


def test_rerun_says_when_the_values_no_longer_fit_the_form(alice, dirs):
    run = finished_run(alice)
    ToolRun.objects.filter(pk=run.pk).update(input_values={"gone": "field"})
    run.refresh_from_db()
    with pytest.raises(ValidationFailed, match="do not fit the tool's current form"):
        services.rerun_tool_run(run=run, actor=alice)


# --- POST /api/v1/runs/{id}/rerun ---------------------------------------------------------------


def _rerun(client: Any, run_id: Any) -> Any:
    return client.post(f"/api/v1/runs/{run_id}/rerun", format="json")


def _code(response: Any) -> str:
    return response.json()["error"]["code"]


def test_api_rerun_answers_202_with_the_new_run(alice, api_client_for, dirs):
    run = finished_run(alice)
    response = _rerun(api_client_for(alice), run.pk)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"run_id", "status"} and body["status"] == "queued"
    again = execute(body["run_id"])
    assert messages(again) == messages(run)


def test_api_rerun_hides_other_peoples_runs_and_previews(alice, charlie, api_client_for, dirs):
    run = finished_run(alice)
    preview = execute(queue_preview(editor_world(alice), SOURCE).pk)
    for user, run_id in ((charlie, run.pk), (alice, preview.pk), (alice, uuid.uuid4())):
        response = _rerun(api_client_for(user), run_id)
        assert (response.status_code, _code(response)) == (404, "NOT_FOUND")
    response = _rerun(api_client_for(alice), "not-a-uuid")
    assert (response.status_code, _code(response)) == (400, "INVALID_ID")
    assert _rerun(api_client_for(UserFactory(admin=True)), run.pk).status_code == 202


def test_api_rerun_errors(alice, settings, api_client_for, anon_client, dirs):
    client = api_client_for(alice)
    gone = finished_run(alice)
    for name in stored_names(dirs.files / session_files.kept_inputs_dir(gone.pk)):
        (dirs.files / session_files.kept_inputs_dir(gone.pk) / name).unlink()
    response = _rerun(client, gone.pk)
    assert (response.status_code, _code(response)) == (409, "RUN_FILES_REMOVED")
    assert "run the tool again with new files" in response.json()["error"]["message"]
    kept = finished_run(alice, uploads=[])
    settings.RUN_MAX_CONCURRENT_PER_USER = 0
    response = _rerun(client, kept.pk)
    assert (response.status_code, _code(response)) == (429, "RUN_LIMIT_REACHED")
    tool_services.depublish_tool(tool=kept.tool, actor=UserFactory(admin=True))
    response = _rerun(client, kept.pk)
    assert (response.status_code, _code(response)) == (409, "TOOL_UNAVAILABLE")
    assert _rerun(anon_client, kept.pk).status_code == 401
