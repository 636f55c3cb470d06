"""The sandbox merge page in a real browser: the plan shows per proposed tool the diff between the
target tool's current content and the sandbox's (the shared diff view), and the merge record
links the tools it wrote to their editor."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.models import Project
from apps.sandbox_projects import services as sandboxes
from apps.tools import services as tools
from apps.tools.models import Tool
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.browser


def test_the_plan_shows_each_tools_diff_and_the_record_links_the_tools(
    page: Page,
    live_server: LiveServer,
    login: Callable[[Page, LiveServer, User], None],
    alice: User,
    project: Project,
    screenshot: Callable[[str], None],
) -> None:
    grader = make_tool(owner=alice, project=project, title="Grader")
    make_draft(grader, alice, source="def run_tool(i, o):\n    return 'parent'\n")
    sandbox = sandboxes.provision_sandbox(parent=project, actor=alice, name="Try-out")
    copy = Tool.objects.get(project=sandbox, origin=grader)
    tools.acquire_draft_lock(tool=copy, actor=alice, draft_head_id=str(copy.draft_head_id))
    tools.save_draft(
        version=copy.draft_head,
        actor=alice,
        expected_parent_version_id=copy.draft_head_id,
        content=tools.ContentEdit(source_code="def run_tool(i, o):\n    return 'sandbox'\n"),
    )
    tools.release_draft_lock(tool=copy, actor=alice)

    login(page, live_server, alice)
    page.goto(f"/projects/{sandbox.pk}/merge")
    row = page.locator(f'tr[data-diff-for="{copy.pk}"]')
    row.get_by_text("Changes:").click()
    diff = row.locator(".merge-diff")
    expect(diff).to_contain_text("1 of 5 parts changed.")
    expect(diff.locator("td.diff-del").first).to_contain_text("return 'parent'")
    expect(diff.locator("td.diff-add").first).to_contain_text("return 'sandbox'")
    expect(diff.locator("th").nth(2)).to_have_text("Alice's project v1")
    diff.get_by_label("Unified").check()
    expect(diff.locator("tr.diff-add")).to_contain_text("Added:")
    screenshot("merge-plan-diff")

    page.get_by_role("button", name="Merge into “Alice's project”").click()
    link = page.locator("#proposed-tool-table").get_by_role("link", name="Grader")
    expect(link).to_have_attribute("href", f"/tools/{grader.pk}/edit")
    link.click()
    expect(page.locator("#tool-heading")).to_have_text("Grader")
    expect(page.locator("#source-editor .cm-content")).to_contain_text("return 'sandbox'")
