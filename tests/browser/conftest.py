"""Headless Chromium (Debian's, never Playwright's download) driving pytest-django's live server."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from tests.factories.accounts import PASSWORD

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
