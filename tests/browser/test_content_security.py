"""Nothing a tool writes makes a viewer's browser fetch from another host, and every page still
works under the Content-Security-Policy: the editor with a real sandbox run, the app's pages,
the Django admin and Swagger UI. Every request of the browser context is recorded (requests to
other hosts are aborted, so nothing leaves the machine); CSP violations are read from the console.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.models import Project
from tests.browser.conftest import draft_tool, run_and_wait
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

DOT = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
TRACKING_SOURCE = f"""\
def run_tool(input_dir, output_dir):
    return {{"outputs": [
        {{"kind": "markdown", "markdown": "Seen ![x](http://external.example/pixel.png) "
          "![p](//external.example/protocol-relative.png) ![dot]({DOT}) "
          "[a link](https://external.example/page)"}},
        {{"kind": "html_sandboxed", "html": "<style>#styled {{ color: rgb(1, 2, 3); "
          "background: url(http://external.example/a.png) }}</style><p id='styled'>Framed</p>"
          "<img src='https://external.example/b.png'><img src='/static/never-loaded.png'>"}},
    ]}}
"""
USAGE = "Read me ![u](https://external.example/usage.png)"
LOCAL_HOSTS = {"localhost", "127.0.0.1"}


@dataclass
class Traffic:
    """What the browser context asked for, and the CSP violations its pages reported."""

    requests: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname not in LOCAL_HOSTS]


@pytest.fixture
def traffic(page: Page) -> Traffic:
    seen = Traffic()

    def answer(route: Route) -> None:
        seen.requests.append(route.request.url)
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    def read(message: ConsoleMessage) -> None:
        # Chromium reports each refusal on the console, the sandboxed frame's ones included.
        if "Content Security Policy" in message.text:
            seen.violations.append(message.text)

    page.context.route("**/*", answer)
    page.on("console", read)
    return seen


def test_tool_output_makes_no_request_to_another_host(
    page: Page,
    open_editor: Callable[..., None],
    traffic: Traffic,
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, TRACKING_SOURCE, usage_instructions=USAGE)
    open_editor(alice, tool)
    run_and_wait(page)

    markdown = page.locator("#run-results .sk-markdown")
    expect(markdown).to_contain_text("Seen")
    frame = page.frame_locator("#run-results iframe")
    expect(frame.locator("#styled")).to_have_text("Framed")
    page.locator("#usage-preview > summary").click()
    expect(page.locator("#usage-preview-body")).to_contain_text("Read me")
    page.wait_for_timeout(500)  # give a late image or stylesheet request time to show up

    assert traffic.external() == []
    # The frame's own policy (images only from data:) refuses even this server's images.
    assert not [url for url in traffic.requests if "never-loaded" in url]
    # The only violations are the refused tool resources; the page's own scripts and styles run.
    assert traffic.violations, "the framed tool CSS and images should have been refused"
    refused = ("external.example", "never-loaded")
    assert all(any(word in text for word in refused) for text in traffic.violations), (
        traffic.violations
    )

    # External images became links to where they are; a data: image stays an image.
    expect(markdown.locator("img")).to_have_count(1)
    assert (markdown.locator("img").get_attribute("src") or "").startswith("data:image/png")
    images = markdown.locator("a.sk-image-link")
    expect(images).to_have_count(2)
    assert images.nth(0).get_attribute("href") == "http://external.example/pixel.png"
    expect(markdown.get_by_role("link", name="a link")).to_have_attribute(
        "href", "https://external.example/page"
    )
    expect(page.locator("#usage-preview-body img")).to_have_count(0)
    expect(page.locator("#usage-preview-body a.sk-image-link")).to_have_count(1)
    # The tool's inline CSS still applies inside the frame, under the frame's own policy.
    expect(frame.locator("#styled")).to_have_css("color", "rgb(1, 2, 3)")
    srcdoc = page.locator("#run-results iframe").get_attribute("srcdoc") or ""
    assert "default-src 'none'" in srcdoc


@pytest.fixture
def root(db: None) -> User:
    return UserFactory(email="root@example.com", superuser=True)


def test_app_pages_admin_and_api_docs_work_under_the_policy(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    traffic: Traffic,
    root: User,
    alice: User,
    project: Project,
) -> None:
    page.goto("/api/docs/")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    # Swagger UI would show a badge image from validator.swagger.io for a non-local schema URL.
    assert page.evaluate("ui.getConfigs().validatorUrl") is None

    page.goto("/no-such-page")
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()

    login(page, live_server, root)
    for url, heading in [
        ("/admin/", "Site administration"),
        ("/admin/accounts/user/", "Select user to change"),
        (f"/admin/accounts/user/{alice.pk}/change/", "Change user"),
        ("/admin/projects/project/", "Select project to change"),
    ]:
        page.goto(url)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()

    page.context.clear_cookies()
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}")
    expect(page.locator(".project-header")).to_be_visible()
    page.goto(f"/projects/{project.pk}/tools")
    page.goto("/accounts/tokens/")

    assert traffic.external() == []
    assert traffic.violations == []
