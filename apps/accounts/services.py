import secrets
from datetime import timedelta

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts.exceptions import EmailTaken, InvalidTokenExpiry
from apps.accounts.models import ApiToken, Role, User, hash_token
from apps.core.exceptions import ValidationFailed

log = structlog.get_logger(__name__)

PERSONAL_TOKEN_PREFIX = "skt_pat_"  # noqa: S105 - a public prefix, not a secret
# Visible part of a secret kept for lists: the kind prefix plus four random characters.
DISPLAY_PREFIX_LENGTH = len(PERSONAL_TOKEN_PREFIX) + 4


@transaction.atomic
def create_user(
    *, email: str, password: str | None, role: str = Role.USER, full_name: str = ""
) -> User:
    """Create a user with a global role; a `None` password leaves the account unable to sign in.

    :raises ValidationFailed: bad email or role
    :raises EmailTaken: the email (case-insensitive) is in use
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(
            "Enter a valid email address.",
            details={"fields": {"email": ["Enter a valid email address."]}},
        ) from None
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role {role!r}.",
            details={"fields": {"role": [f"Choose one of {', '.join(Role.values)}."]}},
        )
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken()
    user = User.objects.create_user(email, password, role=role, full_name=full_name)
    log.info("user.created", user_id=user.pk, role=role)
    return user


@transaction.atomic
def set_user_role(*, user: User, role: str) -> User:
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.")
    user.role = role
    user.save(update_fields=["role"])
    log.info("user.role_changed", user_id=user.pk, role=role)
    return user


def create_api_token(
    *, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Mint a personal access token and return it with its secret (the only time it is visible).

    :raises InvalidTokenExpiry: expiry not between 1 and API_TOKEN_MAX_EXPIRY_DAYS days
    """
    if (
        expires_in_days is not None
        and not 1 <= expires_in_days <= settings.API_TOKEN_MAX_EXPIRY_DAYS
    ):
        raise InvalidTokenExpiry(
            f"expires_in_days must be between 1 and {settings.API_TOKEN_MAX_EXPIRY_DAYS}.",
            details={"fields": {"expires_in_days": ["Out of range."]}},
        )
    secret = PERSONAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(
        user=user,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    log.info("api_token.created", token_id=token.pk, user_id=user.pk, expires_at=expires_at)
    return token, secret


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    """Revoke a token at once; revoking twice keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=Now())
    token.refresh_from_db(fields=["revoked_at"])
    log.info("api_token.revoked", token_id=token.pk, user_id=token.user_id)
    return token


def authenticate_api_token(*, secret: str) -> ApiToken | None:
    """Return the live token for `secret` with its user loaded, or None.

    Revocation and expiry are decided by the database clock in the same query.
    """
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
        .first()
    )
    if token is not None:
        _record_use(token)
    return token


def _record_use(token: ApiToken) -> None:
    # Written at most once a minute per token, so authenticated reads stay read-only.
    resolution = timedelta(seconds=settings.API_TOKEN_LAST_USED_RESOLUTION_SECONDS)
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - resolution:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
