"""The data set of the collections benchmarks: a bench user, project, token and collections.

`bench-stream-1m` holds 1,000,000 items (`key-0000001` ... `key-1000000`, values of exactly
100 bytes, as in the reference measurements). It is created once with a single
`INSERT ... SELECT generate_series` and reused by later runs while it still has the right items.
`bench-bulk` is the bulk benchmark's own collection, so its writes never disturb the 1M items.

Everything here needs Django set up (harness.setup_django()).
"""

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from bench import harness

ITEM_COUNT = 1_000_000
VALUE_BYTES = 100
BENCH_EMAIL = "bench-collections@bench.skriptoteket.test"
PROJECT_NAME = "Bench collections"
STREAM_COLLECTION = "bench-stream-1m"
BULK_COLLECTION = "bench-bulk"
# A value of exactly VALUE_BYTES for item n: {"n":<n>,"text":"<hex padding>"}.
_VALUE_SQL = (
    """'{"n":' || g || ',"text":"' || left(repeat(md5(g::text), 3), """
    f"""{VALUE_BYTES - 16} - length(g::text)) || '"}}'"""
)


@dataclass(frozen=True)
class Fixture:
    user_id: int
    project_id: str
    token: str
    stream_collection_id: str
    bulk_collection_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def key_for(n: int) -> str:
    return f"key-{n:07d}"


def value_for(n: int, salt: str = "") -> str:
    """A VALUE_BYTES-long value (for keys up to 7 digits and a salt up to 8 characters)."""
    head = f'{{"n":{n},"s":"{salt}","text":"'
    return head + "x" * (VALUE_BYTES - len(head) - 2) + '"}'


def items_table() -> str:
    from apps.kvcollections.queries import ITEMS

    return ITEMS


def seed(token_name: str) -> Fixture:
    """Create (once) the user, project, collections and 1M items; mint a fresh token."""
    # Imported here: these modules need django.setup().
    from apps.accounts import services as account_services
    from apps.accounts.models import ApiToken
    from apps.kvcollections import services as collection_services
    from apps.kvcollections.models import Collection

    user = harness.bench_contributor(BENCH_EMAIL, "Bench Collections")
    project = harness.bench_project(user, PROJECT_NAME)
    collections = {}
    for name in (STREAM_COLLECTION, BULK_COLLECTION):
        collection = Collection.objects.filter(project=project, name=name).first()
        if collection is None:
            collection = collection_services.create_collection(project=project, name=name)
        collections[name] = collection
    ensure_stream_items(collections[STREAM_COLLECTION])
    for old in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        account_services.revoke_api_token(token=old)
    _, secret = account_services.create_api_token(user=user, name=token_name, expires_in_days=1)
    return Fixture(
        user_id=user.pk,
        project_id=str(project.pk),
        token=secret,
        stream_collection_id=str(collections[STREAM_COLLECTION].pk),
        bulk_collection_id=str(collections[BULK_COLLECTION].pk),
    )


def ensure_stream_items(collection: Any) -> None:
    """Reuse the 1M items when count, first/last key and the counter agree; else rebuild them."""
    from django.db import connection

    from apps.kvcollections import services as collection_services

    table = items_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(key), max(key) FROM {table} WHERE collection_id = %s",
            [collection.pk],
        )
        count, first, last = cursor.fetchone()
    collection.refresh_from_db(fields=["item_count"])
    expected = (ITEM_COUNT, key_for(1), key_for(ITEM_COUNT), ITEM_COUNT)
    if (count, first, last, collection.item_count) == expected:
        print(f"  data set: reused {STREAM_COLLECTION} ({ITEM_COUNT:,} items)")
        return
    print(
        f"  data set: building {STREAM_COLLECTION} ({ITEM_COUNT:,} items; found {count:,}); "
        "the recount below logs the counter drift it repairs"
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE collection_id = %s", [collection.pk])
        cursor.execute(
            f"INSERT INTO {table} (collection_id, key, value, created_at, updated_at) "
            f"SELECT %s, 'key-' || lpad(g::text, 7, '0'), {_VALUE_SQL}, now(), now() "
            "FROM generate_series(1, %s) AS g",
            [collection.pk, ITEM_COUNT],
        )
    collection_services.recount_collection_counters()
    vacuum_items()
    print(f"  data set: built in {time.monotonic() - started:.1f}s")


def vacuum_items() -> None:
    """VACUUM ANALYZE the items table: fresh statistics and visibility map, no dead rows left."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {items_table()}")


def item_id_at(collection_id: str, position: int) -> int:
    """The id of the `position`-th item (1-based) of a collection in id (stream) order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {items_table()} WHERE collection_id = %s ORDER BY id "
            "OFFSET %s LIMIT 1",
            [collection_id, position - 1],
        )
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"collection {collection_id} has fewer than {position} items")
    return int(row[0])


def raw_connect() -> psycopg.Connection[tuple[Any, ...]]:
    """A plain psycopg 3 connection to the application's database, as Django reaches it (TCP)."""
    from django.db import connection

    params = connection.get_connection_params()
    return psycopg.connect(
        host=params.get("host"),
        port=params.get("port"),
        dbname=params.get("dbname"),
        user=params.get("user"),
        password=params.get("password"),
        autocommit=True,
    )
