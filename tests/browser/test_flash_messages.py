"""Messages show once: a flash message on the page after the action only, and on the editor (a
page that stays open) a success settles the messages before it instead of piling up under them."""

import pytest
from playwright.sync_api import expect

from apps.tools.models import Tool
from tests.browser.conftest import in_module

pytestmark = pytest.mark.browser


def test_each_flash_message_shows_on_the_next_page_only(page, live_server, login, alice, project):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/collections/")
    form = page.locator("#create-collection")
    for name in ("grades", "grades", "marks"):
        form.get_by_label("Name").fill(name)
        form.get_by_role("button", name="Create collection").click()
        expect(page.locator("#flash-messages li")).to_have_count(1)
    expect(page.locator("#flash-messages")).to_have_text("Collection “marks” created.")

    page.goto(f"/projects/{project.pk}/")
    expect(page.locator("#flash-messages")).to_have_count(0)


def test_on_the_editor_a_success_settles_older_messages(
    page, live_server, login, screenshot, alice, project
):
    login(page, live_server, alice)
    page.goto(f"/projects/{project.pk}/tools")
    page.get_by_label("Title").fill("Grader")
    page.get_by_role("button", name="Create tool").click()
    tool = Tool.objects.get(project=project, title="Grader")
    expect(page).to_have_url(f"{live_server.url}/tools/{tool.pk}/edit")
    expect(page.locator("#flash-messages")).to_have_text("Tool “Grader” created.")
    expect(page.locator("#editor-page")).to_have_attribute("data-ready", "true")
    notices = page.locator("#editor-messages li")

    in_module(page, "editor/notices.js", "m.notify('The save was refused.', 'error')")
    in_module(page, "editor/notices.js", "m.notify('Still refused.', 'error')")
    expect(notices).to_have_count(2)  # errors stay until something settles them
    screenshot("errors")

    in_module(page, "editor/notices.js", "m.notify('Saved as version 1.', 'success')")

    expect(notices).to_have_count(1)
    expect(notices.first).to_contain_text("Saved as version 1.")
    expect(page.locator("#flash-messages")).to_have_count(0)
    screenshot("settled")
