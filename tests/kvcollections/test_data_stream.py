"""Streaming GET /collections/{name}: pages, cursors, limits, filters, patterns."""

import base64
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.kvcollections import services
from apps.kvcollections.models import CollectionItem
from apps.projects.models import ProjectRole
from tests.factories import CollectionFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(alice):
    return CollectionFactory(project=make_project({alice: ProjectRole.EDITOR}), name="books")


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def put_items(collection, count, prefix="key-"):
    services.put_items(
        collection=collection, items=[(f"{prefix}{i:05}", "v") for i in range(count)]
    )


def cursor_of(item_id):
    return base64.b64encode(str(item_id).encode()).decode()


def page(client, **params):
    response = client.get("/collections/books", params)
    assert response.status_code == 200, response.content
    assert response.streaming
    assert "Content-Length" not in response  # chunked
    return json.loads(b"".join(response.streaming_content))


def ids(collection):
    return list(
        CollectionItem.objects.filter(collection=collection)
        .order_by("id")
        .values_list("id", flat=True)
    )


def test_an_empty_collection_streams_no_items_and_no_cursor(client, books):
    assert page(client) == {"items": [], "cursor": None}


def test_the_default_limit_returns_everything_up_to_it_with_no_cursor(client, books, settings):
    settings.COLLECTIONS_DEFAULT_LIMIT = 30
    put_items(books, 30)
    body = page(client)
    assert (len(body["items"]), body["cursor"]) == (30, None)


def test_one_item_past_the_default_limit_gives_a_cursor_to_the_last_returned(
    client, books, settings
):
    settings.COLLECTIONS_DEFAULT_LIMIT = 30
    put_items(books, 31)
    body = page(client)
    assert len(body["items"]) == 30
    assert body["cursor"] == cursor_of(ids(books)[29])


def test_limits_larger_than_a_database_page_span_several_pages(client, books, settings):
    settings.COLLECTIONS_PAGE_SIZE = 7
    put_items(books, 41)
    body = page(client, limit=40)
    assert [item["key"] for item in body["items"]] == [f"key-{i:05}" for i in range(40)]
    assert body["cursor"] == cursor_of(ids(books)[39])
    assert page(client, limit=41)["cursor"] is None


def test_cursors_page_through_everything_once(client, books, settings):
    settings.COLLECTIONS_PAGE_SIZE = 16
    put_items(books, 201)
    first = page(client, limit=100)
    second = page(client, limit=100, cursor=first["cursor"])
    third = page(client, limit=100, cursor=second["cursor"])
    assert second["cursor"] == cursor_of(ids(books)[199])
    assert [len(first["items"]), len(second["items"]), len(third["items"])] == [100, 100, 1]
    assert third["cursor"] is None
    seen = [item["key"] for body in (first, second, third) for item in body["items"]]
    assert seen == [f"key-{i:05}" for i in range(201)]


def test_exactly_the_limit_left_after_a_cursor_ends_with_a_null_cursor(client, books):
    put_items(books, 20)
    first = page(client, limit=10)
    assert page(client, limit=10, cursor=first["cursor"])["cursor"] is None


def test_updates_keep_an_items_place(client, books):
    put_items(books, 3)
    services.put_item(collection=books, key="key-00000", value="changed")
    assert [item["key"] for item in page(client)["items"]] == [
        "key-00000",
        "key-00001",
        "key-00002",
    ]


