"""Chunked JSON bodies built from keyset pages, one chunk per page, without DRF serializers."""

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from apps.kvcollections.queries import encode_cursor, items_json

Page = tuple[list[tuple[Any, ...]], bool]


def _items_chunk(rows: list[tuple[Any, ...]]) -> bytes:
    # The JSON array of this page without its brackets: items joined by commas.
    return orjson.dumps(items_json(rows), option=orjson.OPT_UTC_Z)[1:-1]


def stream_body(first: Page, rest: Iterator[Page]) -> Iterator[bytes]:
    """`{"items": [...], "cursor": ...}`; the cursor is non-null iff more items match.

    A failure while fetching a later page ends the response without closing the JSON, so a
    client can never mistake a broken stream for a complete one.
    """
    yield b'{"items":['
    separator, last_id, more = b"", None, False
    for rows, page_has_more in itertools.chain([first], rest):
        more = page_has_more
        if rows:
            yield separator + _items_chunk(rows)
            separator, last_id = b",", rows[-1][0]
    cursor = encode_cursor(last_id) if more and last_id is not None else None
    yield b'],"cursor":' + orjson.dumps(cursor) + b"}"


def array_body(pages: Iterable[Page]) -> Iterator[bytes]:
    """A plain JSON array of every item (the download format)."""
    yield b"["
    separator = b""
    for rows, _ in pages:
        if rows:
            yield separator + _items_chunk(rows)
            separator = b","
    yield b"]"
