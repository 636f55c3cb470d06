"""Service-level edge cases: counters, upserts, deletes, patterns, recount, concurrency."""

import pytest

from apps.kvcollections import services
from apps.kvcollections.exceptions import DuplicateKey
from apps.kvcollections.models import Collection, CollectionItem
from apps.kvcollections.queries import ItemFilter, iter_pages, pattern_to_like
from tests.concurrency import run_together
from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db


def size(key, value):
    return len(key.encode()) + len(value.encode())


def counters(collection):
    collection.refresh_from_db()
    return collection.byte_size, collection.item_count


def recount(collection):
    items = CollectionItem.objects.filter(collection=collection)
    return sum(size(i.key, i.value) for i in items), items.count()


def keys_matching(collection, pattern):
    pages = iter_pages(
        collection=collection,
        item_filter=ItemFilter(key_pattern=pattern),
        after_id=0,
        limit=10_000,
    )
    return [row[1] for rows, _ in pages for row in rows]


def test_put_inserts_then_replaces_and_keeps_counters_exact():
    collection = CollectionFactory()
    assert services.put_item(collection=collection, key="bär", value="ö" * 3) == 1
    assert counters(collection) == (size("bär", "ööö"), 1)
    first = CollectionItem.objects.get(collection=collection, key="bär")
    assert services.put_item(collection=collection, key="bär", value="x") == 1
    item = CollectionItem.objects.get(collection=collection, key="bär")
    assert (item.id, item.created_at, item.value) == (first.id, first.created_at, "x")
    assert item.updated_at > first.updated_at
    assert counters(collection) == (size("bär", "x"), 1)


def test_bulk_upsert_stamps_the_whole_batch_with_one_instant_and_counts_updates():
    collection = CollectionFactory()
    services.put_items(collection=collection, items=[(f"k{i}", "old") for i in range(3)])
    upserted = services.put_items(
        collection=collection, items=[(f"k{i}", "new!") for i in range(10)]
    )
    assert upserted == 10
    stamps = set(
        CollectionItem.objects.filter(collection=collection, key__in=["k5", "k9"]).values_list(
            "created_at", flat=True
        )
    )
    assert len(stamps) == 1
    assert (
        counters(collection)
        == recount(collection)
        == (sum(size(f"k{i}", "new!") for i in range(10)), 10)
    )


def test_a_duplicate_key_in_one_batch_writes_nothing():
    collection = CollectionFactory()
    with pytest.raises(DuplicateKey):
        services.put_items(collection=collection, items=[("a", "1"), ("a", "2")])
    assert counters(collection) == (0, 0)


def test_deletes_keep_counters_exact():
    collection = CollectionFactory()
    items = [("foo:123:bär1", "v"), ("foo:234:boo", "vv"), ("foo:345:bär2", "vvv"), ("other", "x")]
    services.put_items(collection=collection, items=items)
    assert services.delete_item(collection=collection, key="nope") == 0
    assert (
        services.delete_items(
            collection=collection, item_filter=ItemFilter(key_pattern="foo:*:bär*")
        )
        == 2
    )
    assert (
        counters(collection)
        == recount(collection)
        == (size("foo:234:boo", "vv") + size("other", "x"), 2)
    )
    assert services.delete_item(collection=collection, key="other") == 1
    assert services.delete_items(collection=collection, item_filter=ItemFilter()) == 1
    assert counters(collection) == (0, 0)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("foo:bar:*", ["foo:bar:baz", "foo:bar:baz:quux"]),
        ("foo:*:baz", ["foo:bar:baz"]),
        ("foo:bar:baz", ["foo:bar:baz"]),
        ("a%b", ["a%b"]),
        ("a_b", ["a_b"]),
        ("*%*", ["a%b"]),
        (r"star\*", ["star*"]),
        ("back\\\\slash", ["back\\slash"]),
        (
            "*",
            [
                "foo:bar:baz",
                "foo:bar:baz:quux",
                "a%b",
                "a_b",
                "aXb",
                "star*",
                "starry",
                "back\\slash",
                "' OR 1=1 --",
            ],
        ),
        ("' OR 1=1 --", ["' OR 1=1 --"]),
    ],
)
def test_patterns_treat_sql_metacharacters_literally(pattern, expected):
    collection = CollectionFactory()
    keys = [
        "foo:bar:baz",
        "foo:bar:baz:quux",
        "a%b",
        "a_b",
        "aXb",
        "star*",
        "starry",
        "back\\slash",
        "' OR 1=1 --",
    ]
    services.put_items(collection=collection, items=[(key, "v") for key in keys])
    assert keys_matching(collection, pattern) == expected


def test_pattern_translation_escapes_like_metacharacters():
    assert pattern_to_like("a%b_c*") == "a\\%b\\_c%"
    assert pattern_to_like("tail\\") == "tail\\\\"


def test_recount_repairs_and_reports_drift_only_where_there_is_some():
    good, bad = CollectionFactory(), CollectionFactory()
    for collection in (good, bad):
        services.put_items(collection=collection, items=[("k", "value")])
    Collection.objects.filter(pk=bad.pk).update(byte_size=999, item_count=7)
    repaired = services.recount_collection_counters()
    assert [entry["collection_id"] for entry in repaired] == [str(bad.pk)]
    assert repaired[0]["item_count"] == [7, 1]
    assert counters(bad) == counters(good) == (size("k", "value"), 1)
    assert services.recount_collection_counters() == []


def run_concurrently(*jobs):
    assert [kind for kind, _ in run_together(*jobs)] == ["ok"] * len(jobs)


@pytest.mark.django_db(transaction=True)
def test_counters_equal_a_recount_after_concurrent_upserts_and_deletes():
    collection = CollectionFactory()
    keys = [f"key-{i:03}" for i in range(200)]

    def upsert(value):
        return lambda: services.put_items(collection=collection, items=[(k, value) for k in keys])

    for _ in range(5):
        run_concurrently(
            upsert("a" * 10),
            upsert("bb" * 20),
            lambda: services.delete_items(
                collection=collection, item_filter=ItemFilter(key_pattern="key-1*")
            ),
            upsert("ccc"),
        )
        assert counters(collection) == recount(collection)


def test_max_value_bytes_tracks_the_largest_value_and_the_recount_lowers_it():
    collection = CollectionFactory()
    services.put_items(collection=collection, items=[("small", "ab"), ("big", "é" * 10)])
    collection.refresh_from_db()
    assert collection.max_value_bytes == 20
    services.delete_item(collection=collection, key="big")
    collection.refresh_from_db()
    assert collection.max_value_bytes == 20  # deletes never lower it
    assert services.recount_collection_counters() == []  # not drift
    collection.refresh_from_db()
    assert collection.max_value_bytes == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_batches_racing_on_new_and_existing_keys_keep_counters_exact():
    collection = CollectionFactory()
    keys = [f"k{i:03}" for i in range(300)]

    def upsert(order, value):
        return lambda: services.put_items(collection=collection, items=[(k, value) for k in order])

    for round_number in range(5):
        fresh = [f"new-{round_number}-{i}" for i in range(100)]
        run_concurrently(
            upsert(keys + fresh, "a" * (round_number + 1)),
            upsert(list(reversed(fresh + keys)), "bb"),
            upsert(fresh[::2] + keys[::3], "ccc" * 5),
            lambda: services.delete_item(collection=collection, key="k000"),
        )
        assert counters(collection) == recount(collection)
