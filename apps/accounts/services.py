import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from apps.accounts import access
from apps.accounts.exceptions import (
    AccountProtected,
    EmailTaken,
    InvalidTokenExpiry,
    RoleNotAssignable,
)
from apps.accounts.models import ApiToken, Role, TokenKind, User, hash_token
from apps.core.exceptions import ValidationFailed

log = structlog.get_logger(__name__)

SECRET_PREFIXES = {TokenKind.PERSONAL: "skt_pat_", TokenKind.RUN: "skt_run_"}
# Visible part of a secret kept for lists: the kind prefix plus four random characters.
DISPLAY_PREFIX_LENGTH = 12


@transaction.atomic
def create_user(
    *,
    actor: User | None,
    email: str,
    password: str | None,
    role: str = Role.USER,
    full_name: str = "",
) -> User:
    """Create a user with a global role; a `None` password leaves the account unable to sign in.

    `actor=None` is the operator at the command line (see `access.may_manage_account`).

    :raises ValidationFailed: bad email or role
    :raises RoleNotAssignable: `actor` may not give `role`
    :raises EmailTaken: the email (case-insensitive) is in use
    """
    email = _valid_email(email)
    _check_role(actor=actor, role=role)
    _check_email_free(email)
    user = User.objects.create_user(email, password, role=role, full_name=full_name)
    log.info("user.created", user_id=user.pk, role=role, actor_id=_actor_id(actor))
    return user


@transaction.atomic
def update_user(
    *,
    actor: User | None,
    user: User,
    email: str | None = None,
    full_name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
) -> User:
    """Change the given fields of `user`'s account; `None` leaves a field as it is.

    :raises AccountProtected: `actor` may not manage this account
    :raises RoleNotAssignable: `actor` may not give the new role
    :raises ValidationFailed: bad email or role
    :raises EmailTaken: the new email (case-insensitive) is in use
    """
    current = _lock_managed_account(actor=actor, user=user)
    if email is not None:
        email = _valid_email(email)
        _check_email_free(email, other_than=current)
    if role is not None and role != current.role:
        _check_role(actor=actor, role=role)
    given = {"email": email, "full_name": full_name, "role": role, "is_active": is_active}
    changes = {
        field: value
        for field, value in given.items()
        if value is not None and value != getattr(current, field)
    }
    for field, value in changes.items():
        setattr(current, field, value)
    if changes:
        current.save(update_fields=list(changes))
        log.info(
            "user.updated",
            user_id=current.pk,
            fields=sorted(changes),
            role=current.role,
            actor_id=_actor_id(actor),
        )
    return current


def set_user_role(*, actor: User | None, user: User, role: str) -> User:
    """Give `user` a global role (raises as `update_user`)."""
    return update_user(actor=actor, user=user, role=role)


@transaction.atomic
def set_user_password(*, actor: User | None, user: User, password: str | None) -> User:
    """Set `user`'s password; `None` turns password sign-in off for the account.

    :raises AccountProtected: `actor` may not manage this account
    """
    current = _lock_managed_account(actor=actor, user=user)
    current.set_password(password)
    current.save(update_fields=["password"])
    log.info(
        "user.password_set",
        user_id=current.pk,
        usable=password is not None,
        actor_id=_actor_id(actor),
    )
    return current


def _lock_managed_account(*, actor: User | None, user: User) -> User:
    # Decide on the row as it is now, locked, not on the caller's copy: a stale copy that still
    # says "user" must not let an admin change an account a superuser just promoted.
    current = User.objects.select_for_update().get(pk=user.pk)
    if not access.may_manage_account(actor=actor, user=current):
        raise AccountProtected()
    return current


def _check_role(*, actor: User | None, role: str) -> None:
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role {role!r}.",
            details={"fields": {"role": [f"Choose one of {', '.join(Role.values)}."]}},
        )
    if role not in access.assignable_roles(actor=actor):
        raise RoleNotAssignable()


def _valid_email(email: str) -> str:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(
            "Enter a valid email address.",
            details={"fields": {"email": ["Enter a valid email address."]}},
        ) from None
    return email


def _check_email_free(email: str, *, other_than: User | None = None) -> None:
    taken = User.objects.filter(email__iexact=email)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    if taken.exists():
        raise EmailTaken()


def _actor_id(actor: User | None) -> int | None:
    return None if actor is None else actor.pk


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
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token, secret = _mint(kind=TokenKind.PERSONAL, user=user, name=name, expires_at=expires_at)
    log.info("api_token.created", token_id=token.pk, user_id=user.pk, expires_at=expires_at)
    return token, secret


