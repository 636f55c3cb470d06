"""The editor page's core in a real browser: the draft lock (acquire, read-only for others, admin
takeover told to the displaced holder within 10 s, release on leave), the unsaved buffer kept in
the browser, schema diagnostics, save and the tool list. Also measures the page weight."""

import re
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.locks.models import DraftLock
from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.tools import services
from apps.tools.models import Tool, ToolVersion, VersionState
from tests.browser.conftest import ARTIFACTS, in_module
from tests.browser.measures import assets_loaded, page_weight
from tests.editor.test_bundle import EDITOR, MARKDOWN
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.browser

PAGE_WEIGHT_BUDGET = 250 * 1024
LOCKED_BY = re.compile(r"^Locked by (\S+) until \d\d:\d\d$")


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(email="root@example.com", admin=True)


@pytest.fixture
def tool(alice: User, bob: User, admin: User) -> Tool:
    """A tool with one draft; alice owns it, bob (a project editor) maintains it too."""
    tool = make_tool(owner=alice, title="Book list")
    assign_role(user=bob, project=tool.project, role=ProjectRole.EDITOR)
    services.assign_maintainer(tool=tool, actor=admin, email=bob.email)
    make_draft(tool, alice)
    tool.refresh_from_db()
    return tool


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Page, str], None]:
    """`shoot(page, "state")`: a full-page screenshot of any of the test's pages."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Page, state: str) -> None:
        # Sticky bars are drawn where the last scroll left them, and a keyboard scroll (Ctrl+End
        # on a read-only editor) is animated: wait until the page rests at the top.
        page.evaluate("document.activeElement.blur()")
        for _ in range(20):
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(100)
            if page.evaluate("window.scrollY") == 0:
                break
        page.screenshot(path=ARTIFACTS / f"{request.node.name}-{state}.png", full_page=True)

    return take


def leave(page: Page) -> None:
    """Leave the editor and give its release beacon time to finish: a beacon still running while
    the test database is flushed can deadlock the flush and leave rows behind."""
    if not page.is_closed():
        page.goto("about:blank")
        page.wait_for_timeout(500)


@pytest.fixture(autouse=True)
def _leave_before_teardown(page: Page) -> Iterator[None]:
    yield
    leave(page)


@pytest.fixture
def other_page(
    browser: Browser, live_server: LiveServer, login: Callable[..., None]
) -> Iterator[Callable[[User], Page]]:
    """`other_page(user)`: a signed-in page in a browser context of its own (another person)."""
    contexts: list[BrowserContext] = []

    def open_as(user: User) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        login(page, live_server, user)
        return page

    yield open_as
    for context in contexts:
        for page in context.pages:
            leave(page)
        context.close()


def open_editor(page: Page, tool: Tool) -> None:
    page.goto(f"/tools/{tool.pk}/edit")
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")


def source_of(page: Page) -> str:
    return str(in_module(page, "editor/core.js", "m.snapshot().source_code"))


def type_in_source(page: Page, text: str) -> None:
    page.locator("#source-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def replace_in_editor(page: Page, editor_id: str, text: str) -> None:
    page.locator(f"#{editor_id} .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    if text:
        page.keyboard.insert_text(text)


def expect_read_only(page: Page, holder: str) -> None:
    badge = page.locator("#lock-badge")
    expect(badge).to_have_text(LOCKED_BY)
    assert LOCKED_BY.match(badge.inner_text()).group(1) == holder
    expect(page.locator("#save-button")).to_be_disabled()
    expect(page.locator("#source-editor .cm-content")).to_have_attribute("contenteditable", "false")
    expect(page.locator("#entrypoint")).not_to_be_editable()


def test_lock_read_only_takeover_and_restorable_buffer(
    page, live_server, login, shoot, other_page, tool, alice, bob, admin
):
    login(page, live_server, alice)
    open_editor(page, tool)
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    expect(page.locator("#save-button")).to_be_enabled()
    expect(page.locator("#takeover-button")).to_be_hidden()
    shoot(page, "1-holder")

    reader = other_page(bob)
    open_editor(reader, tool)
    expect_read_only(reader, holder="alice@example.com")
    expect(reader.locator("#takeover-button")).to_be_hidden()  # bob is no admin
    before = source_of(reader)
    type_in_source(reader, "# bob was here")
    assert source_of(reader) == before
    shoot(reader, "2-reader")

    type_in_source(page, "\n# unsaved work of alice")
    assert "# unsaved work of alice" in source_of(page)

    taker = other_page(admin)
    open_editor(taker, tool)
    expect(taker.locator("#lock-badge")).to_have_text(LOCKED_BY)
    taker.locator("#takeover-button").click()
    taker.locator("#takeover-reason").fill("Alice is away; the fix is urgent")
    taker.locator("#takeover-confirm").click()
    expect(taker.locator("#lock-badge")).to_have_text("You are editing")
    taken_at = time.monotonic()
    shoot(taker, "3-admin-took-over")

    # The displaced holder is told within 10 seconds and becomes read-only.
    expect(page.locator("#lock-badge")).to_have_text(LOCKED_BY, timeout=10_000)
    told_after = time.monotonic() - taken_at
    print(f"\nthe displaced holder was told after {told_after:.1f} s")  # noqa: T201
    assert told_after < 10
    expect_read_only(page, holder="root@example.com")
    # ...with the reason the admin typed, in the message and under the badge.
    expect(page.locator("#editor-messages")).to_contain_text(
        "root@example.com took over the editing lock: “Alice is away; the fix is urgent”"
    )
    expect(page.locator("#lock-reason")).to_have_text(
        re.compile(
            r"^Taken over by root@example\.com at \d\d:\d\d: “Alice is away; the fix is urgent”$"
        )
    )
    expect(reader.locator("#lock-reason")).to_be_hidden()  # written for alice, not for bob
    shoot(page, "4-displaced")

    page.reload()
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#lock-badge")).to_have_text(LOCKED_BY)
    expect(page.locator("#lock-reason")).to_contain_text("Alice is away; the fix is urgent")
    assert "# unsaved work of alice" not in source_of(page)
    expect(page.locator("#restore-buffer-button")).to_be_visible()
    page.wait_for_timeout(600)  # longer than the buffer debounce: loading must not drop it
    assert page.evaluate("localStorage.length") == 1
    shoot(page, "5-restore-offered")
    page.locator("#restore-buffer-button").click()
    assert "# unsaved work of alice" in source_of(page)
    expect(page.locator("#save-button")).to_be_disabled()  # restoring does not bring the lock
    shoot(page, "6-restored")


def test_leaving_the_page_releases_the_lock_and_a_waiting_maintainer_gets_it(
    page, live_server, login, other_page, tool, alice, bob
):
    login(page, live_server, alice)
    open_editor(page, tool)
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    waiting = other_page(bob)
    open_editor(waiting, tool)
    expect(waiting.locator("#lock-badge")).to_have_text(LOCKED_BY)
    assert DraftLock.objects.get(tool=tool).holder_id == alice.pk

    page.goto("/projects/")  # the beacon releases the lock at once, not after the 10 min TTL
    expect(waiting.locator("#lock-badge")).to_have_text("You are editing", timeout=10_000)
    expect(waiting.locator("#save-button")).to_be_enabled()
    assert DraftLock.objects.get(tool=tool).holder_id == bob.pk


def test_admins_edit_the_title_and_summary(page, live_server, login, tool, admin):
    login(page, live_server, admin)
    open_editor(page, tool)
    page.locator("#title").fill("Reading list")
    page.locator("#summary").fill("For the autumn term")
    page.locator("#metadata-save").click()
    expect(page.locator("#editor-messages")).to_contain_text("Title and summary saved.")
    expect(page.locator("#tool-heading")).to_have_text("Reading list")
    tool.refresh_from_db()
    assert (tool.title, tool.summary) == ("Reading list", "For the autumn term")


def test_schema_parse_errors_and_server_issues_block_save(
    page, live_server, login, shoot, tool, alice
):
    login(page, live_server, alice)
    open_editor(page, tool)
    save = page.locator("#save-button")
    problems = page.locator("#schema-problems")
    expect(save).to_be_enabled()

    replace_in_editor(page, "input-schema-editor", '[\n  {"kind": "string",, "name": "a"}\n]')
    expect(problems).to_contain_text("input_schema: Invalid JSON at line 2, column 21")
    expect(save).to_be_disabled()
    expect(page.locator("#input-schema-editor .cm-lint-marker-error")).to_have_count(1)
    assert in_module(page, "editor/core.js", "m.schemaProblems()")[0]["line"] == 2
    shoot(page, "parse-error")

    big = '[\n  {"kind": "file", "name": "f", "label": "Files",\n   "min": 0, "max": 999}\n]'
    replace_in_editor(page, "input-schema-editor", big)
    expect(problems).to_contain_text("input_schema /0/max:")
    expect(problems).to_contain_text("(line 3, column 21)")
    expect(save).to_be_disabled()
    shoot(page, "server-issue")

    replace_in_editor(page, "settings-schema-editor", "")
    replace_in_editor(page, "input-schema-editor", "")
    expect(problems).to_be_hidden()
    expect(save).to_be_enabled()
    snapshot = in_module(page, "editor/core.js", "m.snapshot()")
    assert snapshot["input_schema"] == []
    assert snapshot["settings_schema"] is None


def test_save_makes_a_new_version_and_clears_the_kept_buffer(
    page, live_server, login, shoot, tool, alice
):
    login(page, live_server, alice)
    open_editor(page, tool)
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    first = tool.draft_head_id
    type_in_source(page, "\n# second version")
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")
    # A function, not an expression: Playwright evals an expression, which the CSP refuses.
    page.wait_for_function("() => localStorage.length === 1")
    page.locator("#change-summary").fill("A comment")
    page.locator("#save-button").click()

    expect(page.locator("#editor-messages")).to_contain_text("Saved as version 2.")
    versions = page.locator("#version-list li")
    expect(versions).to_have_count(2)
    expect(versions.first).to_have_attribute("data-state", "draft")
    expect(versions.first).to_contain_text("v2")
    expect(versions.nth(1)).to_have_attribute("data-state", "superseded")
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    expect(page.locator("#save-status")).to_have_text("")
    assert page.evaluate("localStorage.length") == 0
    head = Tool.objects.get(pk=tool.pk).draft_head
    assert head.pk != first
    assert "# second version" in head.source_code
    assert head.change_summary == "A comment"
    assert in_module(page, "editor/core.js", "m.lockState().headId") == str(head.pk)
    shoot(page, "saved")

    page.reload()
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")
    assert "# second version" in source_of(page)
    expect(page.locator("#buffer-notice")).to_be_hidden()


def test_a_new_tool_gets_its_first_draft_then_goes_to_review(
    page, live_server, login, shoot, alice
):
    project = make_tool(owner=alice, title="Seed").project
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")
    page.locator("#tools-link").click()
    page.get_by_label("Title").fill("Seating plan")
    page.get_by_role("button", name="Create tool").click()
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#lock-badge")).to_have_text("Not locked")
    # The next step, not "you do not hold the lock": there is no draft to lock yet.
    expect(page.locator("#draft-notice")).to_contain_text("Create a draft to edit.")
    expect(page.locator("#create-draft-button")).to_have_text("Create draft")
    expect(page.locator("#run-blocked-reason")).to_contain_text("Create a draft to edit")
    expect(page.locator("#read-only-note")).to_be_hidden()
    expect(page.locator("#save-button")).to_be_disabled()
    shoot(page, "new-tool")

    page.locator("#create-draft-button").click()
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    expect(page.locator("#version-list li")).to_have_count(1)
    expect(page.locator("#draft-notice")).to_be_hidden()

    tool = Tool.objects.get(title="Seating plan")
    make_publishable(tool)
    page.locator("#submit-review-button").click()
    page.locator("#review-note").fill("Please look")
    page.locator("#submit-review-confirm").click()
    expect(page.locator("#editor-messages")).to_contain_text("submitted for review")
    expect(page.locator("#version-list li").first).to_have_attribute("data-state", "in_review")
    expect(page.locator("#lock-badge")).to_have_text("Not locked")
    expect(page.locator("#draft-notice")).to_contain_text("Create a draft to edit.")
    expect(page.locator("#create-draft-button")).to_have_text("Create draft")
    expect(page.locator("#run-blocked-reason")).to_contain_text("Create a draft to edit")
    assert ToolVersion.objects.get(tool=tool).state == VersionState.IN_REVIEW
    shoot(page, "in-review")

    page.locator("#create-draft-button").click()  # a new draft from the reviewed version
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    expect(page.locator("#version-list li")).to_have_count(2)
    expect(page.locator("#version-list li").first).to_have_attribute("data-state", "draft")
    assert Tool.objects.get(pk=tool.pk).draft_head.derived_from.state == VersionState.IN_REVIEW
    page.goto("about:blank")  # the list shows the lock only while someone edits

    page.goto(f"/projects/{project.pk}/tools")
    expect(page.locator(f'tr[data-tool-id="{tool.pk}"]')).to_contain_text("in review")
    shoot(page, "tool-list")


SPEC_CODES = [
    "DRAFT_LOCK_REQUIRED",
    "DRAFT_LOCK_EXPIRED",
    "DRAFT_LOCK_HELD",
    "DRAFT_LOCK_STALE_TOKEN",
    "DRAFT_HEAD_MOVED",
    "NOT_DRAFT_HEAD",
    "FORCE_REQUIRES_ADMIN",
    "VALIDATION_ERROR",
    "PUBLISH_REQUIREMENTS",
    "WRONG_VERSION_STATE",
    "ADMIN_REQUIRED",
    "SUPERUSER_REQUIRED",
    "SNAPSHOT_NOT_FOUND",
    "SNAPSHOT_EXPIRED",
    "SNAPSHOT_MISMATCH",
    "SESSION_NOT_FOUND",
    "STATE_REV_CONFLICT",
    "ACTION_NOT_OFFERED",
    "RUN_LIMIT_REACHED",
    "RUNNER_UNAVAILABLE",
    "PREVIEW_READ_ONLY",
]


def test_every_error_code_gets_its_own_human_message(page, live_server, login, tool, alice):
    login(page, live_server, alice)
    open_editor(page, tool)
    texts = in_module(
        page, "shared/messages.js", "arg.map((code) => m.messageFor(code, 'fallback'))", SPEC_CODES
    )
    assert "fallback" not in texts
    assert len(set(texts)) == len(texts)
    assert "Run the sandbox again" in texts[SPEC_CODES.index("SNAPSHOT_EXPIRED")]
    fallback = in_module(page, "shared/messages.js", "m.messageFor('NO_SUCH_CODE', 'the fallback')")
    assert fallback == "the fallback"


def test_page_weight_of_the_editor(page, live_server, login, tool, alice):
    """Every JS and CSS file the editor page loads, gzip-compressed (level 9, as WhiteNoise)."""
    login(page, live_server, alice)
    with assets_loaded(page) as assets:
        open_editor(page, tool)
    sizes = page_weight("editor page", live_server, assets, PAGE_WEIGHT_BUDGET)
    assert any(path.endswith(EDITOR.name) for path in sizes)
    assert any(path.endswith(MARKDOWN.name) for path in sizes)
    assert any(path.endswith("/js/editor/core.js") for path in sizes)
