"""Review in a real browser: an admin opens the queue, reads the diff on the review screen (side
by side, then unified), sees the author's preview as evidence, runs the version in the sandbox
from there, requests changes (an empty message is refused) and the author reads the message in
the editor; another version is published from the review screen. The editor's version history:
open a version read-only, compare two, start a new draft from an old one."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.models import ProjectRole
from apps.sandbox import services as sandbox
from apps.tools import services
from apps.tools.models import Tool, VersionState
from tests.browser.conftest import draft_tool, leave_pages_quietly
from tests.factories import UserFactory, make_project
from tests.factories.review import in_review
from tests.factories.runs import execute

pytestmark = pytest.mark.browser

OLD_SOURCE = """\
def run_tool(input_dir, output_dir):
    return "old answer"
"""
NEW_SOURCE = """\
from skriptoteket_toolkit import read_inputs

def run_tool(input_dir, output_dir):
    name = read_inputs().get("who", "nobody")
    return {"outputs": [{"kind": "notice", "level": "info", "message": "hello " + name}]}
"""
FORM = [{"kind": "string", "name": "who", "label": "Who"}]


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(email="reviewer@example.com", admin=True)


@pytest.fixture
def author(db: None) -> User:
    return UserFactory(email="author@example.com", contributor=True)


def _second_version_previewed_and_submitted(author: User, admin: User) -> tuple:
    """A published tool whose next version (a form and a greeting) the author previewed (the run
    executed) and submitted."""
    project = make_project({author: ProjectRole.OWNER}, name="Grading")
    first = in_review(author, OLD_SOURCE, project=project, preview=False)
    services.publish_version(version=first.version, actor=admin)
    first.tool.refresh_from_db()
    draft = services.create_draft(
        tool=first.tool,
        actor=author,
        content=services.ContentEdit(source_code=NEW_SOURCE, input_schema=FORM),
        derived_from=first.tool.active_version,
        change_summary="Greets by name",
    )
    first.tool.refresh_from_db()
    services.acquire_draft_lock(tool=first.tool, actor=author, draft_head_id=str(draft.pk))
    # The author's preview of exactly the content they submit: the review's evidence.
    preview, _ = sandbox.run_sandbox_preview(
        version=draft,
        actor=author,
        request=sandbox.PreviewRequest(
            snapshot={"source_code": NEW_SOURCE, "input_schema": FORM},
            inputs={"who": "Ann"},
            uploads=[],
        ),
    )
    execute(preview.pk)
    version = services.submit_for_review(version=draft, actor=author)
    return first.tool, version, preview


def test_an_admin_reviews_runs_and_sends_back_and_the_author_reads_it(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    worker: list[object],
    admin: User,
    author: User,
    screenshot: Callable[[str], None],
) -> None:
    tool, version, preview = _second_version_previewed_and_submitted(author, admin)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    login(page, live_server, admin)
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    row = page.locator(f'tr[data-version-id="{version.pk}"]')
    expect(row).to_contain_text("author@example.com")
    expect(row).to_contain_text("Greets by name")
    row.get_by_role("link", name="Review").click()

    expect(page.locator("#review-base")).to_contain_text("the active version")
    diff = page.locator("#review-diff")
    expect(diff.locator("[data-changed=true]")).to_have_count(2)  # source, input schema
    source = diff.locator(".diff-part").first
    expect(source.locator(".diff-split")).to_be_visible()
    expect(source.locator("td.diff-del").first).to_contain_text("old answer")
    expect(source.locator("td.diff-add").first).to_contain_text("read_inputs")
    expect(diff.locator(".diff-part", has_text="Usage instructions")).to_contain_text("No changes.")
    screenshot("side-by-side")
    diff.get_by_label("Unified").check()
    expect(diff).to_have_attribute("data-diff-mode", "unified")
    expect(source.locator("tr.diff-del")).to_contain_text("Removed:")
    expect(source.locator("tr.diff-add").first).to_contain_text("Added:")
    no_overflow = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert page.evaluate(no_overflow)

    evidence = page.locator(f'#evidence-table tr[data-run-id="{preview.pk}"]')
    expect(evidence).to_contain_text("author@example.com")
    expect(evidence.locator("[data-status]")).to_have_attribute("data-status", "succeeded")

    page.get_by_label("Who").fill("Reviewer")
    page.get_by_role("button", name="Run in the sandbox").click()
    expect(page.locator("#review-run-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#review-run-result")).to_contain_text("hello Reviewer")
    screenshot("after-run")
    assert violations == []

    with page.expect_navigation():
        page.locator("#request-changes-message").fill("   ")
        page.get_by_role("button", name="Request changes").click()
    expect(page.locator("#decision-errors")).to_contain_text("Say what should change")
    version.refresh_from_db()
    assert version.state == VersionState.IN_REVIEW

    page.locator("#request-changes-message").fill("Please greet in Swedish too.")
    page.get_by_role("button", name="Request changes").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Changes requested")
    expect(page.locator("#review-queue-empty")).to_be_visible()

    _author_reads_the_request(browser, live_server, login, author, tool)


def _author_reads_the_request(
    browser: Browser, live_server: LiveServer, login: Callable[..., None], author: User, tool: Tool
) -> None:
    context = browser.new_context(base_url=live_server.url)
    author_page = context.new_page()
    login(author_page, live_server, author)
    author_page.goto(f"/tools/{tool.pk}/edit")
    banner = author_page.locator("#changes-requested")
    expect(banner).to_contain_text("Changes requested by reviewer@example.com")
    expect(banner).to_contain_text("Please greet in Swedish too.")
    leave_pages_quietly(context)
    context.close()


def test_an_admin_publishes_from_the_review_screen(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    admin: User,
    author: User,
) -> None:
    world = in_review(author, OLD_SOURCE, preview=False)
    login(page, live_server, admin)
    page.goto(f"/review/{world.version.pk}")
    expect(page.locator("#review-base")).to_contain_text("Compared with nothing")
    expect(page.locator("#evidence-empty")).to_be_visible()
    page.locator("#publish-message").fill("First release")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messages")).to_contain_text(
        f"Published version {world.version.version_number}"
    )
    world.tool.refresh_from_db()
    assert world.tool.active_version.change_summary == "First release"
    assert world.tool.active_version.published_by == admin


def test_version_history_open_read_only_compare_and_new_draft_from_an_old_version(
    page: Page,
    open_editor: Callable[..., None],
    author: User,
    screenshot: Callable[[str], None],
) -> None:
    tool = draft_tool(author, make_project({author: ProjectRole.OWNER}), OLD_SOURCE)
    first = tool.draft_head
    services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(first.pk))
    second = services.save_draft(
        version=first,
        actor=author,
        expected_parent_version_id=first.pk,
        content=services.ContentEdit(source_code=NEW_SOURCE),
    )
    services.release_draft_lock(tool=tool, actor=author)
    open_editor(author, tool)
    source = page.locator("#source-editor .cm-content")
    expect(source).to_contain_text("read_inputs")
    source.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# unsaved line")

    versions = page.locator("#version-list")
    versions.get_by_role("button", name=f"Open version {first.version_number} read-only").click()
    expect(page.locator("#history-viewing")).to_contain_text(
        f"version {first.version_number} (superseded), read-only"
    )
    expect(source).to_contain_text("old answer")
    expect(source).to_have_attribute("contenteditable", "false")
    expect(page.locator("#save-button")).to_be_disabled()
    expect(page.locator("#sandbox-panel")).to_be_hidden()
    screenshot("read-only")
    page.get_by_role("button", name="Back to the draft").click()
    expect(page.locator("#history-viewing")).to_be_hidden()
    expect(source).to_contain_text("# unsaved line")
    expect(source).to_have_attribute("contenteditable", "true")
    expect(page.locator("#save-button")).to_be_enabled()

    compare = page.locator("#history-compare-button")
    expect(compare).to_be_disabled()
    versions.get_by_label(f"Compare version {first.version_number}").check()
    versions.get_by_label(f"Compare version {second.version_number}").check()
    compare.click()
    panel = page.locator("#history-compare")
    expect(panel).to_contain_text(
        f"Version {first.version_number} compared with version {second.version_number}"
    )
    expect(panel.locator(".diff-part").first.locator("td.diff-del").first).to_contain_text(
        "old answer"
    )
    expect(panel.locator(".diff-part", has_text="Usage instructions")).to_contain_text(
        "No changes."
    )
    screenshot("compare")

    # A new draft needs the unsaved text saved or gone first: undo the typing.
    source.click()
    page.keyboard.press("Control+End")
    for _ in "# unsaved line":
        page.keyboard.press("Backspace")
    expect(page.locator("#save-status")).to_have_text("")
    page.once("dialog", lambda dialog: dialog.accept())
    versions.get_by_role("button", name=f"New draft from version {first.version_number}").click()
    expect(page.locator("#editor-messages")).to_contain_text("created; you are editing it")
    expect(source).to_contain_text("old answer")
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    tool.refresh_from_db()
    assert tool.draft_head.derived_from_id == first.pk
    assert tool.draft_head.source_code == OLD_SOURCE
