"""The item queries walk one collection's part of an index, whatever else the table holds.

A skewed table (issue 15): a huge collection loaded before everything else, then a second large
collection interleaved with many small ones. Each query the code runs is EXPLAINed as the
prepared statement the application sends (settings.py: server_side_binding), under a forced
custom and a forced generic plan: the page must be a scan of `kvcollections_item_cursor` with
no sort and no row filtered out; deletes must stay within the collection's index range.
"""

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from apps.kvcollections.models import Collection, CollectionItem
from apps.kvcollections.queries import ITEMS, ItemFilter, page_query
from apps.kvcollections.services import create_empty_collections
from tests.factories import CollectionFactory
from tests.query_plans import describe, nodes, plans_of, rows_read, scans

pytestmark = pytest.mark.django_db

HUGE_ITEMS = 30_000  # loaded first
LARGE_ITEMS = 60_500  # interleaved with the small ones, one item in three
# More small collections than the planner's list of most common values holds (100), so their
# sizes are estimated, not known; each holds two pages.
SMALL_COLLECTIONS = 110
SMALL_ITEMS = 1_100
PAGE = 1001  # what iter_pages asks for: a page of 1,000 and one more to see if more follow
CURSOR_INDEX = "kvcollections_item_cursor"
PRIMARY_KEY = "kvcollections_collectionitem_pkey"
# Rows a custom plan may read for a page: the page and the few rows of other collections after
# it at the table's end, which the planner reads in id order and sorts when it knows (the id
# bound is estimated from the primary key's real end) that they are cheaper than ~PAGE random
# reads through the cursor index; it did so for tails of up to four pages. The statement used
# before issue 15 read the whole rest of the table after the huge collection's last page.
READ_BOUND = 5 * PAGE


