"""The whole day of someone who runs tools (global role `user`), across the portal's pages: find
a demo tool in the catalog by searching, run it with files, read the table and the artifact,
continue with two next actions, come back through My runs, open the run, run it again; the
catalog then knows it as recently used and as a favorite. Someone of another project never
meets the tool or the run. Runs are executed for real by the `worker` fixture."""

import re
import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunStatus, ToolRun
from apps.tools.demo import DEMO_TOOLS
from apps.tools.models import Tool
from tests.factories import UserFactory
from tests.factories.projects import make_project
from tests.factories.runs import published_tool

pytestmark = pytest.mark.browser

DEMO = next(demo for demo in DEMO_TOOLS if demo.slug == "demo-next-actions")


@pytest.fixture
def school(alice: User) -> Project:
    return make_project({alice: ProjectRole.OWNER}, name="Norrskolan")


@pytest.fixture
def uma(school: Project) -> User:
    user = UserFactory(email="uma@example.com")
    assign_role(user=user, project=school, role=ProjectRole.VIEWER)
    return user


@pytest.fixture
def demo_tool(alice: User, school: Project) -> Tool:
    return published_tool(
        alice,
        DEMO.source,
        project=school,
        title=DEMO.title,
        summary=DEMO.summary,
        input_schema=DEMO.input_schema,
        usage_instructions=DEMO.usage_instructions,
    )


def _next_step(page: Page, heading: str) -> None:
    page.locator('#next-actions form[data-action-id="next"]').get_by_role("button").click()
    expect(page.locator("#run-results .sk-markdown h2")).to_have_text(heading)


def test_a_user_finds_runs_continues_and_reruns_a_demo_tool(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    screenshot: Callable[[str], None],
    uma: User,
    demo_tool: Tool,
    worker: list[threading.Thread],
) -> None:
    login(page, live_server, uma)
    expect(page).to_have_url(re.compile(r"/tools/$"))
    expect(page.locator("#catalog-recent")).to_have_count(0)  # nothing run yet
    page.get_by_label("Search").press_sequentially("counter", delay=30)  # in the summary
    card = page.locator(f'#catalog-tools [data-tool-id="{demo_tool.pk}"]')
    expect(page.locator("#catalog-tools .tool-run-link")).to_have_text([DEMO.title])
    card.get_by_role("button", name=f"Add “{DEMO.title}” to favorites").click()
    screenshot("found")
    card.get_by_role("link", name=DEMO.title).click()

    expect(page.locator("#run-page")).to_have_attribute("data-ready", "true")
    page.locator("#run-files").set_input_files(
        [{"name": "elever.csv", "mimeType": "text/csv", "buffer": b"namn\nAda\nBo\n"}]
    )
    page.locator("#run-button").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
    table = page.locator('#run-results [data-kind="table"]')
    expect(table.locator("tbody td").first).to_have_text("elever.csv")
    expect(page.locator("#run-artifacts a")).to_have_text("step-0.txt")
    _next_step(page, "Step 1 of 3")
    _next_step(page, "Step 2 of 3")
    screenshot("two-steps")

    page.reload()
    page.get_by_role("link", name="My runs").click()
    rows = page.locator("#run-table tbody tr")
    expect(rows).to_have_count(3)  # the first run and its two actions
    first = ToolRun.objects.get(requested_by=uma, action_id="")
    page.locator(f'#run-table tr[data-run-id="{first.pk}"]').get_by_role(
        "link", name="Details"
    ).click()
    expect(page.locator("#run-input-files")).to_contain_text("elever.csv")
    expect(page.locator('#run-outputs [data-kind="table"] tbody td').first).to_have_text(
        "elever.csv"
    )
    page.locator("#rerun-button").click()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    rerun = ToolRun.objects.filter(requested_by=uma, action_id="").exclude(pk=first.pk).get()
    assert rerun.status == RunStatus.SUCCEEDED
    assert rerun.input_manifest == first.input_manifest
    screenshot("rerun")

    page.get_by_role("link", name="Tools", exact=True).click()
    expect(page.locator("#catalog-recent .tool-run-link")).to_have_text([DEMO.title])
    expect(page.locator("#catalog-favorites .tool-run-link")).to_have_text([DEMO.title])
    screenshot("catalog-after")


def test_someone_of_another_project_never_meets_the_tool_or_the_run(
    browser: Browser,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    uma: User,
    demo_tool: Tool,
    worker: list[threading.Thread],
) -> None:
    outsider = UserFactory(email="otto@example.com")
    make_project({outsider: ProjectRole.OWNER}, name="Söderskolan")
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    try:
        login(page, live_server, uma)
        page.goto(f"/tools/{demo_tool.pk}/run")
        page.locator("#run-files").set_input_files(
            [{"name": "a.txt", "mimeType": "text/plain", "buffer": b"a"}]
        )
        page.locator("#run-button").click()
        expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
        run = ToolRun.objects.get(requested_by=uma)
        context.clear_cookies()

        login(page, live_server, outsider)
        page.goto("/tools/?q=counter")
        expect(page.locator("#catalog-empty")).to_be_visible()
        expect(page.locator("#catalog-tools .tool-run-link")).to_have_count(0)
        for path in (f"/tools/{demo_tool.pk}/run", f"/runs/{run.pk}"):
            response = page.goto(path)
            assert response is not None and response.status == 404, path
            expect(page.get_by_role("heading", name="Not Found")).to_be_visible()
    finally:
        context.close()
