"""Reads of collection items: filters, key patterns, keyset pages. Plain SQL on purpose: these
run for every page of a stream, where ORM query building would cost more than the query."""

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.utils import OperationalError
from psycopg.errors import QueryCanceled

from apps.core.db import fast_cursor
from apps.core.identifiers import MAX_BIGINT
from apps.kvcollections.exceptions import InvalidQuery, PatternTooSlow
from apps.kvcollections.models import Collection, CollectionItem

ITEMS = CollectionItem._meta.db_table
ITEM_COLUMNS = "id, key, value, created_at, updated_at"


def pattern_to_like(pattern: str) -> str:
    """Translate a key pattern to LIKE: `*` is any run of characters, `\\*` a literal star,
    `\\\\` a literal backslash; `%`, `_` and every other character stand for themselves."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("*", "\\"):
            out.append(_like_literal(pattern[index + 1]))
            index += 2
            continue
        out.append("%" if char == "*" else _like_literal(char))
        index += 1
    return "".join(out)


def _like_literal(char: str) -> str:
    return "\\" + char if char in "%_\\" else char


@dataclass(frozen=True)
class ItemFilter:
    """Which items an operation covers. `*_after` bounds are inclusive, `*_before` exclusive."""

    key_pattern: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """SQL conditions (to AND with `collection_id = %s`) and their parameters."""
        conditions: list[str] = []
        params: list[Any] = []
        if self.key_pattern is not None:
            conditions.append("key LIKE %s")
            params.append(pattern_to_like(self.key_pattern))
        for column, op, value in (
            ("created_at", ">=", self.created_after),
            ("created_at", "<", self.created_before),
            ("updated_at", ">=", self.updated_after),
            ("updated_at", "<", self.updated_before),
        ):
            if value is not None:
                conditions.append(f"{column} {op} %s")
                params.append(value)
        return "".join(f" AND {condition}" for condition in conditions), params

    @property
    def needs_timeout(self) -> bool:
        # A pattern that does not start with a literal prefix cannot use the key index.
        return self.key_pattern is not None and self.key_pattern.startswith("*")


def encode_cursor(item_id: int) -> str:
    return base64.b64encode(str(item_id).encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Base64 of the decimal id of the last item seen. Ids past the largest bigint mean "the end".

    :raises InvalidQuery:
    """
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidQuery("cursor is not valid Base64.") from None
    if not text.isdigit() or len(text) > 40:
        raise InvalidQuery("cursor does not hold an item id.")
    return min(int(text), MAX_BIGINT)


# The page walks the (collection_id, id) index `kvcollections_item_cursor` and nothing else; both
# the condition and the ORDER BY are written for that. With `collection_id = %s ... ORDER BY id`
# the primary key's id order satisfies the ORDER BY too (PostgreSQL drops a sort key fixed by an
# equality, so `ORDER BY collection_id, id` alone changes nothing), and whenever the planner
# believed the collection dense (a large collection, or few collections in the table) it walked
# every later id of the table, filtering out other collections' items: a first page behind
# 200,000 items of a neighbour cost 35 ms, its last page 7 ms (issue 15). The closed range on
# collection_id is not an equality, so only this index yields (collection_id, id) order; every
# other plan must sort all the collection's items, which never wins for a LIMITed page. (A row
# comparison `(collection_id, id) > (%s, %s)` would seek too, but its estimates are so coarse
# that the planner preferred the key index plus an incremental sort of the whole collection.)
# tests/kvcollections/test_query_plans.py checks the plans on a skewed table.
_KEYSET_RANGE = "collection_id >= %s AND collection_id <= %s AND id > %s"

_PLAIN_PAGE_SQL = f"""
SELECT {ITEM_COLUMNS} FROM {ITEMS} WHERE {_KEYSET_RANGE}{{conditions}}
ORDER BY collection_id, id LIMIT %s
"""  # noqa: S608 - fixed names; values are parameters

# For collections holding large values, a page stops early once its values pass
# COLLECTIONS_PAGE_MAX_BYTES (the first row always comes), so 500 values of a million characters
# never sit in memory at once. `fetched` counts the rows the LIMIT produced before that cut.
_BUDGET_PAGE_SQL = f"""
SELECT {ITEM_COLUMNS}, fetched FROM (
    SELECT *, sum(octet_length(value)) OVER (ORDER BY collection_id, id) AS running,
           count(*) OVER () AS fetched
    FROM (
        SELECT * FROM {ITEMS} WHERE {_KEYSET_RANGE}{{conditions}}
        ORDER BY collection_id, id LIMIT %s
    ) AS page
) AS sized
WHERE running - octet_length(value) < %s
ORDER BY collection_id, id
"""  # noqa: S608 - fixed names; values are parameters


