"""The API token page and signing out, driven through the browser."""

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def api_status(live_server, secret: str) -> int:
    """Status of GET /api/v1/projects sent with `secret` as a Bearer token (outside the browser)."""
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/projects", headers={"Authorization": f"Bearer {secret}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_token_secret_is_shown_once_works_and_stops_working_when_revoked(
    page, live_server, login, screenshot, alice
):
    login(page, live_server, alice)
    page.goto("/accounts/tokens/")

    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token-value")
    expect(shown).to_have_text(re.compile(r"^skt_pat_\S{20,}$"))
    secret = shown.inner_text()
    screenshot("created")

    page.goto("/accounts/tokens/")
    row = page.locator("#token-table tbody tr", has_text="laptop")
    expect(row).to_contain_text(secret[:12])
    expect(row).to_contain_text("active")
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()
    screenshot("listed")

    assert api_status(live_server, secret) == 200

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_have_text("Token “laptop” revoked.")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    screenshot("revoked")

    assert api_status(live_server, secret) == 401


def test_sign_out_returns_to_login_and_locks_the_pages(page, live_server, login, screenshot, alice):
    login(page, live_server, alice)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("signed-out")

    page.goto("/projects/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/projects/$"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def create_token(page, name: str) -> str:
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create token").click()
    shown = page.locator("#new-token-value")
    expect(shown).to_have_text(re.compile(r"^skt_pat_\S{20,}$"))
    return shown.inner_text()


def test_copy_puts_the_new_secret_on_the_clipboard_and_says_so(
    page, live_server, login, screenshot, alice
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(page, live_server, alice)
    secret = create_token(page, "laptop")

    page.get_by_role("button", name="Copy").click()

    expect(page.locator("#copy-token-status")).to_have_text("Copied")
    expect(page.locator("#copy-token-status")).to_have_attribute("role", "status")
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    screenshot("copied")


def test_without_clipboard_access_copy_selects_the_secret(
    page, live_server, login, screenshot, alice
):
    # A browser that refuses the Clipboard API (an insecure origin, a denied permission).
    page.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new Error('denied'));"
    )
    login(page, live_server, alice)
    secret = create_token(page, "laptop")

    page.get_by_role("button", name="Copy").click()

    expect(page.locator("#copy-token-status")).to_contain_text("press Ctrl+C")
    assert page.evaluate("() => window.getSelection().toString()") == secret
    screenshot("selected")
