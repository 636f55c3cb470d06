"""Sign-in lockout pages and signing in with Redis down, driven through the browser."""

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def submit(page, email: str, password: str, button: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=button).click()


def test_five_wrong_passwords_show_the_lockout_page(page, live_server, screenshot, alice):
    page.goto("/accounts/login/")
    for _ in range(4):
        submit(page, alice.email, "not my password", "Sign in")
        expect(page.get_by_role("alert")).to_contain_text("did not match")
    response = page.expect_response(lambda r: r.url.endswith("/accounts/login/"))
    with response as info:
        submit(page, alice.email, "not my password", "Sign in")
    assert info.value.status == 429
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    expect(page.locator("main")).to_contain_text("Try again in 15 minutes")
    screenshot("locked")

    page.get_by_role("link", name="Back to sign in").click()
    submit(page, alice.email, "correct horse battery staple", "Sign in")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()


def test_the_admin_sign_in_shows_its_own_lockout_page(page, live_server, screenshot):
    boss = UserFactory(superuser=True)
    page.goto("/admin/login/")
    for _ in range(5):
        page.locator("#id_username").fill(boss.email)
        page.locator("#id_password").fill("not my password")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    expect(page.locator("#content")).to_contain_text("Try again in 15 minutes")
    screenshot("admin-locked")


def test_sign_in_pages_and_sign_out_with_redis_down(
    page, live_server, login, screenshot, redis_down
):
    admin = UserFactory(admin=True)
    login(page, live_server, admin)
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-value")).to_be_visible()
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    screenshot("admin")
    page.goto("/projects/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
