"""Validation of everything a data API request carries, done before any work starts."""

from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.http import QueryDict

from apps.core.exceptions import ValidationFailed
from apps.kvcollections.exceptions import InvalidQuery, MissingField, TooManyItems
from apps.kvcollections.models import KEY_MAX_LENGTH, VALUE_MAX_LENGTH
from apps.kvcollections.queries import ItemFilter, decode_cursor

FILTER_PARAMS = ("key", "created_after", "created_before", "updated_after", "updated_before")
STREAM_PARAMS = (*FILTER_PARAMS, "limit", "cursor")


def query_params(query: QueryDict, allowed: tuple[str, ...]) -> dict[str, str]:
    """One value per known parameter.

    :raises InvalidQuery: unknown or repeated parameter, or a NUL character
    """
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise InvalidQuery(f"Unknown query parameter: {', '.join(unknown)}.")
    params = {}
    for name in query:
        values = query.getlist(name)
        if len(values) != 1:
            raise InvalidQuery(f"Query parameter {name} is given more than once.")
        if "\x00" in values[0]:
            raise InvalidQuery(f"Query parameter {name} contains a NUL character.")
        params[name] = values[0]
    return params


def item_filter(params: dict[str, str]) -> ItemFilter:
    """:raises InvalidQuery:"""
    pattern = params.get("key")
    if pattern is not None and not 1 <= len(pattern) <= settings.COLLECTIONS_MAX_PATTERN_LENGTH:
        raise InvalidQuery(
            f"key pattern must be 1 to {settings.COLLECTIONS_MAX_PATTERN_LENGTH} characters."
        )
    return ItemFilter(
        key_pattern=pattern,
        **{name: _timestamp(name, params[name]) for name in FILTER_PARAMS[1:] if name in params},
    )


def limit(params: dict[str, str]) -> int:
    """:raises InvalidQuery:"""
    raw = params.get("limit")
    if raw is None:
        return int(settings.COLLECTIONS_DEFAULT_LIMIT)
    maximum = settings.COLLECTIONS_MAX_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise InvalidQuery(f"limit must be an integer from 1 to {maximum}.")
    return int(raw)


def cursor(params: dict[str, str]) -> int:
    raw = params.get("cursor")
    return 0 if raw is None else decode_cursor(raw)


def _timestamp(name: str, raw: str) -> datetime:
    """A date (midnight UTC) or an ISO-8601 date-time (UTC when it has no offset)."""
    try:
        if len(raw) <= 10:
            return datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidQuery(
            f"{name} must be a date (2026-01-31) or an ISO-8601 date-time (2026-01-31T12:00:00Z)."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def put_value(body: Any) -> str:
    """The `value` of a PUT body. :raises MissingField, ValidationFailed:"""
    if not isinstance(body, dict) or "value" not in body:
        raise MissingField("Missing required field: value")
    return _value(body["value"])


def bulk_items(body: Any) -> list[tuple[str, str]]:
    """The (key, value) pairs of a bulk upsert body, each checked; errors name the element index.

    :raises MissingField, TooManyItems, ValidationFailed:
    """
    if not isinstance(body, dict) or "items" not in body:
        raise MissingField("Missing required field: items")
    items = body["items"]
    if not isinstance(items, list):
        raise ValidationFailed("items must be a list of {key, value} objects.")
    maximum = settings.COLLECTIONS_MAX_BULK_ITEMS
    if len(items) > maximum:
        raise TooManyItems(f"At most {maximum} items per request; got {len(items)}.")
    return [_element(index, element) for index, element in enumerate(items)]


def key(raw: str) -> str:
    """:raises ValidationFailed:"""
    if raw == "":
        raise ValidationFailed("key must not be empty.")
    if len(raw) > KEY_MAX_LENGTH:
        raise ValidationFailed(f"key must be at most {KEY_MAX_LENGTH} characters.")
    if "\x00" in raw:
        raise ValidationFailed("key must not contain NUL characters.")
    return raw


def _value(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValidationFailed("value must be a string (JSON-encode objects before storing them).")
    if len(raw) > VALUE_MAX_LENGTH:
        raise ValidationFailed(f"value must be at most {VALUE_MAX_LENGTH} characters.")
    if "\x00" in raw:
        raise ValidationFailed("value must not contain NUL characters.")
    return raw


def _element(index: int, element: Any) -> tuple[str, str]:
    try:
        if not isinstance(element, dict) or "key" not in element or "value" not in element:
            raise ValidationFailed("must be an object with key and value.")
        if not isinstance(element["key"], str):
            raise ValidationFailed("key must be a string.")
        return key(element["key"]), _value(element["value"])
    except ValidationFailed as exc:
        raise ValidationFailed(f"Item {index}: {exc.message}", details={"index": index}) from None
