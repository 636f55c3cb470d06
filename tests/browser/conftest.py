"""Headless Chromium (Debian's, never Playwright's download) driving pytest-django's live server,
and what the editor's browser tests share: opening the editor, a draft tool.

Runs are executed for real (bubblewrap runner) by the `worker` fixture of tests/conftest.py,
while the page polls the run details as it does in production.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.locks.models import DraftLock
from apps.projects.models import Project
from apps.tools import services as tools
from apps.tools.models import Tool
from tests.factories.accounts import PASSWORD
from tests.factories.tools import make_tool

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a fresh context (no cookies); relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    leave_pages_quietly(context)
    context.close()


def leave_pages_quietly(context: Any) -> None:
    """Navigate every page away and give the editor's leave beacon (lock release) time to
    finish: a request still running while the test database is flushed can deadlock it."""
    for open_page in context.pages:
        if not open_page.is_closed():
            open_page.goto("about:blank")
    if context.pages:
        context.pages[0].wait_for_timeout(300)


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """`screenshot("state")` saves test-artifacts/<test-name>-<state>.png (the full page)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(state: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-{state}.png", full_page=True)

    return take


@pytest.fixture
def login() -> Callable[[Page, LiveServer, User], None]:
    """`login(page, live_server, user)` signs in through the real login form."""

    def sign_in(page: Page, live_server: LiveServer, user: User) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    return sign_in


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """On a failing browser test, keep a screenshot of where the page was."""
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and page is not None and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{item.name}-FAILED.png", full_page=True)
    return report


@pytest.fixture
def open_editor(
    page: Page, live_server: LiveServer, login: Callable[[Page, LiveServer, User], None]
) -> Iterator[Callable[..., None]]:
    opened: list[tuple[User, Tool]] = []

    def open_it(
        user: User, tool: Tool, *, holds_lock: bool = True, query: str = "?poll_ms=200"
    ) -> None:
        login(page, live_server, user)
        page.goto(f"/tools/{tool.pk}/edit{query}")
        badge = "You are editing" if holds_lock else "Locked by"
        expect(page.locator("#lock-badge")).to_contain_text(badge)
        opened.append((user, tool))

    yield open_it
    # Leave the page and let its release beacon finish: a request still running when the
    # test database is flushed deadlocks the flush.
    page.goto("about:blank")
    deadline = time.monotonic() + 5
    for user, tool in opened:
        while (
            time.monotonic() < deadline
            and DraftLock.objects.filter(tool=tool, holder=user).exists()
        ):
            time.sleep(0.05)


def draft_tool(author: User, project: Project, source: str, **content: Any) -> Tool:
    """A tool of `project` with a draft head (no lock: the page takes it)."""
    tool = make_tool(owner=author, project=project)
    tools.create_draft(
        tool=tool, actor=author, content=tools.ContentEdit(source_code=source, **content)
    )
    tool.refresh_from_db()
    return tool


def in_module(page: Page, path: str, expression: str, arg: Any = None) -> Any:
    """The value of a JS `expression` over `m`, the page's own instance of the ES module
    static/js/<path> (the same URL, so the same module the page imported), and `arg`."""
    url = f"/static/js/{path}"
    return page.evaluate(
        f"async (arg) => {{ const m = await import('{url}'); return {expression}; }}", arg
    )


def run_and_wait(page: Page, status: str = "succeeded") -> None:
    page.locator("#run-button").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", status)
