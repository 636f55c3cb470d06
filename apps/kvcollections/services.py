"""Every change to collections and their items.

Locks (all transaction-scoped, always in this order): the collection's advisory lock (shared for
writes of named keys, exclusive for deletes by filter, recounts and deleting the collection),
then one advisory lock per key written (in hash order), then the rows the statement touches, the
collection row last. A writer therefore sees every earlier write of its keys committed when its
statement's snapshot is taken, so the counter deltas computed in that statement are exact, while
writers of different keys run in parallel.
"""

from typing import Any

import structlog
from django.db import IntegrityError, connection, transaction
from django.db.utils import DataError
from psycopg.errors import CardinalityViolation

from apps.core.exceptions import ValidationFailed
from apps.core.models import validate_model
from apps.kvcollections.exceptions import CollectionExists, DuplicateKey
from apps.kvcollections.models import Collection
from apps.kvcollections.queries import ITEMS, ItemFilter
from apps.kvcollections.signals import collection_created
from apps.projects.models import Project

log = structlog.get_logger(__name__)

COLLECTIONS = Collection._meta.db_table

# One statement per batch: the size of the rows being replaced (seen before the write, same
# snapshot), the upsert itself, and the counter deltas. `xmax = 0` marks freshly inserted rows.
_UPSERT_SQL = f"""
WITH input(key, value) AS (SELECT * FROM unnest(%b::text[], %b::text[])),
previous AS (
    SELECT octet_length(i.key) + octet_length(i.value) AS bytes
    FROM {ITEMS} i JOIN input ON i.key = input.key WHERE i.collection_id = %s
),
written AS (
    INSERT INTO {ITEMS} (collection_id, key, value, created_at, updated_at)
    SELECT %s, key, value, statement_timestamp(), statement_timestamp() FROM input
    ON CONFLICT (collection_id, key)
    DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
    RETURNING octet_length(key) + octet_length(value) AS bytes,
              octet_length(value) AS value_bytes, (xmax = 0) AS inserted
)
UPDATE {COLLECTIONS} SET
    byte_size = byte_size + (SELECT coalesce(sum(bytes), 0) FROM written)
                          - (SELECT coalesce(sum(bytes), 0) FROM previous),
    item_count = item_count + (SELECT count(*) FROM written WHERE inserted),
    max_value_bytes = greatest(
        max_value_bytes, (SELECT coalesce(max(value_bytes), 0) FROM written)
    ),
    updated_at = statement_timestamp()
WHERE id = %s
RETURNING (SELECT count(*) FROM written)
"""  # noqa: S608 - table names from model metadata; every value is a bound parameter
# %b: the arrays travel in binary; text format would escape every quoted JSON value in Python
# (8.8 ms per 1,000 values, measured by bench/collections_bulk.py) while the row lock is held.

# statement_timestamp(), not now(): one instant per statement (the whole batch), and a fresh
# one for the next statement even inside a longer transaction.
_DELETE_SQL = """
WITH removed AS (
    DELETE FROM {items} WHERE collection_id = %s{conditions}
    RETURNING octet_length(key) + octet_length(value) AS bytes
)
UPDATE {collections} SET
    byte_size = byte_size - (SELECT coalesce(sum(bytes), 0) FROM removed),
    item_count = item_count - (SELECT count(*) FROM removed),
    updated_at = CASE WHEN EXISTS (SELECT 1 FROM removed)
                      THEN statement_timestamp() ELSE updated_at END
WHERE id = %s
RETURNING (SELECT count(*) FROM removed)
"""


@transaction.atomic
def create_collection(*, project: Project, name: str) -> Collection:
    """:raises ValidationFailed: name not URL-safe  :raises CollectionExists:"""
    collection = Collection(project=project, name=name)
    validate_model(collection)
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError:
        raise CollectionExists() from None
    log.info(
        "collection.created",
        collection_id=str(collection.pk),
        project_id=str(project.pk),
        name=name,
    )
    collection_created.send(sender=Collection, collection=collection)
    return collection


_NAMESAKES_SQL = f"""
INSERT INTO {COLLECTIONS} (id, project_id, name, byte_size, item_count, max_value_bytes,
                           created_at, updated_at)
SELECT gen_random_uuid(), %s, name, 0, 0, 0, statement_timestamp(), statement_timestamp()
FROM unnest(%s::text[]) AS names(name)
ON CONFLICT (project_id, name) DO NOTHING
RETURNING name
"""  # noqa: S608 - table name from model metadata; values are parameters


def create_empty_collections(*, project_id: Any, names: list[str]) -> list[str]:
    """Create an empty collection for each name the project lacks; return the names created.
    One statement, safe when run twice at once: a name that exists (or appears meanwhile) is
    skipped, never an error. The names come from existing collections, so they are valid."""
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_NAMESAKES_SQL, [project_id, sorted(set(names))])
        created = sorted(row[0] for row in cursor.fetchall())
    if created:
        log.info("collection.namesakes_created", project_id=str(project_id), names=created)
    return created


@transaction.atomic
def rename_collection(*, collection: Collection, name: str) -> Collection:
    """:raises ValidationFailed: name not URL-safe  :raises CollectionExists:"""
    old_name = collection.name
    collection.name = name
    try:
        validate_model(collection)
        with transaction.atomic():
            collection.save(update_fields=["name"])
    except IntegrityError:
        collection.name = old_name
        raise CollectionExists() from None
    except ValidationFailed:
        collection.name = old_name
        raise
    log.info("collection.renamed", collection_id=str(collection.pk), old_name=old_name, name=name)
    return collection


