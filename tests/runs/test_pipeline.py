"""The run pipeline at service level with the real bubblewrap runner: what each kind of ending
leaves on the run row (reference §2.4, §2.7; bad-input catalogue B.7 rows 27 and 29)."""

import time
from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import ApiToken, TokenKind
from apps.runs import services as run_services
from apps.runs.models import RunStatus, ToolRun, ToolSession
from apps.runs.services import execute_run
from apps.sandbox.models import SandboxSnapshot
from tests.factories.runs import ECHO_SOURCE, editor_world, execute, published_tool
from tests.runs.helpers import (
    RunDirs,
    isolated_run_dirs,
    messages,
    queue_preview,
    queue_production_run,
    run_folders,
)

pytestmark = pytest.mark.django_db

CONTRACT_VIOLATION = "Execution failed (runner contract violation)."


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found


def _preview(alice: Any, source: str) -> ToolRun:
    return queue_preview(editor_world(alice), source)


def test_syntax_error_fails_before_the_runner_starts(alice, dirs):
    source = "def run_tool(input_dir, output_dir):\n    return (1 +\n\nx = ]\n"
    run = _preview(alice, source)
    started = time.monotonic()
    assert execute_run(run_id=run.pk) == RunStatus.FAILED
    elapsed = time.monotonic() - started
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    heading, line, caret = run.error_summary.split("\n")
    assert heading.startswith("SyntaxError: ")
    assert "(line " in heading and ", col " in heading
    assert caret.strip() == "^"
    assert line.strip()
    assert run.ui_payload["outputs"][0]["level"] == "error"
    # Never started: no run folder (not even the slot locks), no run token, and quick.
    assert list(dirs.work.iterdir()) == []
    assert not ApiToken.objects.filter(run_id=run.pk).exists()
    assert elapsed < 0.05, elapsed
    assert run.started_at is not None and run.finished_at is not None


def test_tool_user_error_is_the_authors_message(alice):
    source = (
        "from tool_errors import ToolUserError\n"
        "def run_tool(input_dir, output_dir):\n"
        "    raise ToolUserError('Filen elever.csv saknas.')\n"
    )
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, "Filen elever.csv saknas.")
    assert "Traceback" not in run.stderr
    # The summary carries the message; the payload holds what the tool returned (nothing).
    assert run.ui_payload["outputs"] == []


def test_other_exception_is_generic_with_the_traceback_in_stderr(alice):
    source = "def run_tool(input_dir, output_dir):\n    raise KeyError('secret-ish detail')\n"
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Tool execution failed (KeyError).",
    )
    assert "Traceback (most recent call last)" in run.stderr
    assert "KeyError: 'secret-ish detail'" in run.stderr
    assert "secret-ish" not in run.error_summary


@pytest.mark.usefixtures("each_backend")
def test_string_return_is_sandboxed_html(alice):
    source = "def run_tool(input_dir, output_dir):\n    return '<b>Hej</b>'\n"
    run = execute(_preview(alice, source).pk)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert run.ui_payload["outputs"] == [{"kind": "html_sandboxed", "html": "<b>Hej</b>"}]
    assert run.error_summary == ""


@pytest.mark.usefixtures("each_backend")
def test_timeout_at_the_wall_limit_keeps_what_was_written(alice, settings, dirs):
    settings.RUN_WALL_SECONDS_SANDBOX = 2
    source = (
        "def run_tool(input_dir, output_dir):\n"
        "    open(output_dir + '/partial.txt', 'w').write('half')\n"
        "    print('working', flush=True)\n"
        "    while True:\n"
        "        pass\n"
    )
    run = _preview(alice, source)
    started = time.monotonic()
    execute_run(run_id=run.pk)
    elapsed = time.monotonic() - started
    run.refresh_from_db()
    assert (run.status, run.error_summary) == (RunStatus.TIMED_OUT, "Execution timed out.")
    assert 2.0 <= elapsed < 4.0, elapsed
    assert run.stdout == "working\n"
    assert [a["path"] for a in run.artifacts_manifest["artifacts"]] == ["output/partial.txt"]
    assert run_folders(dirs.work) == []  # the run folder is removed after every ending


def _writes_its_own_result(data: bytes) -> str:
    """A tool that replaces the runner's result.json and leaves before the runner writes one."""
    return (
        "import os\n"
        "def run_tool(input_dir, output_dir):\n"
        f"    open('/work/result.json', 'wb').write({data!r})\n"
        "    print('wrote it', flush=True)\n"
        "    os._exit(0)\n"
    )