@pytest.fixture
def skewed() -> dict[str, Any]:
    huge = CollectionFactory()
    large = CollectionFactory(project=huge.project)
    names = [f"small-{index:03d}" for index in range(SMALL_COLLECTIONS)]
    create_empty_collections(project_id=huge.project.pk, names=names)
    smalls = list(Collection.objects.filter(project=huge.project, name__in=names).order_by("name"))
    small_ids = [str(small.pk) for small in smalls]
    insert = (
        f"INSERT INTO {ITEMS} (collection_id, key, value, created_at, updated_at) "  # noqa: S608
        "SELECT c, 'key-' || lpad(n::text, 6, '0'), repeat('v', 40), now(), now() FROM ({rows}) r"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            insert.format(rows="SELECT %s::uuid AS c, g AS n FROM generate_series(1, %s) g"),
            [huge.pk, HUGE_ITEMS],
        )
        # Slot 0 of every three rows is the large collection's next item, slots 1-2 the small
        # collections' next items in turn.
        interleaved = (
            "SELECT CASE WHEN mod(g, 3) = 0 THEN %s::uuid"
            " ELSE (%s::uuid[])[mod(g / 3 * 2 + mod(g, 3) - 1, %s) + 1] END AS c,"
            " CASE WHEN mod(g, 3) = 0 THEN g / 3 + 1"
            " ELSE (g / 3 * 2 + mod(g, 3) - 1) / %s + 1 END AS n"
            " FROM generate_series(0, %s) g ORDER BY g"
        )
        cursor.execute(
            insert.format(rows=interleaved),
            [large.pk, small_ids, SMALL_COLLECTIONS, SMALL_COLLECTIONS, LARGE_ITEMS * 3 - 1],
        )
        cursor.execute(f"ANALYZE {ITEMS}")
    counts = dict(
        CollectionItem.objects.filter(collection__in=[huge, large, smalls[0]])
        .values_list("collection")
        .annotate(n=Count("id"))
    )
    assert counts == {huge.pk: HUGE_ITEMS, large.pk: LARGE_ITEMS, smalls[0].pk: SMALL_ITEMS}
    return {"huge": huge, "large": large, "small": smalls[SMALL_COLLECTIONS // 2]}


def _nth_id(collection: Any, position: int) -> int:
    if position == 0:
        return 0
    ids = CollectionItem.objects.filter(collection=collection).order_by("id")
    return int(ids.values_list("id", flat=True)[position - 1])


def _walks_the_cursor_index_only(plan: dict[str, Any]) -> bool:
    found = scans(plan)
    return (
        [(scan["Node Type"], scan.get("Index Name")) for scan in found]
        == [("Index Scan", CURSOR_INDEX)]
        and found[0].get("Rows Removed by Filter", 0) == 0
        and not any("Sort" in node["Node Type"] for node in nodes(plan))
    )


def _reads_a_bounded_tail(plan: dict[str, Any]) -> bool:
    return rows_read(plan) <= READ_BOUND and all(
        scan.get("Index Name") in (CURSOR_INDEX, PRIMARY_KEY) for scan in scans(plan)
    )


def _plan_failures(case: str, plans: dict[str, dict[str, Any]]) -> list[tuple[str, Any]]:
    generic, custom = plans["force_generic_plan"], plans["force_custom_plan"]
    failures = []
    if not _walks_the_cursor_index_only(generic):
        failures.append((f"{case} generic", generic))
    if not (_walks_the_cursor_index_only(custom) or _reads_a_bounded_tail(custom)):
        failures.append((f"{case} custom", custom))
    return failures


def test_every_page_walks_the_cursor_index(skewed):
    """First, middle and last pages of the huge, the large and a small collection, plain and
    with the byte budget. The generic plan (what a long-lived connection ends up running) is
    always a scan of the cursor index alone, without a sort or a row filtered out. A custom
    plan may instead read the primary key after the cursor and sort, but only where the
    planner knows (the id bound is estimated from the index's real end) that few rows follow:
    it reads at most READ_BOUND rows."""
    failures = []
    sizes = {"huge": HUGE_ITEMS, "large": LARGE_ITEMS, "small": SMALL_ITEMS}
    for name, size in sizes.items():
        collection = skewed[name]
        for where, position in (("first", 0), ("middle", size // 2), ("last", size - PAGE + 1)):
            for budgeted in (False, True):
                # A large largest value makes page_query choose the byte-budget form.
                collection.max_value_bytes = 10**6 if budgeted else 40
                query = page_query(
                    collection=collection,
                    item_filter=ItemFilter(),
                    after_id=_nth_id(collection, position),
                    limit=PAGE,
                )
                assert query.budgeted is budgeted
                plans = plans_of(query.sql, query.args)
                failures += _plan_failures(f"{name} {where} budget={budgeted}", plans)
    assert not failures, "\n".join(
        ["failing pages:", *(case for case, _ in failures), describe(failures[0][1])]
    )


def test_pages_behind_a_neighbour_walk_the_cursor_index_when_the_table_has_two_collections():
    """The case measured in issue 15: a neighbour's items loaded first, then a second
    collection. With two collections the planner takes either one for half the table, which
    made the generic plan of the old statement walk the primary key through the neighbour.
    Same rules as above."""
    neighbour = CollectionFactory()
    second = CollectionFactory(project=neighbour.project)
    insert = (
        f"INSERT INTO {ITEMS} (collection_id, key, value, created_at, updated_at) "  # noqa: S608
        "SELECT %s, 'key-' || g, 'v', now(), now() FROM generate_series(1, %s) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, [neighbour.pk, HUGE_ITEMS])
        cursor.execute(insert, [second.pk, 3 * PAGE])
        cursor.execute(f"ANALYZE {ITEMS}")
    failures = []
    for collection, size in ((neighbour, HUGE_ITEMS), (second, 3 * PAGE)):
        for where, position in (("first", 0), ("middle", size // 2), ("last", size - PAGE + 1)):
            query = page_query(
                collection=collection,
                item_filter=ItemFilter(),
                after_id=_nth_id(collection, position),
                limit=PAGE,
            )
            plans = plans_of(query.sql, query.args)
            failures += _plan_failures(f"{collection.name} {where}", plans)
    assert not failures, "\n".join(
        ["failing pages:", *(case for case, _ in failures), describe(failures[0][1])]
    )
