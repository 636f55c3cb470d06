"""Benchmark `collections_page_cost`: every page costs the same, whatever else the table holds.

The data set (bench/page_cost_data.py): 5,000,000 items over 1,001 collections: `pc-big`
(2,000,000 items, all behind 2,000,000 items of others) and 1,000 small collections of 3,000
items, interleaved with each other and with `pc-big`. Six pages of 1,000 items are fetched through
`GET /collections/{name}?limit=1000[&cursor=...]` with a personal token: the first, a middle and
the last page of `pc-big` and of one small collection. One client sends them in turn, one at a
time, on a new connection each (as bench/collections_deep_page.py does); latency is to the last
byte of the body. The server runs one sync worker, twice (SERVER_CONFIGS): with the production
database settings (the page statement becomes a prepared statement, and PostgreSQL may switch
it to a generic plan), and never preparing (every page gets a plan of its own parameters).

Target: median(slowest page) / median(fastest page) <= 1.5 in each configuration.

The same pages are also fetched with psycopg alone, with the statement the API runs
(apps.kvcollections.queries.page_query) and with the statement used before issue 15
(OLD_PAGE_SQL, `collection_id = $1 AND id > $2 ORDER BY id`), each under a forced custom and a
forced generic plan: the old one's generic plan walks the primary key through every other
collection's items.
"""

import base64
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench import collections_data, harness, page_cost_data

NAME = "collections_page_cost"
TARGET_RATIO = 1.5
PAGE_LIMIT = 1000
SMALL = page_cost_data.small_name(500)
MIN_REQUESTS = 30
WARMUP_REQUESTS = 10
RAW_REPEATS = 15
RAW_WARMUP = 3
TOKEN_NAME = "bench collections_page_cost"
THROTTLE_USER_RATE = "1000000/s"
OLD_PAGE_SQL = (
    "SELECT id, key, value, created_at, updated_at FROM {items}"
    " WHERE collection_id = %s AND id > %s ORDER BY id LIMIT %s"
)
PLAN_MODES = ("force_custom_plan", "force_generic_plan")
# The API's own database settings (psycopg prepares a statement on its 5th use; PostgreSQL then
# may switch to a generic plan), and the same server never preparing, so every page is planned
# for its own parameters: what a fresh connection, or a pooler without prepared statements, runs.
SERVER_CONFIGS = {
    "prepared": {"API_THROTTLE_USER": THROTTLE_USER_RATE},
    "custom plans": {"API_THROTTLE_USER": THROTTLE_USER_RATE, "DB_PREPARE_THRESHOLD": "1000000"},
}


@dataclass(frozen=True)
class Page:
    name: str
    collection: str
    after_position: int  # the page starts after the item at this 1-based position (0: first)
    after_id: int

    def path(self) -> str:
        path = f"/collections/{self.collection}?limit={PAGE_LIMIT}"
        if self.after_position:
            path += "&cursor=" + base64.b64encode(str(self.after_id).encode()).decode()
        return path


def pages(fixture: page_cost_data.Fixture) -> list[Page]:
    sizes = {page_cost_data.BIG: page_cost_data.BIG_ITEMS, SMALL: page_cost_data.SMALL_ITEMS}
    out = []
    for collection, size in sizes.items():
        label = "big" if collection == page_cost_data.BIG else "small"
        for where, position in (
            ("first", 0),
            ("middle", size // 2),
            ("last", size - PAGE_LIMIT),
        ):
            after_id = _item_id(fixture.collection_ids[collection], position) if position else 0
            out.append(Page(f"{label}-{where}", collection, position, after_id))
    return out


def _item_id(collection_id: str, position: int) -> int:
    """The id of item `position`: keys follow the insertion order (page_cost_data)."""
    from django.db import connection

    from apps.kvcollections.queries import ITEMS

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {ITEMS} WHERE collection_id = %s AND key = %s",
            [collection_id, page_cost_data.key_for(position)],
        )
        return int(cursor.fetchone()[0])


def verify(server: harness.Server, page: Page, headers: dict[str, str]) -> None:
    path = page.path()
    status, document = harness.get_json(server, harness.Case(page.name, path, headers))
    items = document.get("items") if isinstance(document, dict) else None
    first_key = page_cost_data.key_for(page.after_position + 1)
    if (
        status != 200
        or not isinstance(items, list)
        or len(items) != PAGE_LIMIT
        or items[0].get("key") != first_key
    ):
        raise harness.BenchError(
            f"{page.name} {path} answered {status}; expected {PAGE_LIMIT} items from {first_key}"
        )


def raw_statements(fixture: page_cost_data.Fixture, page: Page) -> dict[str, tuple[str, list[Any]]]:
    """The page's statement now (as the API builds it) and before issue 15."""
    from apps.kvcollections.models import Collection
    from apps.kvcollections.queries import ITEMS, ItemFilter, page_query

    collection = Collection.objects.get(pk=fixture.collection_ids[page.collection])
    query = page_query(
        collection=collection, item_filter=ItemFilter(), after_id=page.after_id, limit=PAGE_LIMIT
    )
    old = OLD_PAGE_SQL.format(items=ITEMS)
    old_args = [collection.pk, page.after_id, PAGE_LIMIT]
    return {"now": (query.sql, query.args), "old": (old, old_args)}