_ENVELOPE = (
    b'"status":"succeeded","error_summary":null,"outputs":[],"next_actions":[],"state":null,'
    b'"artifacts":[]'
)
HOSTILE_RESULTS = {
    "garbage": b"\x00\xffnot json {{{",
    "not an object": b"[1, 2, 3]",
    "wrong version": b'{"contract_version":3,' + _ENVELOPE + b"}",
    "version as bool": b'{"contract_version":true,' + _ENVELOPE + b"}",
    "unknown status": b'{"contract_version":2,"status":"done","error_summary":null}',
    "outputs not a list": b'{"contract_version":2,"status":"succeeded","error_summary":null,'
    b'"outputs":"<script>"}',
    "summary not a string": b'{"contract_version":2,"status":"failed","error_summary":42}',
    "state not an object": b'{"contract_version":2,"status":"succeeded","error_summary":null,'
    b'"state":[1]}',
    "artifact outside output": b'{"contract_version":2,"status":"succeeded",'
    b'"error_summary":null,"artifacts":[{"path":"../../x","bytes":1}]}',
    "NaN": b'{"contract_version":2,"status":"succeeded","error_summary":null,"x":NaN}',
    "duplicate keys": b'{"contract_version":2,"status":"succeeded","status":"failed",'
    b'"error_summary":null}',
    "deep": b'{"contract_version":2,"status":"succeeded","error_summary":null,"state":'
    + b'{"a":' * 200
    + b"1"
    + b"}" * 201,
}


@pytest.mark.parametrize("data", HOSTILE_RESULTS.values(), ids=HOSTILE_RESULTS.keys())
def test_hostile_result_json_is_a_contract_violation(alice, data):
    run = execute(_preview(alice, _writes_its_own_result(data)).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, CONTRACT_VIOLATION)
    assert run.stdout == "wrote it\n"  # what the tool printed is still recorded
    assert messages(run) == [CONTRACT_VIOLATION]


def test_oversized_result_json_is_not_read(alice, settings):
    settings.RUN_RESULT_MAX_BYTES = 100_000
    big = b'{"contract_version":2,' + _ENVELOPE[:-2] + b'[],"pad":"' + b"x" * 1_000_000 + b'"}'
    run = execute(_preview(alice, _writes_its_own_result(big)).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, CONTRACT_VIOLATION)


def test_a_100_mb_result_json_is_refused_without_being_read(alice, settings):
    settings.RUN_FILE_BYTES = 200 << 20  # the file is sparse: no disk, but 100 MB long
    settings.RUN_RESULT_MAX_BYTES = 1 << 20
    source = (
        "import os\n"
        "def run_tool(input_dir, output_dir):\n"
        "    with open('/work/result.json', 'wb') as result:\n"
        "        result.write(b'{')\n"
        "        result.truncate(100 << 20)\n"
        "    os._exit(0)\n"
    )
    started = time.monotonic()
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, CONTRACT_VIOLATION)
    assert time.monotonic() - started < 2.0


@pytest.mark.usefixtures("each_backend")
def test_result_json_symlink_to_a_host_file_is_not_followed(alice):
    source = (
        "import os\n"
        "def run_tool(input_dir, output_dir):\n"
        "    os.symlink('/etc/passwd', '/work/result.json')\n"
        "    os._exit(0)\n"
    )
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, CONTRACT_VIOLATION)
    assert "root:" not in run.stdout + run.stderr + str(run.ui_payload)


@pytest.mark.usefixtures("each_backend")
def test_missing_result_json_is_a_contract_violation(alice):
    source = "import os\ndef run_tool(input_dir, output_dir):\n    os._exit(0)\n"
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, CONTRACT_VIOLATION)


@pytest.mark.usefixtures("each_backend")
def test_artifact_symlink_fails_the_run_and_nothing_is_copied(alice, dirs):
    source = (
        "import os\n"
        "def run_tool(input_dir, output_dir):\n"
        "    open(output_dir + '/report.txt', 'w').write('fine')\n"
        "    os.symlink('/etc/passwd', output_dir + '/passwd')\n"
        "    return 'done'\n"
    )
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Execution failed (artifact extraction violation).",
    )
    assert run.artifacts_manifest == {"artifacts": []}
    assert not (dirs.files / "artifacts" / str(run.pk)).exists()