@pytest.mark.parametrize(
    ("limit", "ok"),
    [
        ("1", True),
        ("10000", True),
        ("0", False),
        ("-1", False),
        ("abc", False),
        ("10001", False),
        ("1000000000", False),
        ("1.5", False),
        (" 5", False),
        ("", False),
    ],
)
def test_limit_bounds(client, books, limit, ok):
    response = client.get("/collections/books", {"limit": limit})
    assert response.status_code == (200 if ok else 400)
    if not ok:
        assert response.json()["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        "bm90IGEgbnVtYmVy",
        base64.b64encode(b"-1").decode(),
        base64.b64encode(b"1e5").decode(),
        "MQ",
        "%00",
    ],
)
def test_bad_cursors_are_400(client, books, cursor):
    response = client.get("/collections/books", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"


def test_a_cursor_past_every_id_is_an_empty_page(client, books):
    put_items(books, 3)
    assert page(client, cursor=cursor_of(10**30)) == {"items": [], "cursor": None}


def test_a_cursor_from_another_collection_never_shows_its_items(client, books, alice):
    other = CollectionFactory(project=books.project, name="other")
    services.put_items(collection=other, items=[("theirs", "x")])
    put_items(books, 2)
    body = page(client, cursor=cursor_of(ids(other)[0] - 1))
    assert [item["key"] for item in body["items"]] == ["key-00000", "key-00001"]


@pytest.mark.parametrize(
    "query",
    [
        "bogus=1",
        "limit=5&limit=6",
        "key=",
        "key=" + "k" * 513,
        "created_after=yesterday",
        "updated_before=2026-13-01",
        "key=%00",
    ],
)
def test_bad_or_unknown_parameters_are_400_before_anything_streams(client, books, query):
    response = client.get(f"/collections/books?{query}")
    assert response.status_code == 400
    assert not response.streaming


def test_a_pattern_at_the_length_limit_is_accepted(client, books):
    assert client.get("/collections/books", {"key": "k" * 512}).status_code == 200


def test_key_patterns_match_whole_keys(client, books):
    services.put_items(
        collection=books, items=[("foo:bar:baz", "1"), ("foo:bar:baz:quux", "2"), ("zzz", "3")]
    )
    assert [i["key"] for i in page(client, key="foo:bar:*")["items"]] == [
        "foo:bar:baz",
        "foo:bar:baz:quux",
    ]
    assert [i["key"] for i in page(client, key="foo:*:baz")["items"]] == ["foo:bar:baz"]
    assert [i["key"] for i in page(client, key="*")["items"]] == [
        "foo:bar:baz",
        "foo:bar:baz:quux",
        "zzz",
    ]


def test_patterns_escape_like_metacharacters_and_allow_a_literal_star(client, books):
    services.put_items(
        collection=books,
        items=[
            ("a_b", "1"),
            ("aXb", "2"),
            ("100%", "3"),
            ("1000", "4"),
            ("x*y", "5"),
            ("xzy", "6"),
        ],
    )
    assert [i["key"] for i in page(client, key="a_b")["items"]] == ["a_b"]
    assert [i["key"] for i in page(client, key="100%")["items"]] == ["100%"]
    assert [i["key"] for i in page(client, key="x\\*y")["items"]] == ["x*y"]


def test_creation_and_update_filters_bound_inclusively_and_exclusively(client, books):
    put_items(books, 2, prefix="old-")
    old = timezone.now() - timedelta(days=3)
    CollectionItem.objects.filter(collection=books).update(created_at=old, updated_at=old)
    put_items(books, 2, prefix="new-")
    newest = CollectionItem.objects.filter(collection=books, key="new-00000").get()
    at = newest.created_at.isoformat()
    assert [i["key"] for i in page(client, created_after=at)["items"]] == ["new-00000", "new-00001"]
    assert page(client, created_before=at)["items"][0]["key"] == "old-00000"
    assert len(page(client, created_before=at)["items"]) == 2
    two_days_ago = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert len(page(client, updated_after=two_days_ago)["items"]) == 2
    assert len(page(client, updated_before=two_days_ago, key="old-*")["items"]) == 2
    assert page(client, created_after=at, key="old-*")["items"] == []


def test_a_date_without_time_means_midnight_utc(client, books):
    put_items(books, 1)
    CollectionItem.objects.filter(collection=books).update(created_at="2026-01-31T00:00:00Z")
    items = page(client, created_after="2026-01-31")["items"]
    assert [item["created"] for item in items] == ["2026-01-31T00:00:00.000000Z"]  # always 6 digits
    assert page(client, created_before="2026-01-31")["items"] == []


@pytest.mark.django_db(transaction=True)
def test_paging_while_others_insert_never_loses_or_repeats_committed_items(alice, api_client_for):
    books = CollectionFactory(project=make_project({alice: ProjectRole.OWNER}), name="books")
    put_items(books, 600, prefix="before-")
    client = api_client_for(alice)
    stop = threading.Event()

    def insert_more():
        batch = 0
        while not stop.is_set():
            services.put_items(
                collection=books, items=[(f"during-{batch:04}-{i}", "v") for i in range(20)]
            )
            batch += 1
        connection.close()

    writer = threading.Thread(target=insert_more)
    writer.start()
    try:
        seen, cursor = [], None
        while True:
            params = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            body = page(client, **params)
            seen += [item["key"] for item in body["items"]]
            cursor = body["cursor"]
            if cursor is None or all(not key.startswith("before-") for key in seen[-50:]):
                break
    finally:
        stop.set()
        writer.join()
    before = [key for key in seen if key.startswith("before-")]
    assert before == [f"before-{i:05}" for i in range(600)]
    assert len(seen) == len(set(seen))


def test_an_unanchored_pattern_that_runs_too_long_is_400_not_a_hang(client, books, settings):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO kvcollections_collectionitem"
            " (collection_id, key, value, created_at, updated_at)"
            " SELECT %s, 'key-' || n, repeat('v', 100), now(), now()"
            " FROM generate_series(1, 50000) n",
            [books.pk],
        )
    settings.COLLECTIONS_PATTERN_TIMEOUT_MS = 1
    response = client.get("/collections/books", {"key": "*nothing-matches*"})
    assert response.status_code == 400
    assert response.json()["code"] == "PATTERN_TOO_SLOW"
    settings.COLLECTIONS_PATTERN_TIMEOUT_MS = 5000
    assert page(client, key="key-4999*")["items"][0]["key"] == "key-4999"


def test_a_gzip_body_is_not_inflated_and_is_a_parse_error(client, books):
    import gzip

    body = gzip.compress(b'{"items": [{"key": "k", "value": "v"}]}')
    response = client.generic(
        "POST",
        "/collections/books",
        body,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "PARSE_ERROR"


def test_large_values_make_shorter_database_pages_without_losing_items(client, books, settings):
    settings.COLLECTIONS_PAGE_MAX_BYTES = 25  # about two 10-byte values per database page
    services.put_items(collection=books, items=[(f"k{i:02}", "x" * 10) for i in range(12)])
    body = page(client, limit=10)
    assert [item["key"] for item in body["items"]] == [f"k{i:02}" for i in range(10)]
    assert body["cursor"] == cursor_of(ids(books)[9])
    rest = page(client, limit=10, cursor=body["cursor"])
    assert ([item["key"] for item in rest["items"]], rest["cursor"]) == (["k10", "k11"], None)


def test_a_single_value_larger_than_the_page_budget_still_streams(client, books, settings):
    settings.COLLECTIONS_PAGE_MAX_BYTES = 5
    services.put_items(collection=books, items=[("big", "y" * 100), ("next", "z")])
    assert [item["key"] for item in page(client)["items"]] == ["big", "next"]
