"""The run page /tools/<id>/run in a real browser, as people with the global role `user`: a
demo-style tool with a file upload (table and artifact), two next actions on the production
session, Start over, personal settings, the usage instructions' "seen" state, a tool depublished
while the page is open; plus its page weight and the time from Run to the rendered result.
Runs are executed for real by the `worker` fixture (conftest.py)."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from apps.runs.models import RunContext, ToolRun, ToolSession
from apps.tools import services as tools
from apps.tools.demo import NEXT_ACTIONS_SOURCE, SETTINGS_TEST_SOURCE
from apps.tools.models import Tool
from tests.browser.measures import (
    TRIVIAL_SOURCE,
    assets_loaded,
    page_weight,
    report_median,
    run_to_result_ms,
)
from tests.factories import UserFactory
from tests.factories.runs import STEPS_SOURCE, published_tool, republish

pytestmark = pytest.mark.browser

FILES_FIELD = {"kind": "file", "name": "files", "label": "Files", "min": 1, "max": 10}
SETTINGS_SCHEMA = [{"kind": "string", "name": "theme_color", "label": "Colour theme"}]
PAGE_WEIGHT_BUDGET = 80 * 1024
GONE = "This tool is no longer published"


@pytest.fixture
def user(db: None, project: Project) -> User:
    """Someone who runs tools: global role user, viewer of the project."""
    member = UserFactory(email="uma@example.com")
    assign_role(user=member, project=project, role=ProjectRole.VIEWER)
    return member


@pytest.fixture
def open_run_page(
    page: Page, live_server: LiveServer, login: Callable[[Page, LiveServer, User], None]
) -> Callable[..., None]:
    def open_it(user: User, tool: Tool, query: str = "?poll_ms=200") -> None:
        login(page, live_server, user)
        page.goto(f"/tools/{tool.pk}/run{query}")
        expect(page.locator("#run-page")).to_have_attribute("data-ready", "true")

    return open_it


@pytest.fixture
def other_page(
    browser: Browser, live_server: LiveServer, login: Callable[..., None]
) -> Iterator[Callable[[User], Page]]:
    """`other_page(user)`: a signed-in page in a browser context of its own (another person)."""
    contexts: list[BrowserContext] = []

    def open_as(user: User) -> Page:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        other = context.new_page()
        login(other, live_server, user)
        return other

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Uncaught errors of the page's scripts and what they log as errors (a module that fails to
    import shows here). Refused requests are logged too, and expected (a 409 is part of a test)."""
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            seen.append(message.text)

    page.on("pageerror", lambda error: seen.append(str(error)))
    page.on("console", console)
    return seen


def run_and_wait(page: Page, status: str = "succeeded") -> None:
    page.locator("#run-button").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", status)


def submit_action(page: Page, action_id: str, **values: str) -> None:
    form = page.locator(f'#next-actions form[data-action-id="{action_id}"]')
    for name, value in values.items():
        form.locator(f'[data-field="{name}"] input').fill(value)
    form.get_by_role("button").click()


def heading(page: Page) -> Any:
    return page.locator("#run-results .sk-markdown h2")


