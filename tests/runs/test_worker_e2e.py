"""A real Celery worker (prefork, the three queues) executes runs submitted through the HTTP
API: the asynchronous path end to end (SPEC §6, §12; reference §7.11 item 12).

The worker is a subprocess on this test's database and Redis database; the test process is the
web side. Consumers are switched off and on again to catch runs waiting in their queue.
"""

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.runs.models import ToolRun
from tests.factories.runs import STEPS_SOURCE, editor_world, snapshot_payload
from tests.runs.celery_worker import Worker, celery_worker, queued_run_ids
from tests.runs.helpers import (
    TEST_UID_BASE,
    TEST_UID_SLOTS,
    new_work_root,
    published,
    use_run_files_root,
)

pytestmark = pytest.mark.django_db(transaction=True)

TERMINAL = {"succeeded", "failed", "timed_out", "cancelled"}
RUN_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
def run_roots() -> Iterator[tuple[Path, Path]]:
    work = new_work_root()
    files = Path(tempfile.mkdtemp(prefix="skt-e2e-files-", dir="/tmp"))
    yield work, files
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(files, ignore_errors=True)


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None, django_db_blocker: Any, run_roots: tuple[Path, Path]
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
    work, files = run_roots
    env = {
        "SANDBOX_WORK_ROOT": str(work),
        "RUN_FILES_ROOT": str(files),
        "SANDBOX_UID_BASE": str(TEST_UID_BASE),
        "SANDBOX_UID_SLOTS": str(TEST_UID_SLOTS),
        "RUN_WALL_SECONDS_SANDBOX": "10",
        "RUN_WALL_SECONDS_PRODUCTION": "10",
    }
    log = files.parent / f"{files.name}.worker.log"
    with celery_worker(database=database, env=env, log=log) as running:
        yield running


@pytest.fixture(autouse=True)
def same_files_as_the_worker(settings: Any, run_roots: tuple[Path, Path]) -> None:
    # Uploads are spooled by the web side and read by the worker; artifacts the other way.
    settings.SANDBOX_WORK_ROOT = run_roots[0]
    use_run_files_root(settings, run_roots[1])


def _poll(
    fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Every answer of `fetch` until `done` says so (RUN_TIMEOUT_S at most)."""
    seen = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        seen.append(fetch())
        if done(seen[-1]):
            return seen
        time.sleep(0.05)
    pytest.fail(f"gave up waiting; last answers: {seen[-3:]}")


def _until_finished(client: Any, url: str) -> list[str]:
    answers = _poll(lambda: client.get(url).json(), lambda body: body["status"] in TERMINAL)
    return [body["status"] for body in answers]


def _in_order(statuses: list[str]) -> bool:
    rank = {"queued": 0, "running": 1, **dict.fromkeys(TERMINAL, 2)}
    ranks = [rank[status] for status in statuses]
    return ranks == sorted(ranks)


def test_sandbox_preview_waits_in_its_queue_then_runs_the_unsaved_code(
    worker, alice, api_client_for
):
    world = editor_world(alice)
    client = api_client_for(alice)
    unsaved = "def run_tool(input_dir, output_dir):\n    return 'unsaved text'\n"
    worker.control("cancel_consumer", "sandbox")
    try:
        response = client.post(
            f"/api/v1/editor/tool-versions/{world.head.pk}/run-sandbox",
            {"snapshot": json.dumps(snapshot_payload(unsaved))},
            format="multipart",
        )
        assert response.status_code == 202, response.json()
        run_id = response.json()["run_id"]
        assert response.json()["status"] == "queued"
        url = f"/api/v1/editor/tool-runs/{run_id}"
        time.sleep(0.3)  # nobody consumes `sandbox` now: the run must still be waiting
        assert client.get(url).json()["status"] == "queued"
        assert queued_run_ids("sandbox") == [run_id]
    finally:
        worker.control("add_consumer", "sandbox")
    statuses = _until_finished(client, url)
    assert statuses[-1] == "succeeded", (client.get(url).json(), worker.output())
    assert _in_order(["queued", *statuses]), statuses
    details = client.get(url).json()
    assert details["ui_payload"]["outputs"] == [{"kind": "html_sandboxed", "html": "unsaved text"}]
    assert details["started_at"] and details["finished_at"]


def test_actions_through_the_worker_raise_state_rev_after_each_run(worker, alice, api_client_for):
    world = editor_world(alice)
    client = api_client_for(alice)
    base = f"/api/v1/editor/tool-versions/{world.head.pk}"
    accepted = client.post(
        f"{base}/run-sandbox",
        {"snapshot": json.dumps(snapshot_payload(STEPS_SOURCE))},
        format="multipart",
    ).json()
    snapshot_id = accepted["snapshot_id"]
    assert (
        _until_finished(client, f"/api/v1/editor/tool-runs/{accepted['run_id']}")[-1] == "succeeded"
    )

    def session() -> dict[str, Any]:
        response = client.get(f"{base}/session", {"snapshot_id": snapshot_id})
        return response.json() if response.status_code == 200 else {"state_rev": None}

    assert session()["state_rev"] == 1
    for rev, by, step in ((1, 2, 2), (2, 3, 5)):
        started = client.post(
            f"{base}/start-action",
            {
                "snapshot_id": snapshot_id,
                "action_id": "next",
                "input": {"by": by},
                "expected_state_rev": rev,
            },
            format="json",
        )
        assert started.status_code == 202, started.json()
        assert started.json()["state_rev"] == rev
        # The new revision appears once the worker has finished the action run.
        answers = _poll(session, lambda body, rev=rev: body["state_rev"] == rev + 1)
        assert all(body["state_rev"] in (rev, rev + 1) for body in answers)
        assert answers[-1]["state"] == {"step": step}
        assert answers[-1]["pending_run_id"] is None
        action_run = ToolRun.objects.get(pk=started.json()["run_id"])
        assert action_run.session_context == f"sandbox:{snapshot_id}"
        assert action_run.status == "succeeded"
        assert answers[-1]["latest_run_id"] == str(action_run.pk)


def test_production_run_goes_through_the_runs_queue(worker, alice, api_client_for):
    source = "def run_tool(input_dir, output_dir):\n    return 'from the runs queue'\n"
    tool = published(alice, source)
    client = api_client_for(alice)
    worker.control("cancel_consumer", "runs")
    try:
        response = client.post(f"/api/v1/tools/{tool.pk}/run", {}, format="json")
        assert response.status_code == 202, response.json()
        run_id = response.json()["run_id"]
        time.sleep(0.3)
        assert queued_run_ids("runs") == [run_id]
        assert queued_run_ids("sandbox") == []
    finally:
        worker.control("add_consumer", "runs")
    url = f"/api/v1/runs/{run_id}"
    statuses = _until_finished(client, url)
    assert statuses[-1] == "succeeded", (client.get(url).json(), worker.output())
    body = client.get(url).json()
    assert body["ui_payload"]["outputs"] == [
        {"kind": "html_sandboxed", "html": "from the runs queue"}
    ]
    assert body["context"] == "production"
