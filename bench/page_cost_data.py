"""The data set of `collections_page_cost`: 5,000,000 items over 1,001 collections, skewed.

One bench user owns one project with `pc-big` and 1,000 small collections `pc-small-0000` ...
`pc-small-0999`. The items are written in two server-side `INSERT ... SELECT generate_series`
statements, so their ids (the insertion order) are skewed the way real tenants' are:

1. 2,000,000 items of the small collections, taken in turn (each small collection's first 2,000
   items, 1,000 ids apart);
2. 3,000,000 items interleaved, in groups of three: two of `pc-big`, then one of the next small
   collection. `pc-big` (40% of the table) begins only after 2,000,000 other items and ends with
   2,000,000 items; every small collection ends with 3,000.

Item n of a collection has the key `key-<n, 7 digits>` and a value of exactly 100 bytes. The
cursor index and the unique key and foreign key constraints are dropped and built again around
the load, inside the same transaction (an interrupted load leaves the table as it was): building
them once is several times faster than updating them row by row; the load takes about a minute.
The project's name carries DATA_VERSION; a later run reuses the data while the name, the
collection names and their item counters match.

Everything here needs Django set up (harness.setup_django()).
"""

import time
from dataclasses import dataclass
from typing import Any

from bench import harness

DATA_VERSION = 2
BENCH_EMAIL = "bench-page-cost@bench.skriptoteket.test"
PROJECT_PREFIX = "Bench page cost"
PROJECT_NAME = f"{PROJECT_PREFIX} (data v{DATA_VERSION})"
BIG = "pc-big"
SMALL_COUNT = 1000
SMALL_ITEMS = 3000
SMALL_FIRST = 2000  # each small collection's items loaded before pc-big's first
INTERLEAVED_GROUPS = SMALL_COUNT * (SMALL_ITEMS - SMALL_FIRST)  # two big items, one small
BIG_ITEMS = 2 * INTERLEAVED_GROUPS
TOTAL_ITEMS = BIG_ITEMS + SMALL_COUNT * SMALL_ITEMS
VALUE_BYTES = 100
# A value of exactly VALUE_BYTES for position n: {"n":<n>,"text":"<hex padding>"}.
_VALUE_SQL = (
    """'{"n":' || n || ',"text":"' || left(repeat(md5(n::text), 3), """
    f"""{VALUE_BYTES - 16} - length(n::text)) || '"}}'"""
)


def small_name(index: int) -> str:
    return f"pc-small-{index:04d}"


def key_for(n: int) -> str:
    return f"key-{n:07d}"


@dataclass(frozen=True)
class Fixture:
    token: str
    collection_ids: dict[str, str]  # name -> id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed(token_name: str) -> Fixture:
    """Create (once) the user, project, collections and items; mint a fresh token."""
    from apps.accounts import services as account_services
    from apps.accounts.models import ApiToken
    from apps.kvcollections.models import Collection

    user = harness.bench_contributor(BENCH_EMAIL, "Bench Page Cost")
    project = harness.bench_project(user, PROJECT_NAME)
    collections = Collection.objects.filter(project=project)
    _delete_older_versions(project)
    counts = dict(collections.values_list("name", "item_count"))
    expected = {BIG: BIG_ITEMS} | {small_name(i): SMALL_ITEMS for i in range(SMALL_COUNT)}
    if counts == expected:
        print(f"  data set: reused {TOTAL_ITEMS:,} items in {len(expected):,} collections")
    else:
        _build(project, collections)
    for old in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        account_services.revoke_api_token(token=old)
    _, secret = account_services.create_api_token(user=user, name=token_name, expires_in_days=1)
    ids = {name: str(pk) for name, pk in collections.values_list("name", "id")}
    return Fixture(token=secret, collection_ids=ids)


