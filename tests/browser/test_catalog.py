"""The catalog as someone who runs tools uses it: signing in lands on it, results follow the
search as you type (no page load), a star puts the tool under Favorites, the card links to the
tool's run page."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories.catalog import make_catalog_world

pytestmark = pytest.mark.browser


def test_user_searches_as_they_type_stars_a_tool_and_finds_it_in_favorites(
    page, live_server, login, screenshot
):
    world = make_catalog_world()
    tool = world.tools["Gruppgeneratorn"]
    # Script errors and policy refusals (the page runs under script-src 'self').
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: "Refused" in message.text and problems.append(message.text),
    )

    login(page, live_server, world.uma)
    expect(page).to_have_url(re.compile(r"/tools/$"))  # a user lands on the catalog
    expect(page.locator("#catalog-favorites")).to_contain_text("No favorites yet")
    cards = page.locator("#catalog-tools .tool-run-link")
    expect(cards).to_have_count(5)
    screenshot("landing")

    # Typing updates the results in place: the marker would vanish on a page load.
    page.evaluate("document.body.dataset.marker = 'still here'")
    page.get_by_label("Search").press_sequentially("grupp", delay=40)
    expect(cards).to_have_text(["Gruppgeneratorn"])
    expect(page.locator("#catalog-count")).to_contain_text("1 tool matching “grupp”")
    expect(page).to_have_url(re.compile(r"/tools/\?q=grupp$"))
    assert page.evaluate("document.body.dataset.marker") == "still here"
    expect(page.locator("#catalog-favorites")).to_have_count(0)  # a search shows results only
    screenshot("search")

    card = page.locator(f'#catalog-tools [data-tool-id="{tool.pk}"]')
    expect(card.get_by_role("link", name="Gruppgeneratorn")).to_have_attribute(
        "href", f"/tools/{tool.pk}/run"
    )
    card.get_by_role("button", name="Add “Gruppgeneratorn” to favorites").click()
    star = card.get_by_role("button", name="Remove “Gruppgeneratorn” from favorites")
    expect(star).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.body.dataset.marker") == "still here"

    # Clearing the search brings the landing sections back, the starred tool under Favorites.
    page.get_by_label("Search").fill("")
    favorites = page.locator("#catalog-favorites .tool-run-link")
    expect(favorites).to_have_text(["Gruppgeneratorn"])
    expect(favorites).to_have_attribute("href", f"/tools/{tool.pk}/run")
    expect(cards).to_have_count(5)
    screenshot("favorite")

    # The star is stored: a fresh load shows it, and a filter narrows to it.
    page.goto("/tools/?favorites=1")
    expect(cards).to_have_text(["Gruppgeneratorn"])
    expect(page.get_by_label("Only favorites")).to_be_checked()
    assert problems == []
