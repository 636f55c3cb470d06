"""Failed password sign-ins counted in Redis, per account and per client address.

Either counter reaching its limit locks sign-in for that account, or from that address, for
`SIGN_IN_COOLOFF_SECONDS` from the failure that reached it. Attempts while locked are refused
without a password check and do not extend the lock. A counter starts with the first failure
and is forgotten a cool-off later, so a few typos a day never add up to a lockout.

Like the API throttle, this fails open: with Redis unreachable nobody is locked out, sign-in
keeps working, and every skipped check logs a warning. django-axes calls this module through
`apps.accounts.backends.SignInLimitHandler`.
"""

import hashlib
import ipaddress
from dataclasses import dataclass

import redis
import structlog
from django.conf import settings
from django.http import HttpRequest

from apps.core.redis import redis_client

log = structlog.get_logger(__name__)

KEY_PREFIX = "signin:fail:"
# Attackers usually hold a whole IPv6 /64; counting single addresses would let them rotate.
IPV6_PREFIX_LENGTH = 64


@dataclass(frozen=True)
class SignInLock:
    retry_after_seconds: int


def normalize_email(email: object) -> str:
    """The account a sign-in names, spelled the way accounts are stored ('' for none)."""
    return email.strip().lower() if isinstance(email, str) else ""


def current_lock(*, email: str, address: str | None) -> SignInLock | None:
    """The lock on this account or address, if either counter has reached its limit."""
    counters = _counters(email=email, address=address)
    if not counters:
        return None
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, _ in counters:
            pipe.get(key)
            pipe.ttl(key)
        replies = pipe.execute()
    except redis.RedisError as exc:
        log.warning("sign_in_limits.redis_unavailable", check="current_lock", error=repr(exc))
        return None
    waits = [
        int(ttl)
        for (_, limit), count, ttl in zip(counters, replies[::2], replies[1::2], strict=True)
        if int(count or 0) >= limit
    ]
    return SignInLock(retry_after_seconds=max(1, *waits)) if waits else None


def record_failure(*, email: str, address: str | None) -> SignInLock | None:
    """Count a failed sign-in; return the lock if this failure reached a limit."""
    counters = _counters(email=email, address=address)
    cooloff = settings.SIGN_IN_COOLOFF_SECONDS
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, _ in counters:
            pipe.set(key, 0, ex=cooloff, nx=True)
            pipe.incr(key)
        counts = pipe.execute()[1::2]
        reached = [
            key for (key, limit), count in zip(counters, counts, strict=True) if count >= limit
        ]
        for key in reached:
            # The lock lasts a full cool-off from the failure that reached the limit.
            redis_client().expire(key, cooloff)
    except redis.RedisError as exc:
        log.warning("sign_in_limits.redis_unavailable", check="record_failure", error=repr(exc))
        return None
    return SignInLock(retry_after_seconds=cooloff) if reached else None


def forget_account_failures(*, email: str) -> None:
    """Forget the account's failures after it signed in (the address counter stays: an
    attacker signing in to an account of their own must not reset it)."""
    try:
        redis_client().delete(_account_key(email))
    except redis.RedisError as exc:
        log.warning("sign_in_limits.redis_unavailable", check="forget", error=repr(exc))


def unlock(*, email: str | None = None, address: str | None = None) -> int:
    """Forget the failures of an account and/or an address, or of everyone when given neither.

    Returns how many counters were removed. With Redis down there is nothing to unlock:
    nobody is locked out then.
    """
    try:
        client = redis_client()
        if email is None and address is None:
            keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
        else:
            parsed = _parse_address(address) if address is not None else None
            keys = [key for key, _ in _counters(email=email or "", address=parsed)]
        removed = int(client.delete(*keys)) if keys else 0
    except redis.RedisError as exc:
        log.warning("sign_in_limits.redis_unavailable", check="unlock", error=repr(exc))
        return 0
    log.info("sign_in_limits.unlocked", counters=removed, by_account=email is not None)
    return removed


def client_address(request: HttpRequest) -> str | None:
    """The address failures are counted against: the peer, or the client a trusted proxy saw.

    With `SIGN_IN_TRUSTED_PROXY_COUNT = n`, each of the n proxies in front of the app appends
    the address it received the request from to X-Forwarded-For, so the client is the n-th
    entry from the right; anything further left was written by the client and is ignored.
    """
    address = request.META.get("REMOTE_ADDR")
    hops = settings.SIGN_IN_TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        if len(forwarded) >= hops and _parse_address(forwarded[-hops]):
            address = forwarded[-hops]
    return _parse_address(address)


def _parse_address(value: object) -> str | None:
    try:
        parsed = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return None
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX_LENGTH}", strict=False))
    return str(parsed)


def _counters(*, email: str, address: str | None) -> list[tuple[str, int]]:
    """(key, limit) of each counter a sign-in touches. Accounts and addresses have their own
    key spaces, so an "email" that spells an address never counts against that address."""
    counters = []
    email = normalize_email(email)
    if email:
        counters.append((_account_key(email), settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT))
    if address:
        counters.append((f"{KEY_PREFIX}address:{address}", settings.SIGN_IN_ADDRESS_FAILURE_LIMIT))
    return counters


def _account_key(email: str) -> str:
    # Hashed: Redis never holds the email addresses people typed.
    digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
    return f"{KEY_PREFIX}account:{digest}"