@transaction.atomic
def delete_collection(*, collection: Collection) -> None:
    """Delete the collection and every item in it."""
    _lock_collection(collection, exclusive=True)
    log.info(
        "collection.deleted",
        collection_id=str(collection.pk),
        project_id=str(collection.project_id),
        items=collection.item_count,
        bytes=collection.byte_size,
    )
    collection.delete()


@transaction.atomic
def put_items(*, collection: Collection, items: list[tuple[str, str]]) -> int:
    """Insert or replace `items` (key, value) in one statement; all rows get the same timestamp.

    Keys and values must already be validated (see api/inputs.py).

    :raises DuplicateKey: the same key twice in `items`
    """
    keys = [key for key, _ in items]
    if len(set(keys)) != len(keys):
        raise DuplicateKey()
    if not items:
        return 0
    _lock_keys(collection, keys)
    values = [value for _, value in items]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_UPSERT_SQL, [keys, values, collection.pk, collection.pk, collection.pk])
            (upserted,) = cursor.fetchone()
    except DataError as exc:  # pragma: no cover - inputs are validated before this point
        if isinstance(exc.__cause__, CardinalityViolation):
            raise DuplicateKey() from None
        raise
    return int(upserted)


def put_item(*, collection: Collection, key: str, value: str) -> int:
    return put_items(collection=collection, items=[(key, value)])


@transaction.atomic
def delete_items(*, collection: Collection, item_filter: ItemFilter) -> int:
    """Delete every item matching `item_filter` (all items when it is empty); return the count."""
    _lock_collection(collection, exclusive=True)
    conditions, params = item_filter.sql()
    sql = _DELETE_SQL.format(items=ITEMS, collections=COLLECTIONS, conditions=conditions)
    with connection.cursor() as cursor:
        cursor.execute(sql, [collection.pk, *params, collection.pk])
        (deleted,) = cursor.fetchone()
    if deleted:
        log.info(
            "collection.items_deleted",
            collection_id=str(collection.pk),
            deleted=deleted,
            pattern=item_filter.key_pattern,
        )
    return int(deleted)


@transaction.atomic
def delete_item(*, collection: Collection, key: str) -> int:
    _lock_keys(collection, [key])
    sql = _DELETE_SQL.format(items=ITEMS, collections=COLLECTIONS, conditions=" AND key = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [collection.pk, key, collection.pk])
        (deleted,) = cursor.fetchone()
    return int(deleted)


def recount_collection_counters() -> list[dict[str, Any]]:
    """Recompute every collection's counters from its items; log and return each repaired drift.

    Each collection is recounted under its row lock in its own short transaction, so concurrent
    writers wait at most one recount and running this twice at once is harmless.
    """
    repaired = []
    for collection_id in Collection.objects.values_list("id", flat=True).order_by("id").iterator():
        drift = _recount(collection_id)
        if drift is not None:
            log.warning("collection.counter_drift_repaired", **drift)
            repaired.append(drift)
    log.info("collection.recount_finished", repaired=len(repaired))
    return repaired


_RECOUNT_SQL = f"""
SELECT coalesce(sum(octet_length(key) + octet_length(value)), 0), count(*),
       coalesce(max(octet_length(value)), 0)
FROM {ITEMS} WHERE collection_id = %s
"""  # noqa: S608 - table name from model metadata


@transaction.atomic
def _recount(collection_id: Any) -> dict[str, Any] | None:
    """Recount one collection; return its drift (None when the counters were right).

    `max_value_bytes` is brought down to the real maximum too: deletes never lower it, so a
    lower value after a recount is expected, not drift.
    """
    collection = Collection.objects.filter(pk=collection_id).first()
    if collection is None:
        return None  # deleted meanwhile
    _lock_collection(collection, exclusive=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT byte_size, item_count, max_value_bytes FROM {COLLECTIONS}"  # noqa: S608
            " WHERE id = %s",
            [collection_id],
        )
        stored = cursor.fetchone()
        if stored is None:
            return None  # deleted meanwhile
        cursor.execute(_RECOUNT_SQL, [collection_id])
        actual = cursor.fetchone()
        if tuple(stored) == tuple(actual):
            return None
        byte_size, item_count, max_value_bytes = actual
        cursor.execute(
            f"UPDATE {COLLECTIONS} SET byte_size = %s, item_count = %s, max_value_bytes = %s"  # noqa: S608
            " WHERE id = %s",
            [byte_size, item_count, max_value_bytes, collection_id],
        )
    if tuple(stored[:2]) == (byte_size, item_count):
        return None
    return {
        "collection_id": str(collection_id),
        "byte_size": [stored[0], byte_size],
        "item_count": [stored[1], item_count],
    }


# Collections lock in the two-int advisory key space (class, hash of the id); keys in the bigint
# space. PostgreSQL keeps the two spaces apart, so they never collide. A hash collision between
# two keys only makes their writers wait for each other.
_COLLECTION_LOCK_CLASS = 7301
_KEY_LOCKS_SQL = """
SELECT count(pg_advisory_xact_lock(h)) FROM (
    SELECT DISTINCT hashtextextended(%s || ':' || k, 0) AS h FROM unnest(%b::text[]) AS k ORDER BY h
) AS locks
"""


def _lock_collection(collection: Collection, *, exclusive: bool) -> None:
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(%s, hashtext(%s))", [_COLLECTION_LOCK_CLASS, str(collection.pk)]
        )


def _lock_keys(collection: Collection, keys: list[str]) -> None:
    """Share the collection lock, then hold each key exclusively; sorted, so no deadlocks."""
    _lock_collection(collection, exclusive=False)
    with connection.cursor() as cursor:
        cursor.execute(_KEY_LOCKS_SQL, [str(collection.pk), keys])