def _build(project: Any, collections: Any) -> None:
    from django.db import connection, transaction

    from apps.kvcollections import services as collection_services
    from apps.kvcollections.models import CollectionItem

    print(f"  data set: building {TOTAL_ITEMS:,} items in {SMALL_COUNT + 1:,} collections")
    started = time.monotonic()
    items = CollectionItem._meta.db_table
    indexes = _secondary_indexes()
    with transaction.atomic(), connection.cursor() as cursor:
        _delete_items_of(cursor, collections)
        big = collection_services.create_collection(project=project, name=BIG)
        created = collection_services.create_empty_collections(
            project_id=project.pk, names=[small_name(i) for i in range(SMALL_COUNT)]
        )
        assert len(created) == SMALL_COUNT
        smalls = [
            str(pk)
            for pk in collections.exclude(pk=big.pk).order_by("name").values_list("id", flat=True)
        ]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no checks pending
        for _, drop, _ in indexes:
            cursor.execute(drop)
        _insert(cursor, items, str(big.pk), smalls)
        for _, _, create in indexes:
            cursor.execute(create)
        cursor.execute(
            f"UPDATE {collections.model._meta.db_table} c SET item_count = s.n,"
            " byte_size = s.bytes, max_value_bytes = s.max_value"
            " FROM (SELECT collection_id, count(*) AS n,"
            " sum(octet_length(key) + octet_length(value)) AS bytes,"
            f" max(octet_length(value)) AS max_value FROM {items}"
            " WHERE collection_id = ANY(%s::uuid[]) GROUP BY collection_id) s"
            " WHERE c.id = s.collection_id",
            [[str(big.pk), *smalls]],
        )
    print(f"  data set: loaded in {time.monotonic() - started:.0f}s; VACUUM ANALYZE ...")
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {items}")
    print(f"  data set: built in {time.monotonic() - started:.0f}s")


def _delete_older_versions(project: Any) -> None:
    """Older data versions live in other projects of the bench user; their collection names
    would make `/collections/{name}` ambiguous (409), so their collections go."""
    from django.db import connection, transaction

    from apps.kvcollections.models import Collection
    from apps.kvcollections.queries import ITEMS

    stale = Collection.objects.filter(
        project__created_by=project.created_by, project__name__startswith=PROJECT_PREFIX
    ).exclude(project=project)
    if not stale.exists():
        return
    with transaction.atomic(), connection.cursor() as cursor:
        _delete_items_of(cursor, stale)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {ITEMS}")


def _delete_items_of(cursor: Any, collections: Any) -> None:
    """Delete the collections and their items; the items first, in one statement (deleting the
    collections through the ORM would load every item)."""
    from apps.kvcollections.queries import ITEMS

    ids = [str(pk) for pk in collections.values_list("id", flat=True)]
    if ids:
        cursor.execute(f"DELETE FROM {ITEMS} WHERE collection_id = ANY(%s::uuid[])", [ids])
        collections.delete()


def _secondary_indexes() -> list[tuple[str, str, str]]:
    """(name, DROP, CREATE) of the items table's indexes, unique and foreign key constraints,
    except its primary key (new ids only ever append to it). Without the foreign key the insert
    queues no deferred checks (which would also forbid the ALTER TABLE after it); adding it back
    checks every row in one join."""
    from django.db import connection

    from apps.kvcollections.models import CollectionItem

    table = CollectionItem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " WHERE c.conrelid = %s::regclass AND c.contype IN ('u', 'f')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [table],
        )
        indexes = cursor.fetchall()
    return [
        *(
            (
                name,
                f'ALTER TABLE {table} DROP CONSTRAINT "{name}"',
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}',
            )
            for name, definition in constraints
        ),
        *((name, f'DROP INDEX "{name}"', definition) for name, definition in indexes),
    ]


def _insert(cursor: Any, items: str, big: str, smalls: list[str]) -> None:
    columns = "collection_id, key, value, created_at, updated_at"
    # Row g: small collection mod(g, SMALL_COUNT), its item g / SMALL_COUNT + 1.
    cursor.execute(
        f"INSERT INTO {items} ({columns}) "
        f"SELECT c, 'key-' || lpad(n::text, 7, '0'), {_VALUE_SQL}, now(), now() FROM ("
        "  SELECT g, (%s::uuid[])[mod(g, %s) + 1] AS c, g / %s + 1 AS n"
        "  FROM generate_series(0, %s) AS g ORDER BY g"
        ") AS rows",
        [smalls, SMALL_COUNT, SMALL_COUNT, SMALL_COUNT * SMALL_FIRST - 1],
    )
    # Row g of group g / 3: slots 0 and 1 are pc-big's next items, slot 2 the next small item.
    cursor.execute(
        f"INSERT INTO {items} ({columns}) "
        f"SELECT c, 'key-' || lpad(n::text, 7, '0'), {_VALUE_SQL}, now(), now() FROM ("
        "  SELECT g, CASE WHEN mod(g, 3) < 2 THEN %s::uuid"
        "              ELSE (%s::uuid[])[mod(g / 3, %s) + 1] END AS c,"
        "         CASE WHEN mod(g, 3) < 2 THEN g / 3 * 2 + mod(g, 3) + 1"
        "              ELSE %s + g / 3 / %s + 1 END AS n"
        "  FROM generate_series(0, %s) AS g ORDER BY g"
        ") AS rows",
        [big, smalls, SMALL_COUNT, SMALL_FIRST, SMALL_COUNT, INTERLEAVED_GROUPS * 3 - 1],
    )
