"""Sandbox pages as people use them: create a sandbox, add a collection in it, merge it back."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection
from apps.locks import services as locks
from apps.projects.models import Project
from apps.sandbox_projects import services
from apps.sandbox_projects.models import MergeRecord
from apps.tools import services as tools
from apps.tools.models import Tool
from tests.factories import CollectionFactory
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.browser

BANNER = (
    "New collections are created empty in the target. Items are never copied. "
    "Collections are never deleted by a merge."
)


def collection_row(page: Page, name: str) -> Locator:
    return page.locator(f'#collection-table tr[data-name="{name}"]')


def create_sandbox_on_the_project_page(page: Page, project: Project, name: str) -> None:
    page.goto(f"/projects/{project.pk}/")
    expect(page.locator("#sandbox-table")).to_contain_text("No sandboxes yet.")
    new_sandbox = page.locator("#new-sandbox")
    new_sandbox.get_by_label("Sandbox name").fill(name)
    new_sandbox.get_by_role("button", name="New sandbox").click()
    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("status")).to_have_text(f"Sandbox “{name}” created.")


def create_collection_on_the_collections_page(page: Page, name: str) -> None:
    page.get_by_role("link", name="Open collections").click()
    expect(page.locator("#sandbox-banner")).to_have_text(BANNER)
    page.locator("#create-collection").get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("status")).to_have_text(f"Collection “{name}” created.")


def expect_the_plan(page: Page, project: Project) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Merge “Try-out”")
    expect(page.locator("#id_target")).to_have_value(str(project.pk))
    to_add = page.locator("#collections-to-add")
    expect(to_add.get_by_role("checkbox")).to_have_count(1)
    expect(to_add.get_by_role("checkbox", name="scores")).to_be_checked()
    untouched = page.locator("#collections-untouched")
    expect(untouched.get_by_role("listitem")).to_have_text(["attendance"])
    expect(untouched).to_contain_text("They are kept, with all their items")
    expect(page.locator("#tool-table").get_by_role("checkbox", name="Quiz")).to_be_checked()
    expect(page.locator("#tool-table")).to_contain_text("create: a new tool")


def test_owner_creates_a_sandbox_adds_a_collection_and_merges_it_back(
    page, live_server, login, screenshot, alice, project: Project
):
    grades = collections.create_collection(project=project, name="grades")
    collections.put_items(collection=grades, items=[("anna", "5"), ("bert", "3")])
    login(page, live_server, alice)

    create_sandbox_on_the_project_page(page, project, "Try-out")
    expect(page.locator("#sandbox-banner")).to_have_text(BANNER)
    expect(page.locator("#parent-link")).to_have_text("Alice's project")
    sandbox = Project.objects.get(parent=project, name="Try-out")
    # Meanwhile the parent gets a collection of its own (the sync job has not run yet), and a
    # tool is written in the sandbox.
    CollectionFactory(project=project, name="attendance")
    make_draft(make_tool(owner=alice, project=sandbox, title="Quiz"), alice)
    screenshot("sandbox-project-page")

    create_collection_on_the_collections_page(page, "scores")
    expect(collection_row(page, "grades").locator("td.items")).to_have_text("0")
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Try-out").click()
    page.get_by_role("link", name="Merge…").click()
    expect_the_plan(page, project)
    screenshot("merge-plan")

    page.get_by_role("button", name="Merge into “Alice's project”").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Merged “Try-out” into “Alice's project”"
    )
    expect(page.get_by_role("status")).to_have_text("“Try-out” merged into “Alice's project”.")
    expect(page.locator("#created-collections").get_by_role("listitem")).to_have_text(["scores"])
    new_tool = Tool.objects.get(project=project, title="Quiz")
    expect(page.locator("#proposed-tool-table").get_by_role("link", name="Quiz")).to_have_attribute(
        "href", f"/tools/{new_tool.pk}/edit"
    )
    expect(page.locator("#merge-facts")).to_contain_text(str(MergeRecord.objects.get().pk))
    screenshot("merge-result")

    page.get_by_role("link", name="Its collections").click()
    expect(page).to_have_url(f"{live_server.url}/projects/{project.pk}/collections/")
    expect(page.locator("#sandbox-banner")).to_have_count(0)
    expect(collection_row(page, "scores").locator("td.items")).to_have_text("0")
    expect(collection_row(page, "grades").locator("td.items")).to_have_text("2")
    expect(collection_row(page, "attendance")).to_have_count(1)
    screenshot("parent-collections")

    page.get_by_role("link", name="Alice's project").click()
    sandbox_row = page.locator('#sandbox-table tr[data-name="Try-out"]')
    expect(sandbox_row).to_contain_text(alice.email)
    expect(sandbox_row.get_by_role("link", name="Try-out")).to_have_attribute(
        "href", f"/projects/{sandbox.pk}/"
    )
    screenshot("parent-project-page")


def test_a_lock_taken_while_the_plan_is_open_refuses_the_merge_on_the_page(
    page, live_server, login, screenshot, alice, bob, project: Project
):
    grader = make_tool(owner=alice, project=project, title="Grader")
    make_draft(grader, alice)
    sandbox = services.provision_sandbox(parent=project, actor=alice, name="Try-out")
    copy = Tool.objects.get(project=sandbox, origin=grader)
    tools.acquire_draft_lock(tool=copy, actor=alice, draft_head_id=str(copy.draft_head_id))
    tools.save_draft(
        version=copy.draft_head,
        actor=alice,
        expected_parent_version_id=copy.draft_head_id,
        content=tools.ContentEdit(source_code="def run_tool(i, o):\n    return 'changed'\n"),
    )
    login(page, live_server, alice)
    page.goto(f"/projects/{sandbox.pk}/merge")
    expect(page.locator("#tool-table").get_by_role("checkbox", name="Grader")).to_be_checked()

    grader.refresh_from_db()
    locks.acquire(
        tool_id=grader.pk,
        draft_head_id=grader.draft_head_id,
        actor_id=bob.pk,
        force=False,
        is_admin=False,
    )
    page.get_by_role("button", name="Merge into “Alice's project”").click()

    expect(page.get_by_role("alert")).to_have_text(
        "Another user holds the draft lock of a target tool; nothing was merged."
    )
    row = page.locator(f'#tool-table tr[data-tool="{copy.pk}"]')
    expect(row.get_by_role("checkbox", name="Grader")).to_be_disabled()
    expect(row.locator("td.lock")).to_have_text(f"locked by {bob.email}")
    expect(page.locator(f"#locked-note-{copy.pk}")).to_contain_text("would be refused")
    expect(page.get_by_role("button", name="Merge into “Alice's project”")).to_have_count(0)
    expect(page.locator("#merge-actions")).to_contain_text("Nothing can be merged now")
    assert not MergeRecord.objects.exists()
    assert not Collection.objects.filter(project=project).exists()
    screenshot("merge-refused")
