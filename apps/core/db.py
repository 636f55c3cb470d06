"""Database helpers for hot paths."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from psycopg.types.datetime import TimestamptzLoader


@contextmanager
def fast_cursor() -> Iterator[Any]:
    """A cursor that reads timestamps with psycopg's own C loader. Django's loader (which only
    attaches Django's time zone) is pure Python: it made streams 7x slower and an item read 15%
    slower. The connection's time zone is UTC, so both give the same aware datetimes."""
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        yield cursor
