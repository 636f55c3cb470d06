"""Benchmark `collections_deep_page`: one page at depth ~1,000,000 vs depth 0, through the API.

`GET /collections/bench-stream-1m?limit=1000` without a cursor (shallow: items 1-1,000) and with
the cursor of item 998,999 (deep: items 999,000-999,999; one item is left after it, so both
answers carry a non-null cursor). One client sends them alternately, one at a time, each on a
new connection (gunicorn's sync workers close it after every response); latency is from sending
the request to the last byte of the body, without parsing it. The server runs one sync worker,
so every request meets the same warmed process and database connection.

Target: median(deep) / median(shallow) <= 1.5. Keyset pages seek the (collection_id, id) index,
so depth should not matter; OFFSET would be ~40x slower at this depth (reference C.2). A raw
psycopg keyset page (LIMIT 1000) at both depths is measured alongside for comparison.
"""

import base64
import statistics
import time
from dataclasses import dataclass

from bench import collections_data, harness

NAME = "collections_deep_page"
TARGET_RATIO = 1.5
PAGE_LIMIT = 1000
DEEP_AFTER_POSITION = 998_999  # the cursor points at this item; the page starts after it
MIN_REQUESTS = 30
WARMUP_REQUESTS = 10
TOKEN_NAME = "bench collections_deep_page"
THROTTLE_USER_RATE = "1000000/s"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    first_key: str


def verify(server: harness.Server, page: Page, headers: dict[str, str]) -> None:
    status, document = harness.get_json(server, harness.Case(page.name, page.path, headers))
    items = document.get("items") if isinstance(document, dict) else None
    if (
        status != 200
        or not isinstance(items, list)
        or len(items) != PAGE_LIMIT
        or items[0].get("key") != page.first_key
        or document.get("cursor") is None
    ):
        raise harness.BenchError(
            f"{page.name} {page.path} answered {status}; expected {PAGE_LIMIT} items from "
            f"{page.first_key} and a cursor"
        )


def raw_page_ms(collection_id: str, after_id: int, repeats: int) -> float:
    """Median latency of the same keyset page fetched with psycopg (LIMIT 1000, all rows), with
    the statement the API runs (apps.kvcollections.queries.page_query)."""
    from apps.kvcollections.models import Collection
    from apps.kvcollections.queries import ItemFilter, page_query

    collection = Collection(pk=collection_id, max_value_bytes=collections_data.VALUE_BYTES)
    query = page_query(
        collection=collection, item_filter=ItemFilter(), after_id=after_id, limit=PAGE_LIMIT
    )
    timings = []
    with collections_data.raw_connect() as connection, connection.cursor() as cursor:
        for _ in range(repeats + WARMUP_REQUESTS):
            started = time.perf_counter()
            cursor.execute(query.sql, query.args)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[WARMUP_REQUESTS:])


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: GET /collections/{{name}}?limit={PAGE_LIMIT} at depth ~1M vs depth 0")
    harness.setup_django()
    fixture = collections_data.seed(TOKEN_NAME)
    deep_after_id = collections_data.item_id_at(fixture.stream_collection_id, DEEP_AFTER_POSITION)
    harness.close_db_connections()
    base = f"/collections/{collections_data.STREAM_COLLECTION}?limit={PAGE_LIMIT}"
    cursor = base64.b64encode(str(deep_after_id).encode()).decode()
    shallow = Page("shallow", base, collections_data.key_for(1))
    deep = Page(
        "deep", f"{base}&cursor={cursor}", collections_data.key_for(DEEP_AFTER_POSITION + 1)
    )
    requests = max(MIN_REQUESTS, 20 * options.rounds)
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    headers = fixture.headers
    with harness.gunicorn_server(NAME, overrides, workers=1) as server:
        print(f"  gunicorn: 1 sync worker at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        for page in (shallow, deep):
            verify(server, page, headers)
        print(
            f"  verified: both pages hold {PAGE_LIMIT} items from the expected key, with a cursor"
        )
        print(f"  warm-up: {WARMUP_REQUESTS} requests each; then {requests} each, alternating")
        for _ in range(WARMUP_REQUESTS):
            for page in (shallow, deep):
                harness.timed_get(server, page.path, headers)[0]
        timings: dict[str, list[float]] = {"shallow": [], "deep": []}
        for _ in range(requests):
            for page in (shallow, deep):
                timings[page.name].append(harness.timed_get(server, page.path, headers)[0])
        raw = {
            "shallow": raw_page_ms(fixture.stream_collection_id, 0, requests),
            "deep": raw_page_ms(fixture.stream_collection_id, deep_after_id, requests),
        }
        return report(timings, raw, server, options, deep_after_id)


def report(
    timings: dict[str, list[float]],
    raw: dict[str, float],
    server: harness.Server,
    options: harness.BenchOptions,
    deep_after_id: int,
) -> harness.BenchResult:
    medians = {name: statistics.median(values) for name, values in timings.items()}
    ratio = medians["deep"] / medians["shallow"]
    print()
    print(f"  {'page':<8} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'raw psycopg ms':>15}")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(
            f"  {name:<8} {medians[name]:>10.2f} {p90:>8.2f} {max(values):>8.2f} {raw[name]:>15.2f}"
        )
    print(harness.ratio_line("deep", "shallow", ratio, TARGET_RATIO, higher=False))
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=False,
        cases={
            name: {"median_ms": medians[name], "raw_psycopg_median_ms": raw[name], "ms": values}
            for name, values in timings.items()
        },
        order=["shallow", "deep"] * len(timings["deep"]),
        config={
            "rounds": options.rounds,
            "requests_each": len(timings["deep"]),
            "warmup_requests_each": WARMUP_REQUESTS,
            "page_limit": PAGE_LIMIT,
            "deep_cursor_after_position": DEEP_AFTER_POSITION,
            "deep_cursor_after_id": deep_after_id,
        },
        server=server,
    )
