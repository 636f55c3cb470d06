"""The sign-in failure counters behind the sign-in pages (apps.accounts.sign_in_limits)."""

import pytest
from django.test import RequestFactory

from apps.accounts import sign_in_limits
from apps.core.redis import redis_client

EMAIL = "dora@example.com"
ADDRESS = "203.0.113.9"


def fail(times: int, *, email: str = EMAIL, address: str | None = ADDRESS):
    return [sign_in_limits.record_failure(email=email, address=address) for _ in range(times)]


def test_the_failure_that_reaches_the_limit_returns_the_lock(settings):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 3
    assert fail(3, address=None) == [None, None, sign_in_limits.SignInLock(900)]
    assert sign_in_limits.current_lock(email=EMAIL, address=None).retry_after_seconds > 895
    assert sign_in_limits.current_lock(email="other@example.com", address=None) is None


def test_one_failure_below_the_limit_is_no_lock(settings):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 3
    fail(2, address=None)
    assert sign_in_limits.current_lock(email=EMAIL, address=None) is None


def test_the_lock_lasts_a_full_cool_off_from_the_failure_that_reached_the_limit(settings):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 2
    fail(1, address=None)
    key = sign_in_limits._account_key(EMAIL)
    redis_client().expire(key, 10)  # as if the first failure were long ago
    fail(1, address=None)
    assert redis_client().ttl(key) > 895


def test_a_counter_is_forgotten_a_cool_off_after_its_first_failure(settings):
    settings.SIGN_IN_COOLOFF_SECONDS = 60
    fail(2)
    for key in redis_client().scan_iter(match="signin:fail:*"):
        assert 0 < redis_client().ttl(key) <= 60


def test_account_and_address_counters_are_separate(settings):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 4
    for n in range(4):
        sign_in_limits.record_failure(email=f"u{n}@example.com", address=ADDRESS)
    assert sign_in_limits.current_lock(email="fresh@example.com", address=ADDRESS)
    assert sign_in_limits.current_lock(email="u0@example.com", address="192.0.2.1") is None


def test_emails_are_counted_however_they_are_spelled(settings):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 2
    fail(1, email=" DORA@Example.com ", address=None)
    fail(1, address=None)
    assert sign_in_limits.current_lock(email=EMAIL.upper(), address=None)


def test_nothing_to_count_is_no_lock():
    assert fail(50, email="", address=None) == [None] * 50
    assert sign_in_limits.current_lock(email="", address=None) is None


def test_unlock_forgets_one_account_one_address_or_everyone():
    fail(1)
    fail(1, email="eve@example.com", address="192.0.2.1")
    assert sign_in_limits.unlock(email="DORA@example.com") == 1
    assert sign_in_limits.unlock(address=ADDRESS) == 1
    assert sign_in_limits.unlock(address="not an address") == 0
    assert sign_in_limits.unlock() == 2
    assert sign_in_limits.unlock() == 0


def test_redis_down_means_no_lock_and_no_error(redis_down):
    assert fail(20) == [None] * 20
    assert sign_in_limits.current_lock(email=EMAIL, address=ADDRESS) is None
    sign_in_limits.forget_account_failures(email=EMAIL)
    assert sign_in_limits.unlock() == 0


def address_of(settings, proxies: int, remote: str, forwarded: str | None = None) -> str | None:
    settings.SIGN_IN_TRUSTED_PROXY_COUNT = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return sign_in_limits.client_address(RequestFactory().post("/accounts/login/", **extra))


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, ADDRESS, None, ADDRESS),
        (0, ADDRESS, "198.51.100.1", ADDRESS),  # not trusted: ignored
        (1, "10.0.0.2", "1.1.1.1, 198.51.100.1", "198.51.100.1"),
        (2, "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (1, "10.0.0.2", None, "10.0.0.2"),  # no header: the peer
        (2, "10.0.0.2", "198.51.100.1", "10.0.0.2"),  # fewer entries than proxies: the peer
        (1, "10.0.0.2", "garbage", "10.0.0.2"),
        (0, "2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::/64"),
        (0, "not an address", None, None),
    ],
)
def test_client_address(settings, proxies, remote, forwarded, expected):
    assert address_of(settings, proxies, remote, forwarded) == expected


def test_addresses_of_one_ipv6_64_share_a_counter(settings):
    settings.SIGN_IN_ADDRESS_FAILURE_LIMIT = 2
    first = address_of(settings, 0, "2001:db8::1")
    second = address_of(settings, 0, "2001:db8::ffff:2")
    sign_in_limits.record_failure(email="a@example.com", address=first)
    sign_in_limits.record_failure(email="b@example.com", address=second)
    assert sign_in_limits.current_lock(email="c@example.com", address=first)
