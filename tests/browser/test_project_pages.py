"""The project list and project page as people use them: forms, buttons, messages."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.browser


def member_row(page: Page, email: str) -> Locator:
    return page.locator(f'#member-table tr[data-email="{email}"]')


def set_role(page: Page, email: str, role_label: str) -> None:
    row = member_row(page, email)
    row.get_by_label(f"Role of {email}").select_option(label=role_label)
    row.get_by_role("button", name="Save").click()


def test_contributor_sees_only_own_projects_and_creates_one(
    page, live_server, login, screenshot, alice, bob
):
    make_project({alice: ProjectRole.EDITOR}, name="Alice's garden")
    make_project({bob: ProjectRole.OWNER}, name="Bob's secret plans")
    login(page, live_server, alice)

    page.goto("/projects/")
    projects = page.locator("#project-list")
    expect(projects).to_contain_text("Alice's garden")
    expect(projects).not_to_contain_text("Bob's secret plans")
    screenshot("list")

    page.get_by_label("Name").fill("Field notes")
    page.get_by_label("Description").fill("Observations from the marsh.")
    page.get_by_role("button", name="Create project").click()

    expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Field notes")
    expect(page.locator("#my-role")).to_have_text("Your role: Owner")
    expect(page.get_by_role("status")).to_have_text("Project “Field notes” created.")
    screenshot("created")


def test_owner_adds_changes_and_removes_a_member(
    page, live_server, login, screenshot, alice, charlie, project: Project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")

    add_form = page.locator("#add-member")
    add_form.get_by_label("Email").fill(charlie.email)
    add_form.get_by_label("Role").select_option(label="Editor")
    add_form.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status")).to_have_text(f"{charlie.email} added.")
    expect(member_row(page, charlie.email).locator("td.role")).to_have_text("Editor")
    screenshot("added")

    set_role(page, charlie.email, "Viewer")
    expect(page.get_by_role("status")).to_have_text("Role changed.")
    expect(member_row(page, charlie.email).locator("td.role")).to_have_text("Viewer")

    member_row(page, charlie.email).get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_have_text("Member removed.")
    expect(member_row(page, charlie.email)).to_have_count(0)
    screenshot("removed")


def test_the_only_owner_is_offered_neither_demotion_nor_leaving(
    page, live_server, login, screenshot, alice, project: Project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")

    own_row = member_row(page, alice.email)
    expect(own_row).to_contain_text("the only owner")
    expect(own_row.locator("select")).to_have_count(0)
    expect(own_row.get_by_role("button", name="Leave")).to_have_count(0)
    screenshot("sole-owner")


def test_a_stale_page_cannot_remove_the_last_owner(
    page, live_server, login, screenshot, alice, bob, project: Project
):
    assign_role(user=bob, project=project, role=ProjectRole.OWNER)
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")
    # While alice's page is open, bob stops being an owner elsewhere.
    assign_role(user=bob, project=project, role=ProjectRole.EDITOR)

    set_role(page, alice.email, "Viewer")

    expect(page.get_by_role("alert")).to_have_text("A project must keep at least one owner.")
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    expect(member_row(page, alice.email)).to_contain_text("Owner")
    expect(page.locator("#my-role")).to_have_text("Your role: Owner")
    screenshot("last-owner")


def test_viewer_sees_members_but_no_controls(
    page, live_server, login, screenshot, project: Project
):
    viewer = UserFactory(email="victor@example.com")
    assign_role(user=viewer, project=project, role=ProjectRole.VIEWER)
    login(page, live_server, viewer)
    page.goto(f"/projects/{project.pk}/")

    expect(page.locator("#my-role")).to_have_text("Your role: Viewer")
    members = page.locator("#member-table tbody tr")
    expect(members).to_have_count(3)
    expect(page.locator("#member-table")).to_contain_text("alice@example.com")
    expect(page.locator("#add-member")).to_have_count(0)
    expect(page.locator("#member-table select")).to_have_count(0)
    expect(page.get_by_role("heading", name="Settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove")).to_have_count(0)
    screenshot("viewer")


def test_outsider_gets_not_found_for_the_project_page(
    page, live_server, login, screenshot, charlie, project: Project
):
    login(page, live_server, charlie)

    response = page.goto(f"/projects/{project.pk}/")

    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not Found")
    expect(page.locator("body")).not_to_contain_text(project.name)
    screenshot("not-found")


def test_owner_confirms_the_deletion_then_restores_the_project(
    page, live_server, login, screenshot, alice, project: Project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")

    page.get_by_role("link", name="Schedule deletion…").click()
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/delete$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete “Alice's project”?")
    expect(page.locator("#confirm-delete")).to_contain_text("7 days")
    screenshot("confirm")
    assert Project.objects.get(pk=project.pk).deletion_scheduled_at is None  # nothing yet

    page.get_by_role("button", name="Schedule deletion of “Alice's project”").click()
    expect(page).to_have_url(re.compile(r"/projects/scheduled/$"))
    expect(page.get_by_role("status")).to_contain_text(
        "“Alice's project” is scheduled for deletion"
    )
    row = page.locator("#scheduled-table tr", has_text="Alice's project")
    expect(row).to_have_count(1)
    screenshot("scheduled")

    page.goto("/projects/")
    expect(page.locator("#project-list")).not_to_contain_text("Alice's project")
    page.get_by_role("link", name="Projects scheduled for deletion").click()
    page.get_by_role("button", name="Restore Alice's project").click()

    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    expect(page.get_by_role("status")).to_have_text("“Alice's project” is restored.")
    assert Project.objects.get(pk=project.pk).deletion_scheduled_at is None
    screenshot("restored")


def test_a_refused_new_member_keeps_the_email_at_the_field(
    page, live_server, login, screenshot, alice, project: Project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/")

    add_form = page.locator("#add-member")
    add_form.get_by_label("Email").fill("nobody@example.com")
    add_form.get_by_label("Role").select_option(label="Editor")
    add_form.get_by_role("button", name="Add member").click()

    email = page.locator("#add-member").get_by_label("Email")
    expect(email).to_have_value("nobody@example.com")
    expect(email).to_be_focused()
    expect(email).to_have_accessible_description("No active user has this email address.")
    expect(page.locator("#add-member").get_by_label("Role")).to_have_value("editor")
    expect(page.locator("#flash-messages")).to_have_count(0)
    screenshot("refused")
