"""Run history in a real browser, as a person with the global role `user`: after a real run, My
runs lists it, its detail page shows the inputs as submitted and the status, and "Run again"
starts a new run (same values, same file) that the page follows until it has finished.
Runs are executed for real by the `worker` fixture (conftest.py)."""

import threading
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunStatus, ToolRun
from tests.factories import UserFactory, make_project
from tests.factories.runs import published_tool
from tests.runs.helpers import queue_production_run

pytestmark = pytest.mark.browser

SOURCE = """\
import os
from skriptoteket_toolkit import list_input_files, read_inputs

def run_tool(input_dir, output_dir):
    names = [f["name"] for f in list_input_files()]
    with open(os.path.join(output_dir, "summary.txt"), "w") as handle:
        handle.write("summary")
    return {"outputs": [{"kind": "notice", "level": "info",
                         "message": "Hello %s, files %s" % (read_inputs()["name"], names)}]}
"""
SCHEMA = [
    {"kind": "string", "name": "name", "label": "Your name"},
    {"kind": "file", "name": "files", "label": "Files", "min": 1, "max": 2},
]


@pytest.fixture
def runner(alice: User) -> User:
    """A person who runs tools: global role `user`, a viewer of the tool's project."""
    return UserFactory(email="ursula@example.com")


@pytest.fixture
def team(alice: User, runner: User) -> Project:
    return make_project({alice: ProjectRole.OWNER, runner: ProjectRole.VIEWER}, name="School")


def run_once(alice: User, runner: User, team: Project, worker: list[threading.Thread]) -> ToolRun:
    tool = published_tool(alice, SOURCE, project=team, input_schema=SCHEMA)
    tool.title = "Greeter"
    tool.save(update_fields=["title"])
    upload = SimpleUploadedFile("pupils.csv", b"name\nAda\n", content_type="text/csv")
    run = queue_production_run(tool, runner, {"name": "Ada"}, uploads=[upload])
    for thread in worker:
        thread.join(timeout=30)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error_summary, run.stderr)
    return run


def test_my_runs_detail_and_run_again(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    screenshot: Callable[[str], None],
    alice: User,
    runner: User,
    team: Project,
    worker: list[threading.Thread],
) -> None:
    run = run_once(alice, runner, team, worker)
    login(page, live_server, runner)

    page.goto("/runs/")
    row = page.locator(f'#run-table tr[data-run-id="{run.pk}"]')
    expect(row).to_contain_text("Greeter")
    expect(row.locator(".run-status")).to_have_attribute("data-status", "succeeded")
    screenshot("my-runs")

    row.get_by_role("link", name="Details").click()
    expect(page).to_have_url(f"{live_server.url}/runs/{run.pk}")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
    inputs = page.locator("#run-input-values")
    expect(inputs.locator("dt")).to_have_text(["Your name"])
    expect(inputs.locator("dd")).to_have_text(["Ada"])
    expect(page.locator("#run-input-files")).to_contain_text("pupils.csv")
    expect(page.locator("#input-files-state")).to_have_attribute("data-state", "kept")
    expect(page.locator("#run-streams")).to_have_count(0)  # not a maintainer
    expect(page.locator("#run-artifacts a")).to_have_text("summary.txt")
    screenshot("detail")

    page.locator("#rerun-button").click()
    expect(page.locator(".messages")).to_contain_text("The tool runs again with the same inputs.")
    new_run = ToolRun.objects.exclude(pk=run.pk).get(requested_by=runner)
    expect(page).to_have_url(f"{live_server.url}/runs/{new_run.pk}")
    # The page follows the run and reloads itself when it ends.
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    expect(page.locator("#run-input-values dd")).to_have_text(["Ada"])
    expect(page.locator("#run-input-files")).to_contain_text("pupils.csv")
    new_run.refresh_from_db()
    assert new_run.ui_payload == run.ui_payload
    screenshot("rerun-finished")

    page.goto("/runs/")
    expect(page.locator("#run-table tbody tr")).to_have_count(2)
    expect(page.locator("#run-table tbody tr").first).to_have_attribute(
        "data-run-id", str(new_run.pk)
    )


def test_someone_elses_run_is_not_found(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    alice: User,
    runner: User,
    team: Project,
    worker: list[threading.Thread],
) -> None:
    run = run_once(alice, runner, team, worker)
    login(page, live_server, alice)
    response = page.goto(f"/runs/{run.pk}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()


def test_the_result_is_rendered_by_the_shared_renderer(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    screenshot: Callable[[str], None],
    alice: User,
    runner: User,
    team: Project,
    worker: list[threading.Thread],
) -> None:
    run = run_once(alice, runner, team, worker)
    login(page, live_server, runner)
    page.goto(f"/runs/{run.pk}")
    outputs = page.locator("#run-outputs")
    expect(outputs).to_have_attribute("data-rendered", "true")
    expect(outputs).to_contain_text("Hello Ada, files ['pupils.csv']")
    expect(page.locator("#run-artifacts")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#run-artifacts a")).to_contain_text("summary.txt")
    screenshot("rendered")
