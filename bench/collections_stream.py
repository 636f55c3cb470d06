"""Benchmark `collections_stream`: stream 1,000,000 items through the data API vs raw psycopg.

A (api): one client follows the cursors of `GET /collections/bench-stream-1m?limit=10000`
(100 requests; gunicorn's sync workers close the connection after each response, so each page
is a new TCP connection), reads each chunked body with `http.client` and parses it with orjson.
Items/s is end to end *including* the client's JSON parse; the figure without the parse is
printed alongside for reference.

B (raw): one psycopg 3 connection over TCP runs the API's keyset page statement
(apps.kvcollections.queries.page_query, LIMIT 500) in a loop and fetches every row (psycopg
builds the Python tuples and datetimes), i.e. reference C.2's "full stream by keyset pages".

Target: api/raw >= 0.7. The server runs ONE sync worker, so the worker process whose memory is
sampled (VmRSS every 0.1 s, plus the kernel's VmHWM peak) is the one serving every page: the peak
after 100k items and after 1M items shows whether memory stays flat while streaming.
"""

import http.client
import re
import statistics
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from bench import collections_data, harness

NAME = "collections_stream"
TARGET_RATIO = 0.7
PAGE_LIMIT = 10_000  # items per API request (COLLECTIONS_MAX_LIMIT)
RAW_PAGE_SIZE = 500  # rows per raw keyset query, as the server's COLLECTIONS_PAGE_SIZE
WARMUP_ITEMS = 100_000
MEMORY_CHECKPOINT = 100_000
TOKEN_NAME = "bench collections_stream"
# Plenty for ~100 requests a round; the limit only needs to stay out of the way.
THROTTLE_USER_RATE = "1000000/s"


@dataclass(frozen=True)
class StreamRun:
    items: int
    seconds: float
    requests: int
    body_bytes: int = 0
    parse_seconds: float = 0.0
    first_key: str = ""
    last_key: str = ""

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds

    @property
    def items_per_second_without_parse(self) -> float:
        return self.items / (self.seconds - self.parse_seconds)


@dataclass(frozen=True)
class MemoryRun:
    """Worker memory (KiB) during one API stream."""

    rss_before: int
    peak_rss_at_100k: int
    peak_rss_at_end: int
    hwm_at_100k: int
    hwm_at_end: int
    samples: int


def describe(run: StreamRun) -> str:
    return (
        f"{run.items_per_second:>10,.0f} items/s  {run.items:>9,} items in {run.seconds:6.2f}s "
        f"({run.requests} requests)"
    )


