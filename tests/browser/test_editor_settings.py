"""A new tool's whole life in pages, no Django admin: a contributor creates it, writes it, runs a
preview; the refused Submit for review names each missing requirement with a link to the
settings section, where she sets them (the slug's live preview, a refusal at the field); an admin
finds it in the review queue, reads the diff and her preview as evidence and requests changes;
she reads the message, fixes the tool and submits again; the admin publishes it; a `user` of
the project runs it."""

import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.tools.models import Category, Profession, Tool, VersionState
from tests.browser.conftest import leave_pages_quietly, run_and_wait
from tests.browser.test_editor_core import replace_in_editor
from tests.factories import UserFactory, make_project

pytestmark = pytest.mark.browser

SOURCE = """def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info", "message": "Seats planned"}]}
"""


FIXED_SOURCE = """def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info", "message": "24 seats planned"}]}
"""


def in_other_window(browser, live_server, login, who: User, steps: Callable[[Page], None]) -> None:
    """`steps` done by `who`, signed in in a browser context of their own."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    other = context.new_page()
    login(other, live_server, who)
    steps(other)
    leave_pages_quietly(context)
    context.close()


def _request_changes(tool: Tool) -> Callable[[Page], None]:
    def steps(page: Page) -> None:
        # The queue, the review screen with the diff (nothing active yet) and her preview as
        # evidence (it ran exactly the content she submitted), then Request changes.
        page.get_by_role("link", name="Review", exact=True).click()
        row = page.locator("tr", has_text=tool.title)
        row.get_by_role("link", name="Review").click()
        expect(page.locator("#review-base")).to_be_visible()
        expect(page.locator("#review-diff")).to_contain_text("Seats planned")
        evidence = page.locator("#evidence-table tr[data-run-id]")
        expect(evidence).to_have_count(1)
        expect(evidence.locator("[data-status]")).to_have_attribute("data-status", "succeeded")
        page.locator("#request-changes-message").fill("Say how many seats, please.")
        page.get_by_role("button", name="Request changes").click()
        expect(page.locator(".messages")).to_contain_text("Changes requested")

    return steps


def _publish(tool: Tool) -> Callable[[Page], None]:
    def steps(page: Page) -> None:
        page.get_by_role("link", name="Review", exact=True).click()
        page.locator("tr", has_text=tool.title).get_by_role("link", name="Review").click()
        expect(page.locator("#review-diff")).to_contain_text("24 seats planned")
        page.get_by_role("button", name="Publish").click()
        expect(page.locator(".messages")).to_contain_text("The tool is not published yet")
        # A first version: the tool itself is published on its settings page.
        page.goto(f"/tools/{tool.pk}/settings#publishing")
        page.locator("#publish-form").get_by_role("button", name="Publish").click()
        expect(page.locator("#publish-state")).to_contain_text("published")

    return steps


def _run_published(tool: Tool) -> Callable[[Page], None]:
    def steps(page: Page) -> None:
        page.goto("/tools/")
        page.locator("#catalog-tools .tool-run-link", has_text=tool.title).click()
        expect(page.locator("#run-page")).to_have_attribute("data-ready", "true")
        page.locator("#run-button").click()
        expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
        expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("24 seats planned")

    return steps


def sets_the_requirements(page: Page) -> None:
    # On the settings page: a bad slug is refused at the field and kept, then a good one saved.
    slug = page.locator("#id_slug")
    slug.fill("Seating Plan!")
    expect(page.locator("#slug-preview")).to_have_attribute("data-valid", "false")
    page.get_by_role("button", name="Save slug").click()
    expect(page.locator("#slug .errorlist")).to_contain_text("joined by single hyphens")
    expect(slug).to_have_value("Seating Plan!")
    slug.fill("seating-plan")
    expect(page.locator("#slug-preview")).to_contain_text("School / seating-plan")
    expect(page.locator("#slug-preview")).to_have_attribute("data-valid", "true")
    page.get_by_role("button", name="Save slug").click()
    expect(page.locator("#current-slug")).to_have_text("seating-plan")
    page.get_by_label("Teacher").check()
    page.get_by_label("Planning").check()
    page.get_by_role("button", name="Save professions and categories").click()
    expect(page.locator(".messages")).to_contain_text("Professions and categories saved.")
    expect(page.get_by_label("Teacher")).to_be_checked()


def _author_takes_a_new_tool_to_review(
    page: Page, live_server: LiveServer, login: Callable[..., None], alice: User, project
) -> Tool:
    # Create the tool from the project's tool list; the editor offers "Create draft".
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/tools")
    page.get_by_label("Title").fill("Seating plan")
    page.get_by_role("button", name="Create tool").click()
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")
    expect(page.locator("#draft-notice")).to_contain_text("Create a draft to edit.")
    page.locator("#create-draft-button").click()
    expect(page.locator("#lock-badge")).to_have_text("You are editing")

    # Write code, run a preview, save.
    replace_in_editor(page, "source-editor", SOURCE)
    run_and_wait(page)
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("Seats planned")
    page.locator("#save-button").click()
    expect(page.locator("#editor-messages")).to_contain_text("Saved as version 2")

    # Submit: refused, and each missing requirement links to its settings section.
    page.locator("#submit-review-button").click()
    page.locator("#submit-review-confirm").click()
    requirements = page.locator("#review-requirement-list li")
    expect(requirements).to_have_count(3)
    tool = Tool.objects.get(title="Seating plan")
    settings_url = f"/tools/{tool.pk}/settings"
    for index, field in enumerate(["slug", "professions", "categories"]):
        link = requirements.nth(index).get_by_role("link", name="Set it")
        expect(link).to_have_attribute("href", f"{settings_url}#{field}")
    expect(requirements.nth(0)).to_contain_text("real slug")
    assert tool.versions.filter(state=VersionState.IN_REVIEW).count() == 0

    # The link leads to the section, where she sets what the tool needs herself.
    requirements.nth(0).get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}{settings_url}#slug")
    expect(page.locator("#admin-only-note")).to_contain_text("You set the slug")
    sets_the_requirements(page)

    # Back in the editor: the submit goes through, and the next step is "Create draft".
    page.goto(f"/tools/{tool.pk}/edit")
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    page.locator("#submit-review-button").click()
    page.locator("#submit-review-confirm").click()
    expect(page.locator("#editor-messages")).to_contain_text("submitted for review")
    expect(page.locator("#review-requirements")).to_be_hidden()
    expect(page.locator("#draft-notice")).to_contain_text("Create a draft to edit.")
    expect(page.locator("#create-draft-button")).to_be_visible()
    assert tool.versions.get(state=VersionState.IN_REVIEW).version_number == 2
    return tool


def test_a_new_tool_goes_from_creation_to_a_users_run_in_pages(
    page: Page,
    browser,
    live_server: LiveServer,
    login: Callable[..., None],
    alice: User,
    worker: list[threading.Thread],
) -> None:
    Profession.objects.create(slug="teacher", label="Teacher")
    Category.objects.create(slug="planning", label="Planning")
    project = make_project({alice: ProjectRole.OWNER}, name="School")
    admin = UserFactory(email="root@example.com", admin=True)
    user = UserFactory(email="uma@example.com")
    assign_role(user=user, project=project, role=ProjectRole.VIEWER)

    tool = _author_takes_a_new_tool_to_review(page, live_server, login, alice, project)

    in_other_window(browser, live_server, login, admin, _request_changes(tool))
    # She reads the request in the editor, fixes the tool and submits it again.
    page.goto(f"/tools/{tool.pk}/edit")
    expect(page.locator("#changes-requested")).to_contain_text("Say how many seats, please.")
    expect(page.locator("#lock-badge")).to_have_text("You are editing")
    replace_in_editor(page, "source-editor", FIXED_SOURCE)
    page.locator("#save-button").click()
    expect(page.locator("#editor-messages")).to_contain_text("Saved as version")
    page.locator("#submit-review-button").click()
    page.locator("#submit-review-confirm").click()
    expect(page.locator("#editor-messages")).to_contain_text("submitted for review")

    in_other_window(browser, live_server, login, admin, _publish(tool))
    in_other_window(browser, live_server, login, user, _run_published(tool))