def create_run_token(
    *,
    user: User,
    project_id: uuid.UUID,
    project_role: str,
    expires_at: datetime,
    run_id: uuid.UUID | None = None,
) -> tuple[ApiToken, str]:
    """Mint a token that acts on `project`'s collections only, with the rights of
    `project_role` ("" = none), until `expires_at` or revocation."""
    token, secret = _mint(
        kind=TokenKind.RUN,
        user=user,
        name=f"run {run_id}" if run_id else "run",
        expires_at=expires_at,
        project_id=project_id,
        project_role=project_role,
        run_id=run_id,
    )
    log.info(
        "run_token.created",
        token_id=token.pk,
        project_id=str(project_id),
        project_role=project_role,
        run_id=run_id,
    )
    return token, secret


def _mint(*, kind: TokenKind, **fields: Any) -> tuple[ApiToken, str]:
    secret = SECRET_PREFIXES[kind] + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        kind=kind, token_hash=hash_token(secret), prefix=secret[:DISPLAY_PREFIX_LENGTH], **fields
    )
    return token, secret


def revoke_api_token(*, token: ApiToken) -> ApiToken:
    """Revoke a token at once; revoking twice keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=Now())
    token.refresh_from_db(fields=["revoked_at"])
    log.info("api_token.revoked", token_id=token.pk, user_id=token.user_id)
    return token


@dataclass(frozen=True)
class TokenCredential:
    """What a request authenticated with: `request.auth` for Bearer requests."""

    token_id: int
    kind: str
    # Set for run tokens: the only project they may act on, and the role they act with there
    # ("" = none).
    project_id: uuid.UUID | None
    project_role: str
    user: User


_USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
# The token check as a common table expression named `auth` (one parameter: the secret's hash),
# so a hot endpoint can run it in the same statement as its own read (see
# apps/accounts/api/authentication.py, TokenReadView). Revocation, expiry (by the database
# clock) and the user's active flag are decided here, on every request. SQL because building the
# equivalent ORM query costs 0.6 ms per request against 0.1 ms for this (bench/project_get.py).
# `auth.id` is the user's id; the token's own columns are prefixed `token_`.
AUTH_CTE = """auth AS (
    SELECT t.id AS token_id, t.kind AS token_kind, t.project_id AS token_project_id,
           t.project_role AS token_project_role, t.last_used_at AS token_last_used_at,
           {user_columns}
    FROM {tokens} t JOIN {users} u ON u.id = t.user_id
    WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active
      AND (t.expires_at IS NULL OR t.expires_at > now())
)""".format(  # noqa: S608 - names come from model metadata; the hash is a bound parameter
    user_columns=", ".join(f"u.{field.column}" for field in User._meta.concrete_fields),
    tokens=ApiToken._meta.db_table,
    users=User._meta.db_table,
)
# The columns of `auth` that `credential_from_row` reads, in its order; a statement selects them
# first and its own columns after.
AUTH_COLUMNS = ", ".join(
    ["auth.token_id", "auth.token_kind", "auth.token_project_id", "auth.token_project_role"]
    + ["auth.token_last_used_at"]
    + [f"auth.{field.column}" for field in User._meta.concrete_fields]
)
AUTH_COLUMN_COUNT = 5 + len(_USER_FIELDS)
_AUTHENTICATE_SQL = f"WITH {AUTH_CTE} SELECT {AUTH_COLUMNS} FROM auth"  # noqa: S608


def authenticate_api_token(
    *, secret: str, kinds: frozenset[str] = frozenset({TokenKind.PERSONAL})
) -> TokenCredential | None:
    """Return the credential for a live token of one of `kinds` with its active user, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_AUTHENTICATE_SQL, [hash_token(secret)])
        row = cursor.fetchone()
    return credential_from_row(row, kinds=kinds)


def credential_from_row(
    row: tuple[Any, ...] | None, *, kinds: frozenset[str]
) -> TokenCredential | None:
    """The credential in the first AUTH_COLUMN_COUNT columns of a row of a statement built on
    AUTH_CTE; None when there was no row, no live token (NULL columns) or a kind not in `kinds`.
    Records the token's use (see `_record_use`)."""
    if row is None or row[0] is None or row[1] not in kinds:
        return None
    token_id, kind, project_id, project_role, last_used_at, *user_values = row[:AUTH_COLUMN_COUNT]
    _record_use(token_id=token_id, last_used_at=last_used_at)
    user = User.from_db("default", _USER_FIELDS, user_values)
    return TokenCredential(
        token_id=token_id, kind=kind, project_id=project_id, project_role=project_role, user=user
    )


def _record_use(*, token_id: int, last_used_at: datetime | None) -> None:
    # Written at most once a minute per token, so authenticated reads stay one read-only
    # statement on every other request.
    resolution = timedelta(seconds=settings.API_TOKEN_LAST_USED_RESOLUTION_SECONDS)
    now = timezone.now()
    if last_used_at is None or last_used_at < now - resolution:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