def test_demo_tool_with_files_table_artifact_two_next_steps_and_start_over(
    page: Page,
    open_run_page: Callable[..., None],
    screenshot: Callable[[str], None],
    page_errors: list[str],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
    settings: Any,
) -> None:
    settings.UPLOAD_MAX_FILE_BYTES = 1_500_000
    tool = published_tool(alice, NEXT_ACTIONS_SOURCE, project=project, input_schema=[FILES_FIELD])
    open_run_page(user, tool)
    expect(page.locator("#tool-title")).to_have_text(tool.title)
    field = page.locator('[data-field="files"]')
    expect(field.locator(".hint").first).to_have_text("1\u201310 files.")
    # The server's upload limits, shown before anything is uploaded, and checked here too.
    expect(field.locator(".sk-upload-limits")).to_have_text(
        "Up to 20 files per run, at most 1.5 MB a file, 50 MB in all."
    )
    expect(page.locator("#files-note")).to_be_visible()
    files = page.locator("#run-files")
    files.set_input_files(
        [{"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * 1_500_001}]
    )
    page.locator("#run-button").click()
    expect(field.locator(".field-error")).to_have_text("big.txt is larger than 1.5 MB.")
    assert not ToolRun.objects.exists()
    screenshot("ready")

    files.set_input_files(
        [
            {"name": "a.txt", "mimeType": "text/plain", "buffer": b"alpha"},
            {"name": "b.csv", "mimeType": "text/csv", "buffer": b"1,2,3"},
        ]
    )
    run_and_wait(page)
    expect(heading(page)).to_have_text("Uploaded files")
    table = page.locator('#run-results [data-kind="table"]')
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody td").first).to_have_text("a.txt")
    link = page.locator("#run-artifacts a")
    expect(link).to_have_text("step-0.txt")
    download = page.request.get(link.get_attribute("href") or "")
    assert download.ok and download.body() == b"step=0\ndone=False\n"
    expect(page.locator("#run-form")).to_be_hidden()
    expect(page.locator("#next-actions form")).to_have_count(3)
    first = ToolRun.objects.get()
    assert (first.context, first.requested_by_id) == (RunContext.PRODUCTION, user.pk)
    screenshot("first-run")

    # Two next steps on the production session; the prefill is the field's first value.
    increment = page.locator(
        '#next-actions form[data-action-id="next"] [data-field="increment"] input'
    )
    expect(increment).to_have_value("1")
    submit_action(page, "next", increment="1")
    expect(heading(page)).to_have_text("Step 1 of 3")
    expect(page.locator("#run-artifacts a")).to_have_text("step-1.txt")
    submit_action(page, "next", increment="1")
    expect(heading(page)).to_have_text("Step 2 of 3")
    actions = ToolRun.objects.exclude(action_id="").order_by("requested_at")
    assert list(actions.values_list("action_id", flat=True)) == ["next", "next"]

    # Another tab moved the session on: 409, the page reloads the revision and says so. (Once
    # the page has read the revision after the last step: the buttons wait for that read.)
    expect(page.locator('#next-actions form[data-action-id="finish"] button')).to_be_enabled()
    session = ToolSession.objects.get(context="default", user=user)
    ToolSession.objects.filter(pk=session.pk).update(state_rev=session.state_rev + 1)
    submit_action(page, "finish")
    expect(page.locator("#run-message")).to_contain_text(f"now at revision {session.state_rev + 1}")
    screenshot("conflict")
    submit_action(page, "finish")
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("Finished at step 2.")
    expect(page.locator("#next-actions form")).to_have_count(0)
    expect(page.locator("#start-over-button")).to_be_hidden()  # no next step: the form is back
    expect(page.locator("#run-form")).to_be_visible()
    assert page_errors == []


def test_start_over_offers_the_last_files_and_a_run_without_them_gets_none(
    page: Page,
    open_run_page: Callable[..., None],
    screenshot: Callable[[str], None],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = published_tool(alice, NEXT_ACTIONS_SOURCE, project=project, input_schema=[FILES_FIELD])
    open_run_page(user, tool)
    page.locator("#run-files").set_input_files(
        [
            {"name": "a.txt", "mimeType": "text/plain", "buffer": b"alpha"},
            {"name": "b.csv", "mimeType": "text/csv", "buffer": b"1,2,3"},
        ]
    )
    run_and_wait(page)
    submit_action(page, "next")
    expect(heading(page)).to_have_text("Step 1 of 3")

    # Start over in the middle of the steps: the form again, the last files offered for reuse.
    page.locator("#start-over-button").click()
    expect(page.locator("#run-form")).to_be_visible()
    expect(page.locator("#run-results")).to_be_hidden()
    expect(page.locator("#next-actions")).to_be_hidden()
    expect(page.locator("#reuse-files")).to_contain_text("a.txt, b.csv")
    field = page.locator('[data-field="files"]')
    page.locator("#reuse-files-box").uncheck()
    page.locator("#run-button").click()  # no file and no reuse: refused at the field
    expect(field.locator(".field-error")).to_have_text("Choose a file.")
    page.locator("#reuse-files-box").check()
    run_and_wait(page)
    expect(heading(page)).to_have_text("Uploaded files")
    latest = ToolRun.objects.filter(action_id="").order_by("-requested_at").first()
    assert latest is not None
    assert [f["name"] for f in latest.input_manifest["files"]] == ["a.txt", "b.csv"]
    # A fresh session: its first step counts from 0 again.
    submit_action(page, "next")
    expect(heading(page)).to_have_text("Step 1 of 3")
    screenshot("start-over")

    # New files replace the stored ones.
    page.locator("#start-over-button").click()
    page.locator("#run-files").set_input_files(
        [{"name": "c.txt", "mimeType": "text/plain", "buffer": b"gamma"}]
    )
    run_and_wait(page)
    expect(page.locator('#run-results [data-kind="table"] tbody tr')).to_have_count(1)
    page.locator("#start-over-button").click()
    expect(page.locator("#reuse-files")).to_contain_text("the 1 file(s) of your last run: c.txt")


def test_settings_are_saved_used_by_the_next_run_and_private(
    page: Page,
    open_run_page: Callable[..., None],
    other_page: Callable[[User], Page],
    screenshot: Callable[[str], None],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = published_tool(
        alice, SETTINGS_TEST_SOURCE, project=project, settings_schema=SETTINGS_SCHEMA
    )
    open_run_page(user, tool)
    panel = page.locator("#settings-panel")
    expect(panel).to_be_visible()
    theme = panel.get_by_label("Colour theme")
    expect(page.locator("#settings-save")).to_be_enabled()
    theme.fill("#aa0000")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text(
        "Settings saved. Your next run uses them."
    )
    run_and_wait(page)
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("theme_color=#aa0000")
    screenshot("settings-run")

    # Another tab saved meanwhile: 409, the stored values are reloaded and the page says so.
    stored = ToolSession.objects.get(context__startswith="settings:", user=user)
    ToolSession.objects.filter(pk=stored.pk).update(state_rev=stored.state_rev + 1)
    theme.fill("#00aa00")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_contain_text("the stored values were reloaded")
    expect(theme).to_have_value("#aa0000")

    # A second person sees none of it, and their run reads their own (empty) settings.
    other = UserFactory(email="otto@example.com")
    assign_role(user=other, project=project, role=ProjectRole.VIEWER)
    second = other_page(other)
    second.goto(f"/tools/{tool.pk}/run?poll_ms=200")
    expect(second.locator("#run-page")).to_have_attribute("data-ready", "true")
    expect(second.locator("#settings-panel").get_by_label("Colour theme")).to_have_value("")
    assert "#aa0000" not in second.content()
    run_and_wait(second)
    expect(second.locator('#run-results [data-kind="notice"]')).to_have_text(
        "theme_color=(not set)"
    )


def test_instructions_open_first_collapsed_once_seen_reopened_after_a_change(
    page: Page,
    open_run_page: Callable[..., None],
    screenshot: Callable[[str], None],
    user: User,
    alice: User,
    project: Project,
) -> None:
    tool = published_tool(
        alice, TRIVIAL_SOURCE, project=project, usage_instructions="Read **this** first."
    )
    open_run_page(user, tool)
    usage = page.locator("#usage")
    expect(page.locator("#usage-details")).to_have_attribute("open", "")
    expect(page.locator("#usage-body strong")).to_have_text("this")
    expect(usage).to_have_attribute("data-seen", "true")  # stored once shown
    screenshot("first-visit")

    page.reload()
    expect(usage).to_have_attribute("data-seen", "true")
    expect(page.locator("#usage-details")).not_to_have_attribute("open", "")
    expect(page.locator("#usage-body")).to_be_hidden()
    page.locator("#usage-details > summary").click()  # still there to read
    expect(page.locator("#usage-body")).to_contain_text("Read this first.")

    republish(tool, alice, usage_instructions="Now read **that**.")
    page.reload()
    expect(page.locator("#usage-details")).to_have_attribute("open", "")
    expect(page.locator("#usage-body strong")).to_have_text("that")
    screenshot("after-change")


def test_a_tool_depublished_while_the_page_is_open_says_so(
    page: Page,
    open_run_page: Callable[..., None],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = published_tool(alice, TRIVIAL_SOURCE, project=project)
    open_run_page(user, tool)
    tools.depublish_tool(tool=tool, actor=UserFactory(admin=True))
    page.locator("#run-button").click()
    expect(page.locator("#page-message")).to_contain_text(GONE)
    expect(page.locator("#run-message")).to_contain_text(GONE)
    expect(page.locator("#run-button")).to_be_disabled()
    assert not ToolRun.objects.exists()


def test_a_failed_next_action_keeps_the_last_state_and_its_actions(
    page: Page,
    open_run_page: Callable[..., None],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
    page_errors: list[str],
) -> None:
    tool = published_tool(alice, STEPS_SOURCE, project=project)
    open_run_page(user, tool)
    run_and_wait(page)
    submit_action(page, "next", by="2")
    result = page.locator('#run-results [data-kind="notice"]')
    expect(result).to_contain_text("step=2")
    expect(page.locator('#next-actions form[data-action-id="explode"] button')).to_be_enabled()
    session = ToolSession.objects.get(tool=tool, user=user)
    submit_action(page, "explode")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "failed")
    # The server kept the session (same state, same revision), and so does the page.
    expect(page.locator("#run-message")).to_contain_text(
        "The action “Explode” did not succeed (failed): Tool execution failed (RuntimeError)."
    )
    expect(result).to_contain_text("step=2")
    expect(page.locator("#next-actions form")).to_have_count(2)
    expect(page.locator("#run-form")).to_be_hidden()
    after = ToolSession.objects.get(pk=session.pk)
    assert (after.state, after.state_rev) == (session.state, session.state_rev)
    # Its actions go on from that state.
    submit_action(page, "next", by="1")
    expect(result).to_contain_text("step=3")
    expect(page.locator("#run-message")).to_be_hidden()
    assert [e for e in page_errors if "409" not in e] == []


def test_run_to_result_median_of_ten(
    page: Page,
    open_run_page: Callable[..., None],
    user: User,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    """Clicking Run to the rendered result of a trivial tool, with the page's default polling
    (no ?poll_ms): printed, and held to the 1 s target."""
    tool = published_tool(alice, TRIVIAL_SOURCE, project=project)
    open_run_page(user, tool, query="")
    run_and_wait(page)  # warm-up: first imports, first connections
    assert report_median("Run page", run_to_result_ms(page)) <= 1000


def test_page_weight_of_the_run_page(
    page: Page,
    open_run_page: Callable[..., None],
    live_server: LiveServer,
    user: User,
    alice: User,
    project: Project,
) -> None:
    """Every JS and CSS file the run page loads, gzip-compressed (level 9, as WhiteNoise)."""
    tool = published_tool(alice, TRIVIAL_SOURCE, project=project, settings_schema=SETTINGS_SCHEMA)
    with assets_loaded(page) as assets:
        open_run_page(user, tool)
    sizes = page_weight("run page", live_server, assets, PAGE_WEIGHT_BUDGET)
    assert any(path.endswith("/js/portal/run-page.js") for path in sizes)
    assert not any("skriptoteket-editor-" in path for path in sizes)  # no CodeMirror here
