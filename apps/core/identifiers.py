"""Parsing of identifiers taken from URLs: malformed ones are a 400, never a 500 or a guess."""

import uuid

from apps.core.exceptions import BadRequest

# The largest PostgreSQL bigint: ids, cursors and lock tokens.
MAX_BIGINT = 2**63 - 1


def parse_uuid(value: str, *, name: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise BadRequest(
            f"{name} must be a UUID.", code="INVALID_ID", details={"param": name}
        ) from None


def parse_int_id(value: str, *, name: str = "id") -> int:
    if not value.isascii() or not value.isdigit() or int(value) > MAX_BIGINT or int(value) < 1:
        raise BadRequest(
            f"{name} must be a positive integer.", code="INVALID_ID", details={"param": name}
        )
    return int(value)


def is_uuid(value: str) -> bool:
    """Whether `value` is a UUID in its canonical form (as run folders are named)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
