"""The same author in two windows of one browser (one session): the window opened last edits,
the first turns read-only and says why, keeps its unsaved text and can take the lock back."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from apps.locks.models import DraftLock, DraftLockEvent
from apps.tools.models import Tool
from tests.browser.conftest import in_module
from tests.browser.test_editor_core import leave, open_editor, source_of, type_in_source
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.browser

ELSEWHERE = "You opened this tool in another window; this one is read-only now."


@pytest.fixture
def tool(alice) -> Tool:
    tool = make_tool(owner=alice, title="Seating plan")
    make_draft(tool, alice)
    tool.refresh_from_db()
    return tool


@pytest.fixture
def second_window(page: Page) -> Iterator[Page]:
    """Another window of the same browser: same cookies, same session, same localStorage."""
    window = page.context.new_page()
    yield window
    leave(window)
    leave(page)


def editable(window: Page) -> bool:
    return window.locator("#source-editor .cm-content").get_attribute("contenteditable") == "true"


def test_two_windows_of_one_author_never_both_edit(
    page, second_window, live_server, login, tool, alice
):
    login(page, live_server, alice)
    open_editor(page, tool)
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    first_token = in_module(page, "editor/core.js", "m.lockState().lockToken")
    type_in_source(page, "\n# typed in the first window")

    open_editor(second_window, tool)
    expect(second_window.locator("#lock-badge")).to_have_text("You are editing")
    assert in_module(second_window, "editor/core.js", "m.lockState().lockToken") == first_token + 1

    # The first window hears of it at its next lock read (every 5 s), and never edits again
    # by itself.
    expect(page.locator("#lock-badge")).to_have_text(
        "You are editing in another window", timeout=10_000
    )
    expect(page.locator("#editor-messages")).to_contain_text(ELSEWHERE)
    expect(page.locator("#editor-messages")).to_contain_text("unsaved changes are kept")
    expect(page.locator("#save-button")).to_be_disabled()
    expect(page.locator("#read-only-note")).to_have_text(
        "Read-only: you are editing this tool in another window."
    )
    expect(page.locator("#run-blocked-reason")).to_contain_text("another window")
    assert not editable(page)
    assert editable(second_window)
    # Its text is still there, and kept in the browser for a restore.
    assert "# typed in the first window" in source_of(page)
    kept = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('skriptoteket:editor-buffer:'))"
    )
    assert len(kept) == 1
    page.wait_for_timeout(6_000)  # more lock reads: still read-only, the second still edits
    assert not editable(page)
    expect(second_window.locator("#lock-badge")).to_have_text("You are editing")

    # The audit: two acquisitions by alice, the second naming her as the previous holder.
    assert list(
        DraftLockEvent.objects.filter(tool=tool)
        .order_by("id")
        .values_list("action", "actor_id", "previous_holder_id")
    ) == [("acquired", alice.pk, None), ("acquired", alice.pk, alice.pk)]

    # "Edit in this window" takes it back: now the second window is the read-only one.
    page.locator("#take-back-button").click()
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    assert editable(page)
    assert "# typed in the first window" in source_of(page)
    expect(second_window.locator("#lock-badge")).to_have_text(
        "You are editing in another window", timeout=10_000
    )
    expect(second_window.locator("#editor-messages")).to_contain_text(ELSEWHERE)
    assert DraftLock.objects.get(tool=tool).token == first_token + 2

    # Closing the read-only window frees nothing (its token is stale).
    second_window.goto("about:blank")
    page.wait_for_timeout(500)
    assert DraftLock.objects.get(tool=tool).holder_id == alice.pk


def test_a_reload_offers_the_first_windows_unsaved_text(
    page, second_window, live_server, login, tool, alice
):
    login(page, live_server, alice)
    open_editor(page, tool)
    type_in_source(page, "\n# unsaved in window one")
    page.wait_for_timeout(600)  # the buffer is kept after a 400 ms pause
    open_editor(second_window, tool)
    expect(page.locator("#lock-badge")).to_have_text(
        "You are editing in another window", timeout=10_000
    )
    # The window opened second offers the first window's text back.
    expect(second_window.locator("#restore-buffer-button")).to_be_visible()
    second_window.locator("#restore-buffer-button").click()
    assert "# unsaved in window one" in source_of(second_window)
    expect(second_window.locator("#save-button")).to_be_enabled()
