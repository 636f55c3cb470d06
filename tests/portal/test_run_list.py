"""My runs (/runs/): the user's own runs, newest first, filters, keyset pages that neither lose
nor repeat a run while new ones arrive, and bad query strings answered without a 5xx."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.portal.views import runs as run_views
from apps.runs.models import RunContext, RunStatus
from apps.runs.queries import Cursor
from tests.clients import client_for
from tests.factories import UserFactory
from tests.portal.helpers import bulk_runs, published_titled

pytestmark = pytest.mark.django_db

URL = "/runs/"
T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def ids_on(response):
    return re.findall(r'<tr data-run-id="([0-9a-f-]{36})"', response.content.decode())


def link(response, rel):
    match = re.search(rf'href="([^"]+)" rel="{rel}"', response.content.decode())
    return match[1].replace("&amp;", "&") if match else None


@pytest.fixture
def tool(alice):
    return published_titled(alice, "Grade book")


def test_my_runs_needs_a_signed_in_user(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_without_runs_the_page_says_where_to_find_a_tool(charlie):
    response = client_for(charlie).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You have not run any tool yet — find one in the catalog at" in html
    assert 'href="/tools/"' in html


def test_my_runs_lists_only_my_production_runs_newest_first(alice, bob, tool):
    mine = bulk_runs(tool, alice, [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=1)])
    bulk_runs(tool, bob, [T0 + timedelta(minutes=2)])
    bulk_runs(tool, alice, [T0 + timedelta(minutes=3)], context=RunContext.SANDBOX)
    response = client_for(alice).get(URL)
    assert response.status_code == 200
    assert ids_on(response) == [str(mine[1].pk), str(mine[2].pk), str(mine[0].pk)]
    html = response.content.decode()
    assert "Grade book" in html and "2.0 s" in html
    assert f'href="/runs/{mine[1].pk}"' in html
    assert link(response, "next") is None and link(response, "prev") is None


def test_sandbox_previews_appear_only_when_asked_for(alice, tool):
    bulk_runs(tool, alice, [T0])
    preview = bulk_runs(tool, alice, [T0], context=RunContext.SANDBOX)[0]
    response = client_for(alice).get(URL, {"context": "sandbox"})
    assert ids_on(response) == [str(preview.pk)]


def test_filters_by_tool_status_and_dates(alice):
    one = published_titled(alice, "One")
    two = published_titled(alice, "Two")
    day = timedelta(days=1)
    a = bulk_runs(one, alice, [T0 - day, T0, T0 + day])
    b = bulk_runs(two, alice, [T0], status=RunStatus.FAILED)
    c = bulk_runs(two, alice, [T0 + 2 * day], status=RunStatus.QUEUED)
    client = client_for(alice)

    def shown(**query):
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        return set(ids_on(response))

    assert shown(tool=str(one.pk)) == {str(r.pk) for r in a}
    assert shown(status="failed") == {str(b[0].pk)}
    assert shown(status="queued", tool=str(two.pk)) == {str(c[0].pk)}
    # Both dates are whole UTC days, the end one included.
    assert shown(requested_from="2026-05-04", requested_to="2026-05-05") == {
        str(a[1].pk), str(a[2].pk), str(b[0].pk)
    }  # fmt: skip
    assert shown(requested_to="2026-05-03") == {str(a[0].pk)}
    assert shown(requested_from="2026-05-06") == {str(c[0].pk)}
    assert shown(requested_to="9999-12-31") == {str(r.pk) for r in [*a, *b, *c]}
    options = client.get(URL).content.decode()
    assert f'<option value="{one.pk}">One</option>' in options


def test_no_run_matches_says_so(alice, tool):
    bulk_runs(tool, alice, [T0])
    response = client_for(alice).get(URL, {"status": "timed_out"})
    assert response.status_code == 200
    assert "No runs match these filters." in response.content.decode()


def walk(client, query=None):
    """Every page from the first by the "Older runs" links: (ids per page, responses)."""
    pages, url = [], URL + (("?" + query) if query else "")
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(ids_on(response))
        url = link(response, "next")
    return pages


def test_keyset_pages_cover_every_run_once_even_with_equal_times(alice, tool, monkeypatch):
    monkeypatch.setattr(run_views, "PAGE_SIZE", 3)
    # Ten runs at four instants: the id decides the order among runs of one instant.
    times = [T0 + timedelta(seconds=n // 3) for n in range(10)]
    runs = bulk_runs(tool, alice, times)
    pages = walk(client_for(alice))
    assert [len(page) for page in pages] == [3, 3, 3, 1]
    flat = [run_id for page in pages for run_id in page]
    expected = sorted(runs, key=lambda r: (r.requested_at, r.pk), reverse=True)
    assert flat == [str(r.pk) for r in expected]


def test_runs_added_while_paging_neither_shift_nor_repeat_a_page(alice, tool, monkeypatch):
    monkeypatch.setattr(run_views, "PAGE_SIZE", 4)
    runs = bulk_runs(tool, alice, [T0 + timedelta(seconds=n) for n in range(10)])
    client = client_for(alice)
    seen, url, added = [], URL, []
    while url:
        response = client.get(url)
        seen += ids_on(response)
        # New runs arrive between two page loads (newer than everything seen).
        added += bulk_runs(tool, alice, [T0 + timedelta(hours=1, seconds=len(added))])
        url = link(response, "next")
    assert len(seen) == len(set(seen)) == 10
    assert set(seen) == {str(r.pk) for r in runs}
    assert ids_on(client.get(URL))[:1] == [str(added[-1].pk)]


def test_previous_links_walk_back_to_the_first_page(alice, tool, monkeypatch):
    monkeypatch.setattr(run_views, "PAGE_SIZE", 3)
    bulk_runs(tool, alice, [T0 + timedelta(seconds=n) for n in range(8)])
    client = client_for(alice)
    first = client.get(URL)
    second = client.get(link(first, "next"))
    third = client.get(link(second, "next"))
    assert len(ids_on(third)) == 2 and link(third, "next") is None
    back = client.get(link(third, "prev"))
    assert ids_on(back) == ids_on(second)
    # Fewer than a page left before the cursor: the first page, without a link further back.
    assert ids_on(client.get(link(back, "prev"))) == ids_on(first)
    assert link(first, "prev") is None


def test_page_links_keep_the_filters(alice, tool, monkeypatch):
    monkeypatch.setattr(run_views, "PAGE_SIZE", 2)
    bulk_runs(tool, alice, [T0 + timedelta(seconds=n) for n in range(5)], status=RunStatus.FAILED)
    bulk_runs(tool, alice, [T0 + timedelta(seconds=n) for n in range(5)])
    client = client_for(alice)
    pages = walk(client, "status=failed")
    assert sum(len(page) for page in pages) == 5
    response = client.get(URL, {"status": "failed"})
    query = parse_qs(urlsplit(link(response, "next")).query)
    assert query["status"] == ["failed"] and "after" in query


def test_a_page_costs_the_same_queries_at_any_depth(alice, tool, monkeypatch):
    monkeypatch.setattr(run_views, "PAGE_SIZE", 5)
    bulk_runs(tool, alice, [T0 + timedelta(seconds=n) for n in range(30)])
    client = client_for(alice)
    counts = []
    url = URL
    while url:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        counts.append(len(queries))
        url = link(response, "next")
    assert len(set(counts)) == 1, counts
    page_sql = [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"]]
    assert any('("runs_toolrun"."requested_at", "runs_toolrun"."id") <' in sql for sql in page_sql)
    assert not any("OFFSET" in sql for sql in page_sql)


BAD_QUERIES = [
    {"after": "not-a-cursor"},
    {"after": "x" * 10_000},
    {"before": "%%%"},
    {"after": Cursor(T0, uuid.uuid4()).encode(), "before": Cursor(T0, uuid.uuid4()).encode()},
    {"after": "MjAyNi0wNS0wNFQxMjowMDowMHxub3QtYS11dWlk"},  # "2026-05-04T12:00:00|not-a-uuid"
    {"after": "MjAyNi0wNS0wNFQxMjowMDowMHwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"},
    {"status": "exploded"},
    {"status": "fail\x00ed"},
    {"context": "everything"},
    {"tool": "not-a-uuid"},
    {"tool": str(uuid.uuid4())},
    {"tool": "\x00"},
    {"requested_from": "yesterday"},
    {"requested_from": "2026-02-30"},
    {"requested_from": "2026-05-04\x00"},
    {"requested_to": "9" * 10_000},
    {"requested_from": "2026-05-05", "requested_to": "2026-05-04"},
    {"after": "\x00" * 100},
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=range(len(BAD_QUERIES)))
def test_bad_query_strings_are_a_400_with_a_message(alice, tool, query):
    bulk_runs(tool, alice, [T0])
    response = client_for(alice).get(URL, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "No runs shown" in html
    assert ids_on(response) == []


def test_a_cursor_past_the_end_is_an_empty_page_not_an_error(alice, tool):
    bulk_runs(tool, alice, [T0])
    cursor = Cursor(T0 - timedelta(days=3650), uuid.uuid4()).encode()
    response = client_for(alice).get(URL, {"after": cursor})
    assert response.status_code == 200
    assert ids_on(response) == []
    assert "No runs match these filters." in response.content.decode()


def test_other_users_runs_never_show_even_through_a_tool_filter(alice, bob, tool):
    bulk_runs(tool, bob, [T0])
    response = client_for(UserFactory()).get(URL, {"tool": str(tool.pk)})
    assert response.status_code == 400  # not a tool of theirs: not a choice
    assert ids_on(client_for(alice).get(URL)) == []
