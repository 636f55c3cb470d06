"""Sign-in protection wired into Django's authentication through django-axes.

axes supplies the plumbing: a backend that refuses a locked-out sign-in before any password
is checked, the signal handlers that see every failed and successful sign-in (both sign-in
pages call `django.contrib.auth.authenticate`), the middleware that turns a lockout into the
page from `views.sign_in_locked`, and the `axes_reset*` commands. The counting itself is
`sign_in_limits` (Redis, per account and per address, fail-open) through the handler below;
axes' own cache handler fails closed with a 500 when Redis is down, has one limit for both
counters, and keys an account and an address with the same spelling alike.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest

from apps.accounts import sign_in_limits


class SignInLimitBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses sign-ins while the account or address is locked.

    A call without a request (the test client's `login`, scripts) has no address and no page
    to answer on, so it is not checked; every sign-in page passes its request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


class SignInLimitHandler(AbstractAxesHandler, AxesBaseHandler):
    """`AXES_HANDLER`: failed sign-ins are counted by `sign_in_limits`."""

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        return self._lock(request, credentials) is not None

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # axes asks only through is_locked; a lock counts as the limit reached.
        if self.is_locked(request, credentials):
            return int(settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT)
        return 0

    def user_login_failed(
        self,
        sender: object,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        # Refused because already locked (the backend flagged it): not a new failure.
        if request is None or getattr(request, "axes_locked_out", False):
            return
        email = _email(credentials)
        address = getattr(request, "axes_ip_address", None)
        if sign_in_limits.record_failure(email=email, address=address) is None:
            return
        request.axes_locked_out = True  # type: ignore[attr-defined]
        request.axes_credentials = credentials  # type: ignore[attr-defined]
        user_locked_out.send("axes", request=request, username=email, ip_address=address)

    def user_logged_in(
        self, sender: object, request: HttpRequest, user: Any, **kwargs: Any
    ) -> None:
        sign_in_limits.forget_account_failures(email=user.get_username())

    def user_logged_out(
        self, sender: object, request: HttpRequest, user: Any, **kwargs: Any
    ) -> None:
        return None

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        return sign_in_limits.unlock(email=username, address=ip_address)

    def _lock(
        self, request: HttpRequest, credentials: dict[str, Any] | None
    ) -> sign_in_limits.SignInLock | None:
        return sign_in_limits.current_lock(
            email=_email(credentials), address=getattr(request, "axes_ip_address", None)
        )


def _email(credentials: dict[str, Any] | None) -> str:
    return sign_in_limits.normalize_email((credentials or {}).get("username"))