@dataclass(frozen=True)
class PageQuery:
    sql: str
    args: list[Any]
    budgeted: bool  # the byte-budget form: each row carries one more column, `fetched`


def page_query(
    *, collection: Collection, item_filter: ItemFilter, after_id: int, limit: int
) -> PageQuery:
    """The statement of one keyset page (see fetch_page). The byte-budget form is used when
    `limit` values of the collection's largest size could pass COLLECTIONS_PAGE_MAX_BYTES."""
    conditions, params = item_filter.sql()
    budget = settings.COLLECTIONS_PAGE_MAX_BYTES
    args = [collection.pk, collection.pk, after_id, *params, limit]
    if limit * collection.max_value_bytes <= budget:
        return PageQuery(_PLAIN_PAGE_SQL.format(conditions=conditions), args, budgeted=False)
    sql = _BUDGET_PAGE_SQL.format(conditions=conditions)
    return PageQuery(sql, [*args, budget], budgeted=True)


def fetch_page(
    *, collection: Collection, item_filter: ItemFilter, after_id: int, limit: int
) -> tuple[list[tuple[Any, ...]], int]:
    """One keyset page: rows (id, key, value, created, updated) with id > after_id in id order,
    and how many rows matched before the byte budget (if any) cut the page.

    :raises PatternTooSlow: an unanchored pattern ran past COLLECTIONS_PATTERN_TIMEOUT_MS
    """
    query = page_query(
        collection=collection, item_filter=item_filter, after_id=after_id, limit=limit
    )
    fetch = _fetch_with_timeout if item_filter.needs_timeout else _fetch
    rows = fetch(query.sql, query.args)
    if not query.budgeted:
        return rows, len(rows)
    fetched = rows[0][-1] if rows else 0
    return [row[:-1] for row in rows], fetched


def _fetch(sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    with fast_cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def _fetch_with_timeout(sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    # The savepoint undoes the timeout if the query fails; on success it is reset by hand, since
    # set_config(..., true) would otherwise last until the end of an enclosing transaction.
    try:
        with transaction.atomic(), fast_cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('statement_timeout'),"
                " set_config('statement_timeout', %s, true)",
                [str(settings.COLLECTIONS_PATTERN_TIMEOUT_MS)],
            )
            previous = cursor.fetchone()[0]
            cursor.execute(sql, args)
            rows = list(cursor.fetchall())
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
            return rows
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            raise PatternTooSlow() from None
        raise


def iter_pages(
    *, collection: Collection, item_filter: ItemFilter, after_id: int, limit: int
) -> Iterator[tuple[list[tuple[Any, ...]], bool]]:
    """Yield (rows, more) pages of at most COLLECTIONS_PAGE_SIZE until `limit` rows are out.

    `more` on the last page says whether a further matching item exists. Pages may be shorter
    than COLLECTIONS_PAGE_SIZE when their values are large. Each page is its own
    short query: nothing is held open between pages, so a slow client holds no database state.
    """
    remaining = limit
    page_size = settings.COLLECTIONS_PAGE_SIZE
    while True:
        want = min(page_size, remaining)
        rows, fetched = fetch_page(
            collection=collection, item_filter=item_filter, after_id=after_id, limit=want + 1
        )
        more = len(rows) > want or fetched > len(rows)
        rows = rows[:want]
        remaining -= len(rows)
        if not more or remaining == 0:
            yield rows, more
            return
        yield rows, True
        after_id = rows[-1][0]


def get_item(*, collection_id: Any, key: str) -> tuple[Any, ...] | None:
    sql = f"SELECT {ITEM_COLUMNS} FROM {ITEMS} WHERE collection_id = %s AND key = %s"  # noqa: S608
    with fast_cursor() as cursor:
        cursor.execute(sql, [collection_id, key])
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def items_json(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Items as clients see them; orjson (with OPT_UTC_Z) writes the timestamps.

    One comprehension without helper calls: this runs once per streamed item. orjson writes
    aware datetimes natively but drops ".000000"; clients of the original always get six
    digits, so that one case is formatted by hand.
    """
    return [
        {
            "key": key,
            "value": value,
            "created": created if created.microsecond else created.strftime(_WHOLE_SECOND),
            "updated": updated if updated.microsecond else updated.strftime(_WHOLE_SECOND),
        }
        for _, key, value, created, updated in rows
    ]


_WHOLE_SECOND = "%Y-%m-%dT%H:%M:%S.000000Z"
