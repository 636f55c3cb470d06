"""Password sign-in is limited per account and per client address (both sign-in pages)."""

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from structlog.testing import capture_logs

from apps.accounts import sign_in_limits
from apps.accounts.models import User
from apps.core.redis import redis_client
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

ACCOUNT_LIMIT = 5  # the defaults in settings
ADDRESS = "203.0.113.9"
LOCKED_TEXT = "Too many failed sign-in attempts"


@pytest.fixture
def dora() -> User:
    return UserFactory(email="dora@example.com")


def sign_in(email: str, password: str, *, address: str = ADDRESS, page: str = "/accounts/login/"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(page, {"username": email, "password": password})
    response.client = client
    return response


def fail(email: str, times: int = 1, **kwargs: str) -> list[int]:
    return [sign_in(email, "wrong password", **kwargs).status_code for _ in range(times)]


def assert_signed_in(response) -> None:
    assert response.status_code == 302, response.status_code
    assert response.client.get("/projects/").status_code == 200


def assert_locked(response, *, cooloff: int = 900) -> None:
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= cooloff
    assert LOCKED_TEXT in response.content.decode()
    assert response.client.get("/projects/").status_code == 302  # not signed in


def test_the_right_password_works_after_one_failure_fewer_than_the_limit(dora):
    assert fail(dora.email, ACCOUNT_LIMIT - 1) == [200] * (ACCOUNT_LIMIT - 1)
    assert_signed_in(sign_in(dora.email, PASSWORD))
    # A success forgets the account's failures.
    assert fail(dora.email, ACCOUNT_LIMIT - 1) == [200] * (ACCOUNT_LIMIT - 1)


def test_at_the_limit_the_account_is_locked_even_for_the_right_password(dora):
    assert fail(dora.email, ACCOUNT_LIMIT) == [200] * (ACCOUNT_LIMIT - 1) + [429]
    response = sign_in(dora.email, PASSWORD)
    assert_locked(response)
    assert "Try again in 15 minutes" in response.content.decode()


def test_the_account_limit_holds_across_addresses_and_spellings(dora):
    for n in range(ACCOUNT_LIMIT):
        fail(f"  {dora.email.upper()} " if n % 2 else dora.email, address=f"198.51.100.{n}")
    assert_locked(sign_in(dora.email, PASSWORD, address="192.0.2.77"))


def test_the_address_limit_locks_every_account_from_that_address(settings, dora):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 6
    statuses = [fail(f"guess{n}@example.com")[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert_locked(sign_in(dora.email, PASSWORD))
    assert_signed_in(sign_in(dora.email, PASSWORD, address="198.51.100.1"))


def test_an_unknown_email_is_answered_exactly_like_a_known_one(dora):
    known = [sign_in(dora.email, "nope", address="192.0.2.1") for _ in range(ACCOUNT_LIMIT + 1)]
    unknown = [sign_in("nobody@example.com", "nope", address="192.0.2.2") for _ in known]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert known[-1].content.decode().replace(dora.email, "") == unknown[-1].content.decode()


def test_the_admin_sign_in_shares_the_counters_and_shows_a_lockout_page():
    boss = UserFactory(superuser=True)
    fail(boss.email, ACCOUNT_LIMIT - 1)
    response = sign_in(boss.email, "wrong", page="/admin/login/?next=/admin/")
    assert_locked(response)
    assert "Django site admin" in response.content.decode() or "administration" in (
        response.content.decode()
    )
    assert_locked(sign_in(boss.email, PASSWORD, page="/admin/login/?next=/admin/"))


def test_a_lockout_ends_after_the_cool_off(settings, dora):
    settings.SIGN_IN_COOLOFF_SECONDS = 1
    fail(dora.email, ACCOUNT_LIMIT)
    assert_locked(sign_in(dora.email, PASSWORD), cooloff=1)
    time.sleep(1.2)
    assert_signed_in(sign_in(dora.email, PASSWORD))


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_axes_reset_username_unlocks_an_account(dora):
    fail(dora.email.upper(), ACCOUNT_LIMIT)
    assert "attempts removed" in run("axes_reset_username", dora.email)
    assert_signed_in(sign_in(dora.email, PASSWORD))


def test_axes_reset_ip_and_axes_reset_unlock_addresses(settings, dora):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        fail(f"guess{n}@example.com")
        fail(f"guess{n}@example.com", address="192.0.2.5")
    assert "attempts removed" in run("axes_reset_ip", ADDRESS)
    assert_signed_in(sign_in(dora.email, PASSWORD))
    assert_locked(sign_in(dora.email, PASSWORD, address="192.0.2.5"))
    assert "attempts removed" in run("axes_reset")
    assert_signed_in(sign_in(dora.email, PASSWORD, address="192.0.2.5"))
    assert "No attempts found." in run("axes_reset")


def test_the_admin_unlocks_accounts_with_an_action(dora):
    fail(dora.email, ACCOUNT_LIMIT)
    admin = Client()
    admin.force_login(UserFactory(admin=True))
    response = admin.post(
        "/admin/accounts/user/",
        {"action": "unlock_sign_in", "_selected_action": [dora.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Sign-in unlocked for 1 account(s)." in response.content.decode()
    assert_signed_in(sign_in(dora.email, PASSWORD))


def test_sign_in_works_and_warns_when_redis_is_down(redis_down, dora):
    with capture_logs() as logs:
        assert fail(dora.email, ACCOUNT_LIMIT * 2) == [200] * ACCOUNT_LIMIT * 2
        assert_signed_in(sign_in(dora.email, PASSWORD))
    warnings = [log for log in logs if log["event"] == "sign_in_limits.redis_unavailable"]
    assert warnings
    assert all(log["log_level"] == "warning" for log in warnings)


def test_bearer_tokens_are_not_affected(settings, api_client_for, dora):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 2
    fail(dora.email, ACCOUNT_LIMIT, address="127.0.0.1")  # locks dora and the test address
    assert api_client_for(dora).get("/api/v1/projects").status_code == 200
    bad = Client().get("/api/v1/projects", HTTP_AUTHORIZATION="Bearer skt_pat_" + "x" * 43)
    assert bad.status_code == 401


def test_an_email_that_looks_like_an_address_does_not_count_against_that_address(dora):
    fail(ADDRESS, 40, address="198.51.100.7")
    assert_signed_in(sign_in(dora.email, PASSWORD))


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(settings, dora):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    for n in range(3):
        Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}").post(
            "/accounts/login/", {"username": f"guess{n}@example.com", "password": "x"}
        )
    assert_locked(sign_in(dora.email, PASSWORD))


def test_behind_one_trusted_proxy_the_address_it_saw_is_counted(settings, dora):
    settings.SIGN_IN_TRUSTED_PROXY_COUNT = 1
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 3
    proxy = "10.0.0.2"
    for n in range(3):  # the client forges a left-hand entry; the proxy appends the real one
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, {ADDRESS}").post(
            "/accounts/login/", {"username": f"guess{n}@example.com", "password": "x"}
        )
    locked = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ADDRESS).post(
        "/accounts/login/", {"username": dora.email, "password": PASSWORD}
    )
    assert locked.status_code == 429
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.3").post(
        "/accounts/login/", {"username": dora.email, "password": PASSWORD}
    )
    assert other.status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"username": "a" * 5000, "password": "x"},
        {"username": "nul\x00@example.com", "password": "x"},
        {"username": "", "password": ""},
        {"password": "x"},
        {"username": ["a@example.com", "b@example.com"], "password": "x"},
    ],
)
def test_odd_sign_in_posts_are_never_a_5xx(data):
    for page in ("/accounts/login/", "/admin/login/"):
        for _ in range(ACCOUNT_LIMIT + 1):
            assert Client().post(page, data).status_code in {200, 429}


def test_attempts_while_locked_do_not_extend_the_lock(dora):
    fail(dora.email, ACCOUNT_LIMIT)
    redis_client().expire(sign_in_limits._account_key(dora.email), 100)  # 800 s have passed
    fail(dora.email, 3)
    response = sign_in(dora.email, PASSWORD)
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= 100
    assert "Try again in 2 minutes" in response.content.decode()