@pytest.mark.usefixtures("each_backend")
def test_artifacts_are_copied_with_ids(alice, dirs):
    source = (
        "import os\n"
        "def run_tool(input_dir, output_dir):\n"
        "    os.makedirs(output_dir + '/Sub Dir')\n"
        "    open(output_dir + '/Sub Dir/Rapport.CSV', 'w').write('a,b\\n')\n"
        "    return 'done'\n"
    )
    run = execute(_preview(alice, source).pk)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert run.artifacts_manifest == {
        "artifacts": [
            {
                "artifact_id": "output_sub_dir_rapport_csv",
                "path": "output/Sub Dir/Rapport.CSV",
                "bytes": 4,
            }
        ]
    }
    stored = dirs.files / "artifacts" / str(run.pk) / "output" / "Sub Dir" / "Rapport.CSV"
    assert stored.read_text() == "a,b\n"


def test_duplicate_action_ids_are_a_normalization_error(alice):
    source = (
        "def run_tool(input_dir, output_dir):\n"
        "    action = {'action_id': 'go', 'label': 'Go', 'kind': 'form', 'fields': []}\n"
        "    return {'outputs': [], 'next_actions': [action, dict(action)], 'state': {'a': 1}}\n"
    )
    world = editor_world(alice)
    run = execute(queue_preview(world, source).pk)
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Execution failed (ui_payload normalization error).",
    )
    assert run.ui_payload["next_actions"] == []
    # A failed first run keeps no state.
    assert not ToolSession.objects.filter(tool=world.tool, state_rev__gt=0).exists()


def test_nul_characters_are_stored_as_replacement_characters(alice):
    source = (
        "import sys\n"
        "def run_tool(input_dir, output_dir):\n"
        "    print('out\\x00put')\n"
        "    print('err\\x00or', file=sys.stderr)\n"
        "    return {'outputs': [{'kind': 'notice', 'level': 'info', 'message': 'm\\x00sg'}],\n"
        "            'next_actions': [{'action_id': 'go', 'label': 'G\\x00o', 'kind': 'form',\n"
        "                              'fields': []}],\n"
        "            'state': {'k\\x00ey': ['v\\x00al']}}\n"
    )
    world = editor_world(alice)
    run = execute(queue_preview(world, source).pk)
    assert run.status == RunStatus.SUCCEEDED, (run.error_summary, run.stderr)
    assert (run.stdout, run.stderr) == ("out\ufffdput\n", "err\ufffdor\n")
    assert messages(run) == ["m\ufffdsg"]
    assert run.ui_payload["next_actions"][0]["label"] == "G\ufffdo"
    session = ToolSession.objects.get(tool=world.tool)
    assert session.state == {"k\ufffdey": ["v\ufffdal"]}


def test_nul_in_a_user_error_message_is_replaced(alice):
    source = (
        "from tool_errors import ToolUserError\n"
        "def run_tool(input_dir, output_dir):\n"
        "    raise ToolUserError('bad\\x00file')\n"
    )
    run = execute(_preview(alice, source).pk)
    assert (run.status, run.error_summary) == (RunStatus.FAILED, "bad\ufffdfile")


def test_redelivered_task_changes_nothing(alice):
    run = _preview(alice, "def run_tool(i, o):\n    print('once')\n    return 'x'\n")
    assert execute_run(run_id=run.pk) == RunStatus.SUCCEEDED
    first = ToolRun.objects.get(pk=run.pk)
    assert execute_run(run_id=run.pk) is None
    again = ToolRun.objects.get(pk=run.pk)
    fields = ("status", "started_at", "finished_at", "stdout", "ui_payload", "artifacts_manifest")
    assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]
    assert ApiToken.objects.filter(run_id=run.pk).count() == 1


def test_unknown_run_id_is_nothing_to_do():
    assert execute_run(run_id="00000000-0000-0000-0000-000000000000") is None


def test_snapshot_deleted_while_queued_fails_with_the_rerun_message(alice, dirs):
    run = _preview(alice, ECHO_SOURCE)
    SandboxSnapshot.objects.filter(pk=run.snapshot_id).delete()
    run = execute(run.pk)
    assert run.snapshot_id is None
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Sandbox snapshot has expired. Run the sandbox again.",
    )
    assert list(dirs.work.iterdir()) == []


ENV_DUMP_SOURCE = """\
import os

def run_tool(input_dir, output_dir):
    print(sorted(os.environ.items()))
    print(open('/proc/self/environ', 'rb').read().decode('utf-8', 'replace'))
    print(open('/proc/1/environ', 'rb').read().decode('utf-8', 'replace'))
    return 'seen'
"""


