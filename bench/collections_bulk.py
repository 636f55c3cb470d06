"""Benchmark `collections_bulk`: bulk upsert through the data API vs raw psycopg batches.

Every run upserts the same workload into the `bench-bulk` collection (never the 1M-item one):
BODIES_PER_RUN batches of 1,000 items, keys `key-0000000` ... `key-0199999`. Before each run the
collection is reset (untimed) to the even-numbered half of those keys, so every batch updates
500 existing keys and inserts 500 new ones, in every run, for every case alike. Values are
~100-byte strings salted per run, so every update really changes the value.

A (api): CLIENTS threads POST pre-built JSON bodies (`{"items": [...]}`, built before timing) to
`POST /collections/bench-bulk`, each taking the next body from a shared list until none are
left. Python threads rather than wrk: the client only sends ready bytes and reads a small answer
(so its cost is small), and a fixed workload lets both sides do exactly the same writes from the
same starting state, which a time-bounded wrk run cannot.

B (raw): CLIENTS threads, each with its own psycopg 3 connection over TCP (autocommit: one
transaction per batch), run `INSERT ... SELECT ... FROM unnest(%b::text[], %b::text[])
ON CONFLICT (collection_id, key) DO UPDATE` per batch of 1,000 rows. The arrays are sent in
psycopg's binary format (`%b`): its text-format list dumper escapes every element with a Python
regular expression, which costs ~9 ms of client CPU per 1,000 values that contain quotes (as
JSON-encoded values do) and would make the reference measure psycopg, not PostgreSQL.

Target: api/raw >= 0.5 (items/s).
"""

import http.client
import itertools
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from bench import collections_data, harness

NAME = "collections_bulk"
TARGET_RATIO = 0.5
CLIENTS = 4
BATCH = 1_000
BODIES_PER_RUN = 200
WARMUP_BODIES = 20
KEY_SPACE = BODIES_PER_RUN * BATCH
TOKEN_NAME = "bench collections_bulk"
THROTTLE_USER_RATE = "1000000/s"
GUNICORN_WORKERS = 5

_RAW_UPSERT_SQL = """
INSERT INTO {items} (collection_id, key, value, created_at, updated_at)
SELECT %s, k, v, statement_timestamp(), statement_timestamp()
FROM unnest(%b::text[], %b::text[]) AS t(k, v)
ON CONFLICT (collection_id, key)
DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
"""


@dataclass(frozen=True)
class Batch:
    keys: list[str]
    values: list[str]
    body: bytes  # the same items as the API's JSON body


@dataclass(frozen=True)
class BulkRun:
    items: int
    seconds: float
    batch_p50_ms: float
    batch_max_ms: float
    reset_seconds: float

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds


def describe(run: BulkRun) -> str:
    return (
        f"{run.items_per_second:>9,.0f} items/s  {run.items:,} items in {run.seconds:5.2f}s  "
        f"batch p50 {run.batch_p50_ms:6.1f} ms  max {run.batch_max_ms:6.1f} ms  "
        f"(reset {run.reset_seconds:.1f}s)"
    )


def build_batches(salt: str, count: int) -> list[Batch]:
    batches = []
    for number in range(count):
        indices = range(number * BATCH, (number + 1) * BATCH)
        keys = [collections_data.key_for(n) for n in indices]
        values = [collections_data.value_for(n, salt) for n in indices]
        body = orjson.dumps(
            {"items": [{"key": k, "value": v} for k, v in zip(keys, values, strict=True)]}
        )
        batches.append(Batch(keys, values, body))
    return batches


def reset_bulk_collection(collection_id: str) -> float:
    """Leave exactly the even keys of the key space, right counters, and no dead rows."""
    from django.db import connection, transaction

    from apps.kvcollections.models import Collection

    started = time.monotonic()
    table = collections_data.items_table()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE collection_id = %s", [collection_id])
        cursor.execute(
            f"INSERT INTO {table} (collection_id, key, value, created_at, updated_at) "
            "SELECT %s, 'key-' || lpad(g::text, 7, '0'), repeat('v', 100), now(), now() "
            "FROM generate_series(0, %s, 2) AS g",
            [collection_id, KEY_SPACE - 1],
        )
        # What services.recount_collection_counters() would repair, for this collection only.
        cursor.execute(
            f"UPDATE {Collection._meta.db_table} c SET item_count = s.n, byte_size = s.bytes "
            "FROM (SELECT count(*) AS n, "
            "coalesce(sum(octet_length(key) + octet_length(value)), 0) AS bytes "
            f"FROM {table} WHERE collection_id = %s) s WHERE c.id = %s",
            [collection_id, collection_id],
        )
    collections_data.vacuum_items()
    return time.monotonic() - started


def check_written(collection_id: str, salt: str, count: int, counters: bool) -> None:
    """Every key of the run now holds this run's value (and, for the API, the counters agree)."""
    from django.db import connection

    from apps.kvcollections.models import Collection

    expected_items = KEY_SPACE // 2 + count * BATCH // 2
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), count(*) FILTER (WHERE value LIKE %s) "
            f"FROM {collections_data.items_table()} WHERE collection_id = %s",
            [f'%"s":"{salt}"%', collection_id],
        )
        total, salted = cursor.fetchone()
    item_count = Collection.objects.get(pk=collection_id).item_count
    if total != expected_items or salted != count * BATCH:
        raise harness.BenchError(
            f"bulk run {salt}: {total} items, {salted} with this run's values; "
            f"expected {expected_items} and {count * BATCH}"
        )
    if counters and item_count != total:
        raise harness.BenchError(f"bulk run {salt}: item_count {item_count} != {total} items")