def stream_api(
    server: harness.Server,
    fixture: collections_data.Fixture,
    stop_after: int,
    on_page: Callable[[int], None] | None = None,
) -> StreamRun:
    """Follow cursors until the stream ends (or `stop_after` items), parsing every page."""
    items = requests = body_bytes = 0
    parse_seconds = 0.0
    first_key = last_key = ""
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        path = f"/collections/{collections_data.STREAM_COLLECTION}?limit={PAGE_LIMIT}"
        if cursor is not None:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            connection.request("GET", path, headers=fixture.headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise harness.BenchError(f"GET {path} answered {response.status}: {body[:300]!r}")
        parse_started = time.perf_counter()
        document = orjson.loads(body)
        parse_seconds += time.perf_counter() - parse_started
        page: list[dict[str, Any]] = document["items"]
        if page:
            first_key = first_key or page[0]["key"]
            last_key = page[-1]["key"]
        items += len(page)
        requests += 1
        body_bytes += len(body)
        cursor = document["cursor"]
        if on_page is not None:
            on_page(items)
        if cursor is None or items >= stop_after:
            break
    seconds = time.perf_counter() - started
    return StreamRun(items, seconds, requests, body_bytes, parse_seconds, first_key, last_key)


def stream_raw(collection_id: str, stop_after: int) -> StreamRun:
    """Keyset pages of RAW_PAGE_SIZE rows over one TCP connection, every row fetched."""
    from apps.kvcollections.models import Collection
    from apps.kvcollections.queries import ItemFilter, page_query

    collection = Collection(pk=collection_id, max_value_bytes=collections_data.VALUE_BYTES)
    items = queries = 0
    first_key = last_key = ""
    last_id = 0
    with collections_data.raw_connect() as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        while items < stop_after:
            query = page_query(
                collection=collection,
                item_filter=ItemFilter(),
                after_id=last_id,
                limit=RAW_PAGE_SIZE,
            )
            cursor.execute(query.sql, query.args)
            rows = cursor.fetchall()
            queries += 1
            if not rows:
                break
            first_key = first_key or rows[0][1]
            last_id, last_key = rows[-1][0], rows[-1][1]
            items += len(rows)
            if len(rows) < RAW_PAGE_SIZE:
                break
        seconds = time.perf_counter() - started
    return StreamRun(items, seconds, queries, first_key=first_key, last_key=last_key)


_ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def verify(server: harness.Server, fixture: collections_data.Fixture) -> None:
    """The first page has the documented shape before anything is timed."""
    case = harness.Case(
        "check", f"/collections/{collections_data.STREAM_COLLECTION}?limit=2", fixture.headers
    )
    status, document = harness.get_json(server, case)
    items = document.get("items") if isinstance(document, dict) else None
    item = items[0] if isinstance(items, list) and len(items) == 2 else {}
    if (
        status != 200
        or set(item) != {"key", "value", "created", "updated"}
        or item["key"] != collections_data.key_for(1)
        or len(item["value"]) != collections_data.VALUE_BYTES
        or not all(_ISO_UTC.match(item[field]) for field in ("created", "updated"))
        or not document.get("cursor")
    ):
        raise harness.BenchError(f"{case.path} answered {status} {document!r}")
    print(f"  verified: {case.path} -> 200 with 2 well-formed items and a cursor")


def check_complete(run: StreamRun, case: str) -> StreamRun:
    expected = (
        collections_data.ITEM_COUNT,
        collections_data.key_for(1),
        collections_data.key_for(collections_data.ITEM_COUNT),
    )
    if (run.items, run.first_key, run.last_key) != expected:
        raise harness.BenchError(
            f"{case}: streamed {run.items} items {run.first_key}..{run.last_key}, "
            f"expected {expected[0]} items {expected[1]}..{expected[2]}"
        )
    return run


class MeasuredApiStream:
    """An API stream with the serving worker's memory recorded at 100k items and at the end."""

    def __init__(
        self,
        server: harness.Server,
        fixture: collections_data.Fixture,
        sampler: harness.RssSampler,
    ) -> None:
        self.server = server
        self.fixture = fixture
        self.sampler = sampler
        self.memory: list[MemoryRun] = []

    def __call__(self) -> StreamRun:
        pid = self.sampler.pid
        rss_before, _ = harness.memory_kib(pid)
        self.sampler.reset_peak()
        checkpoint: dict[str, int] = {}

        def on_page(items: int) -> None:
            if items >= MEMORY_CHECKPOINT and not checkpoint:
                self.sampler.sample()
                checkpoint["peak"] = self.sampler.peak_kib
                checkpoint["hwm"] = harness.memory_kib(pid)[1]

        run = stream_api(self.server, self.fixture, collections_data.ITEM_COUNT, on_page)
        self.sampler.sample()
        _, hwm_end = harness.memory_kib(pid)
        self.memory.append(
            MemoryRun(
                rss_before=rss_before,
                peak_rss_at_100k=checkpoint["peak"],
                peak_rss_at_end=self.sampler.peak_kib,
                hwm_at_100k=checkpoint["hwm"],
                hwm_at_end=hwm_end,
                samples=self.sampler.samples,
            )
        )
        return check_complete(run, "api")


def print_memory(memory: list[MemoryRun]) -> None:
    print()
    print("  gunicorn worker memory while streaming (MiB; VmRSS sampled every 0.1 s, VmHWM = peak)")
    print(
        f"  {'round':<6} {'before':>8} {'peak@100k':>10} {'peak@1M':>9} "
        f"{'HWM@100k':>9} {'HWM@1M':>8}"
    )
    for number, run in enumerate(memory, 1):
        print(
            f"  {number:<6} {run.rss_before / 1024:>8.1f} {run.peak_rss_at_100k / 1024:>10.1f} "
            f"{run.peak_rss_at_end / 1024:>9.1f} {run.hwm_at_100k / 1024:>9.1f} "
            f"{run.hwm_at_end / 1024:>8.1f}"
        )
    growth = max(run.peak_rss_at_end - run.peak_rss_at_100k for run in memory) / 1024
    print(f"  largest growth from 100k to 1M items within one stream: {growth:+.1f} MiB")


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: 1M items via GET /collections/{{name}} (limit={PAGE_LIMIT}) vs raw keyset")
    harness.setup_django()
    fixture = collections_data.seed(TOKEN_NAME)
    harness.close_db_connections()
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    with harness.gunicorn_server(NAME, overrides, workers=1) as server:
        (worker,) = harness.worker_pids(server)
        print(f"  gunicorn: 1 sync worker (pid {worker}) at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        verify(server, fixture)
        print(f"  warm-up: first {WARMUP_ITEMS:,} items each for api and raw")
        stream_api(server, fixture, WARMUP_ITEMS)
        stream_raw(fixture.stream_collection_id, WARMUP_ITEMS)
        with harness.RssSampler(worker) as sampler:
            api = MeasuredApiStream(server, fixture, sampler)
            runs = harness.interleave(
                [
                    ("api", api),
                    (
                        "raw",
                        lambda: check_complete(
                            stream_raw(fixture.stream_collection_id, collections_data.ITEM_COUNT),
                            "raw",
                        ),
                    ),
                ],
                harness.fixed_work_rounds(options),
                describe,
            )
        return report(runs, api.memory, server, options)


def report(
    runs: list[tuple[str, StreamRun]],
    memory: list[MemoryRun],
    server: harness.Server,
    options: harness.BenchOptions,
) -> harness.BenchResult:
    api_runs, raw_runs = harness.runs_of(runs, "api"), harness.runs_of(runs, "raw")
    api_rate = statistics.median(r.items_per_second for r in api_runs)
    api_rate_no_parse = statistics.median(r.items_per_second_without_parse for r in api_runs)
    raw_rate = statistics.median(r.items_per_second for r in raw_runs)
    ratio = api_rate / raw_rate
    print()
    print(f"  {'case':<22} {'items/s (median)':>16} {'seconds (median)':>17}")
    print(
        f"  {'api (with JSON parse)':<22} {api_rate:>16,.0f} "
        f"{statistics.median(r.seconds for r in api_runs):>17.2f}"
    )
    print(f"  {'api (without parse)':<22} {api_rate_no_parse:>16,.0f}")
    print(
        f"  {'raw psycopg keyset':<22} {raw_rate:>16,.0f} "
        f"{statistics.median(r.seconds for r in raw_runs):>17.2f}"
    )
    mib_per_s = statistics.median(r.body_bytes / r.seconds for r in api_runs) / 2**20
    print(f"  api body: {api_runs[0].body_bytes / 2**20:.1f} MiB per stream, {mib_per_s:.1f} MiB/s")
    print(harness.ratio_line("api", "raw", ratio, TARGET_RATIO, higher=True))
    print_memory(memory)
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=True,
        cases={
            "api": {
                "items_per_second_median": api_rate,
                "items_per_second_without_parse_median": api_rate_no_parse,
                "runs": [asdict(r) for r in api_runs],
                "worker_memory_kib": [asdict(m) for m in memory],
            },
            "raw": {
                "items_per_second_median": raw_rate,
                "runs": [asdict(r) for r in raw_runs],
            },
        },
        order=[name for name, _ in runs],
        config={
            "rounds": harness.fixed_work_rounds(options),
            "items": collections_data.ITEM_COUNT,
            "api_page_limit": PAGE_LIMIT,
            "raw_page_size": RAW_PAGE_SIZE,
            "warmup_items": WARMUP_ITEMS,
            "client_parse": "api items/s includes orjson.loads of every page",
        },
        server=server,
    )