@pytest.mark.usefixtures("each_backend")
def test_run_token_is_minted_for_the_run_revoked_after_and_never_in_the_sandbox(alice, settings):
    tool = published_tool(alice, ENV_DUMP_SOURCE)
    run = execute(queue_production_run(tool, alice).pk)
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    token = ApiToken.objects.get(run_id=run.pk)
    assert (token.kind, token.project_id, token.user_id) == (
        TokenKind.RUN,
        tool.project_id,
        alice.pk,
    )
    assert token.revoked_at is not None
    assert token.expires_at is not None
    dumped = run.stdout
    assert "SKRIPTOTEKET_COLLECTIONS_SOCKET" in dumped  # the dump really is the environment
    assert "skt_run_" not in dumped
    assert token.prefix not in dumped
    assert settings.SECRET_KEY not in dumped
    assert "DATABASE_URL" not in dumped and "DJANGO_SETTINGS_MODULE" not in dumped


MEMORY_SOURCE = """\
def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info",
                         "message": open('/work/memory.json').read()}]}
"""
SETTINGS_SCHEMA = [{"kind": "string", "name": "colour", "label": "Colour"}]


def test_settings_reach_memory_json_only_through_the_runs_settings_context(alice):
    tool = published_tool(alice, MEMORY_SOURCE, settings_schema=SETTINGS_SCHEMA)
    run_services.save_production_settings(
        tool=tool, actor=alice, expected_state_rev=0, values={"colour": "red"}
    )
    # Values kept for other contexts (sandbox settings, another schema) never reach production.
    for context in ("sandbox-settings:" + "0" * 32, "settings:" + "f" * 32):
        run_services.save_settings(
            tool_id=tool.pk,
            user_id=alice.pk,
            schema=SETTINGS_SCHEMA,
            context=context,
            expected_state_rev=0,
            values={"colour": "blue"},
        )
    run = execute(queue_production_run(tool, alice).pk)
    assert messages(run) == ['{"settings":{"colour":"red"}}']
    blank = queue_production_run(tool, alice)
    ToolRun.objects.filter(pk=blank.pk).update(settings_context="")
    assert messages(execute(blank.pk)) == ['{"settings":{}}']


def test_stored_settings_that_no_longer_fit_the_schema_are_ignored(alice):
    tool = published_tool(alice, MEMORY_SOURCE, settings_schema=SETTINGS_SCHEMA)
    run = queue_production_run(tool, alice)
    ToolSession.objects.create(
        tool=tool, user=alice, context=run.settings_context, state={"colour": 7}
    )
    assert messages(execute(run.pk)) == ['{"settings":{}}']


def test_lone_surrogates_in_a_forged_result_are_stored_replaced(alice):
    forged = (
        b'{"contract_version":2,"status":"failed","error_summary":"bad \\ud800 summary",'
        b'"outputs":[{"kind":"notice","level":"info","message":"m\\udfffsg"}],'
        b'"next_actions":[],"state":{"k\\ud800":"v\\udc00"},"artifacts":[]}'
    )
    run = execute(_preview(alice, _writes_its_own_result(forged)).pk)
    assert run.status == RunStatus.FAILED
    assert run.error_summary == "bad \ufffd summary"
    assert messages(run)[0] == "m\ufffdsg"


def test_lone_surrogates_in_a_forged_state_never_reach_the_session(alice):
    forged = (
        b'{"contract_version":2,"status":"succeeded","error_summary":null,"outputs":[],'
        b'"next_actions":[{"action_id":"go","label":"G\\ud800","kind":"form","fields":[]}],'
        b'"state":{"k":"v\\udc00"},"artifacts":[]}'
    )
    world = editor_world(alice)
    run = execute(queue_preview(world, _writes_its_own_result(forged)).pk)
    assert run.status == RunStatus.SUCCEEDED
    assert run.ui_payload["next_actions"][0]["label"] == "G\ufffd"
    session = ToolSession.objects.get(tool=world.tool)
    assert session.state_rev == 1
    assert "\udc00" not in repr(session.state)


def test_an_outcome_the_database_refuses_still_finishes_the_run(alice, monkeypatch):
    # Without the scrubbing, the forged surrogate makes the finishing UPDATE fail: the run must
    # still end (failed), not stay "running" until the reaper.
    monkeypatch.setattr("apps.runs.services.finishing._text", lambda value: value)
    forged = b'{"contract_version":2,"status":"failed","error_summary":"\\ud800"}'
    run = execute(_preview(alice, _writes_its_own_result(forged)).pk)
    assert (run.status, run.error_summary) == (
        RunStatus.FAILED,
        "Execution failed (internal error).",
    )
    assert run.finished_at is not None