def run_clients(
    batches: list[Batch], send: Callable[[int, Batch], None], clients: int = CLIENTS
) -> tuple[float, list[float]]:
    """`clients` threads share the batches; returns the wall time and per-batch latencies."""
    next_index = itertools.count()
    latencies: list[float] = []
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        start.wait()
        try:
            while (index := next(next_index)) < len(batches):
                sent = time.perf_counter()
                send(number, batches[index])
                latencies.append(time.perf_counter() - sent)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise harness.BenchError(f"a client failed: {errors[0]!r}") from errors[0]
    return seconds, latencies


def api_sender(
    server: harness.Server, fixture: collections_data.Fixture
) -> Callable[[int, Batch], None]:
    path = f"/collections/{collections_data.BULK_COLLECTION}"
    headers = {**fixture.headers, "Content-Type": "application/json"}

    def send(client: int, batch: Batch) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            connection.request("POST", path, body=batch.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200 or orjson.loads(body).get("upserted") != BATCH:
            raise harness.BenchError(f"POST {path} answered {response.status}: {body[:300]!r}")

    return send


class RawSenders:
    """One psycopg connection per client thread, opened before timing."""

    def __init__(self, collection_id: str) -> None:
        self.collection_id = collection_id
        self.raw_upsert_sql = _RAW_UPSERT_SQL.format(items=collections_data.items_table())
        self.connections = [collections_data.raw_connect() for _ in range(CLIENTS)]

    def __call__(self, client: int, batch: Batch) -> None:
        connection = self.connections[client]
        connection.execute(self.raw_upsert_sql, [self.collection_id, batch.keys, batch.values])

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


class Runner:
    """Reset, build this run's batches, time the clients, check what they wrote."""

    def __init__(self, fixture: collections_data.Fixture, senders: dict[str, Any]) -> None:
        self.fixture = fixture
        self.senders = senders
        self.run_number = 0

    def run(self, case: str, count: int) -> BulkRun:
        self.run_number += 1
        salt = f"r{self.run_number}"
        reset_seconds = reset_bulk_collection(self.fixture.bulk_collection_id)
        batches = build_batches(salt, count)
        seconds, latencies = run_clients(batches, self.senders[case])
        check_written(self.fixture.bulk_collection_id, salt, count, counters=case != "raw")
        latencies_ms = sorted(latency * 1000 for latency in latencies)
        return BulkRun(
            items=count * BATCH,
            seconds=seconds,
            batch_p50_ms=statistics.median(latencies_ms),
            batch_max_ms=latencies_ms[-1],
            reset_seconds=reset_seconds,
        )

    def case(self, name: str) -> Callable[[], BulkRun]:
        return lambda: self.run(name, BODIES_PER_RUN)


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(
        f"== {NAME}: POST /collections/{{name}} with {BATCH:,} items per request vs raw "
        f"unnest upsert batches, {CLIENTS} clients each"
    )
    harness.setup_django()
    fixture = collections_data.seed(TOKEN_NAME)
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    with harness.gunicorn_server(NAME, overrides, workers=GUNICORN_WORKERS) as server:
        print(f"  gunicorn: {server.workers} sync workers at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        print(
            f"  workload per run: {BODIES_PER_RUN} batches of {BATCH:,} "
            "(500 updates + 500 inserts each), reset untimed before every run"
        )
        raw = RawSenders(fixture.bulk_collection_id)
        try:
            runner = Runner(fixture, {"api": api_sender(server, fixture), "raw": raw})
            print(f"  warm-up: {WARMUP_BODIES} batches per case")
            for case in runner.senders:
                runner.run(case, WARMUP_BODIES)
            runs = harness.interleave(
                [(case, runner.case(case)) for case in runner.senders],
                harness.fixed_work_rounds(options),
                describe,
            )
        finally:
            raw.close()
        reset_bulk_collection(fixture.bulk_collection_id)
        harness.close_db_connections()
        return report(runs, server, options)


def report(
    runs: list[tuple[str, BulkRun]], server: harness.Server, options: harness.BenchOptions
) -> harness.BenchResult:
    medians = {
        case: statistics.median(r.items_per_second for r in harness.runs_of(runs, case))
        for case in ("api", "raw")
    }
    ratio = medians["api"] / medians["raw"]
    print()
    print(f"  {'case':<14} {'items/s (median)':>16} {'batch p50 ms (median)':>22}")
    for case, rate in medians.items():
        p50 = statistics.median(r.batch_p50_ms for r in harness.runs_of(runs, case))
        print(f"  {case:<14} {rate:>16,.0f} {p50:>22.1f}")
    print(harness.ratio_line("api", "raw", ratio, TARGET_RATIO, higher=True))
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=True,
        cases={
            case: {
                "items_per_second_median": rate,
                "runs": [asdict(r) for r in harness.runs_of(runs, case)],
            }
            for case, rate in medians.items()
        },
        order=[name for name, _ in runs],
        config={
            "rounds": harness.fixed_work_rounds(options),
            "clients": CLIENTS,
            "batch_items": BATCH,
            "batches_per_run": BODIES_PER_RUN,
            "warmup_batches": WARMUP_BODIES,
            "mix": "each batch: 500 updates of existing keys + 500 inserts",
        },
        server=server,
    )