def raw_ms(statement: tuple[str, list[Any]], plan_mode: str) -> float:
    """Median latency of the statement through psycopg, prepared, under `plan_mode`."""
    sql, args = statement
    timings = []
    with collections_data.raw_connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"SET plan_cache_mode = {plan_mode}")
        for _ in range(RAW_WARMUP + RAW_REPEATS):
            started = time.perf_counter()
            cursor.execute(sql, args, prepare=True)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[RAW_WARMUP:])


def table_size() -> dict[str, Any]:
    from django.db import connection

    from apps.kvcollections.queries import ITEMS

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, pg_total_relation_size(oid) FROM pg_class"
            " WHERE oid = %s::regclass",
            [ITEMS],
        )
        rows, size = cursor.fetchone()
        cursor.execute(f"SELECT count(DISTINCT collection_id) FROM {ITEMS}")
        (collections,) = cursor.fetchone()
    return {"items_estimate": rows, "collections": collections, "total_bytes": size}


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: pages of {PAGE_LIMIT} items, first/middle/last, big and small collection")
    harness.setup_django()
    fixture = page_cost_data.seed(TOKEN_NAME)
    size = table_size()
    print(
        f"  table: ~{size['items_estimate']:,} items in {size['collections']:,} collections, "
        f"{size['total_bytes'] / 2**30:.2f} GiB with indexes"
    )
    page_list = pages(fixture)
    raw = {}
    for page in page_list:
        for version, statement in raw_statements(fixture, page).items():
            for mode in PLAN_MODES:
                raw[(page.name, version, mode)] = raw_ms(statement, mode)
    harness.close_db_connections()
    requests = max(MIN_REQUESTS, 10 * options.rounds)
    timings, server = {}, None
    for config, overrides in SERVER_CONFIGS.items():
        timings[config], server = http_timings(config, overrides, page_list, fixture, requests)
    assert server is not None
    return report(timings, raw, size, server, options)


def http_timings(
    config: str,
    overrides: dict[str, str],
    page_list: list[Page],
    fixture: page_cost_data.Fixture,
    requests: int,
) -> tuple[dict[str, list[float]], harness.Server]:
    headers = fixture.headers
    with harness.gunicorn_server(NAME, overrides, workers=1) as server:
        print(f"  gunicorn ({config}): 1 sync worker at {server.base_url}")
        for page in page_list:
            verify(server, page, headers)
        print(f"    verified: every page holds {PAGE_LIMIT} items from the expected key")
        print(f"    warm-up: {WARMUP_REQUESTS} requests each; then {requests} each, in turn")
        for _ in range(WARMUP_REQUESTS):
            for page in page_list:
                harness.timed_get(server, page.path(), headers)
        timings: dict[str, list[float]] = {page.name: [] for page in page_list}
        for _ in range(requests):
            for page in page_list:
                timings[page.name].append(harness.timed_get(server, page.path(), headers)[0])
    return timings, server


def report(
    timings: dict[str, dict[str, list[float]]],
    raw: dict[tuple[str, str, str], float],
    size: dict[str, Any],
    server: harness.Server,
    options: harness.BenchOptions,
) -> harness.BenchResult:
    medians = {
        config: {name: statistics.median(values) for name, values in pages.items()}
        for config, pages in timings.items()
    }
    fastest = {config: min(values.values()) for config, values in medians.items()}
    ratios = {config: max(medians[config].values()) / fastest[config] for config in medians}
    ratio = max(ratios.values())
    print()
    print("  HTTP API median ms (x fastest page); raw SQL median ms (custom/generic plan)")
    header = "".join(f"{config:>20}" for config in medians)
    print(f"  {'page':<13}{header}   {'SQL now':>13} {'SQL before':>13}")
    for name in medians[next(iter(medians))]:
        http = "".join(
            f"{medians[config][name]:>12.2f} ({medians[config][name] / fastest[config]:.2f})"
            for config in medians
        )
        now = "/".join(f"{raw[(name, 'now', mode)]:.2f}" for mode in PLAN_MODES)
        old = "/".join(f"{raw[(name, 'old', mode)]:.2f}" for mode in PLAN_MODES)
        print(f"  {name:<13}{http}   {now:>13} {old:>13}")
    for config, value in ratios.items():
        print(harness.ratio_line("slowest", f"fastest ({config})", value, TARGET_RATIO, False))
    first = next(iter(timings.values()))
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=False,
        cases={
            f"{config}/{name}": {
                "median_ms": medians[config][name],
                "ratio_to_fastest": medians[config][name] / fastest[config],
                "raw_ms": {
                    f"{version}/{mode}": raw[(name, version, mode)]
                    for version in ("now", "old")
                    for mode in PLAN_MODES
                },
                "ms": values,
            }
            for config, pages in timings.items()
            for name, values in pages.items()
        },
        order=list(first) * len(next(iter(first.values()))),
        config={
            "rounds": options.rounds,
            "requests_each": len(next(iter(first.values()))),
            "warmup_requests_each": WARMUP_REQUESTS,
            "page_limit": PAGE_LIMIT,
            "data_version": page_cost_data.DATA_VERSION,
            "table": size,
            "server_configs": SERVER_CONFIGS,
        },
        server=server,
    )
