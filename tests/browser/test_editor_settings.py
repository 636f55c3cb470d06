"""A contributor's tool from creation to review, through the editor and the settings page: the
refused Submit for review names each missing requirement with a link to the settings section that
sets it; the settings (admin-only in the services) are then set there by an admin, with the
slug's live preview and a refusal at the field; the second submit puts the tool in review."""

import threading
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from apps.accounts.models import User
from apps.projects.models import ProjectRole
from apps.tools.models import Category, Profession, Tool, VersionState
from tests.browser.conftest import run_and_wait
from tests.browser.test_editor_core import replace_in_editor
from tests.factories import make_project

pytestmark = pytest.mark.browser

SOURCE = """def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info", "message": "Seats planned"}]}
"""


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


def test_a_contributor_takes_a_new_tool_to_review(
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
