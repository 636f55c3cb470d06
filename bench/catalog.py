"""Benchmark `catalog`: server time of the tool catalog with 1,000 published tools.

Cases, all GETs with the bench user's session cookie (global role `user`, a viewer of the 20
projects that hold the tools; bench/catalog_data.py):
- `catalog`: `/tools/` as the user lands on it (favorites, recently used, page 1 of 34);
- `catalog_search`: `/tools/?q=betyg`, what someone types to find a tool: 49 matches by title,
  summary or usage instructions (inside compounds such as "Betygsunderlag");
- `catalog_search_broad`: `/tools/?q=närvaro`, a word in 805 tools' instructions (reported);
- `bare_page`: `/bench/bare-page`, `base.html` rendered for the signed-in user by a view that
  reads nothing else: the floor of any signed-in page (session, user, template).

One client sends them alternately, one at a time, each on a new connection, to one sync worker
(so every request meets the same warmed process and database connection); the time is from
sending the request to the last byte of the body. Each figure is a ratio to the bare page,
measured in the same run. Beside it, the raw reference: the page's own list SQL (the ids of
every match, then the rows of page 1, exactly as Django sends them) run through psycopg, and
the search's EXPLAIN ANALYZE, which names the trigram indexes it uses.

Targets: catalog and catalog_search each at most 8 times the bare page. The bare page does no
work at all; the catalog runs 7 more queries and renders up to 40 cards (favorites, recently
used, a page of 30), and should not cost more than a handful of such pages.
"""

import statistics
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from bench import harness

NAME = "catalog"
TARGETS = {"catalog": 8.0, "catalog_search": 8.0}
MIN_REQUESTS = 60
WARMUP_REQUESTS = 10
TRIGRAM_INDEXES = ("tools_title_trgm", "tools_summary_trgm", "tools_active_instructions_trgm")


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    expect: str  # a text the answer must hold


def verify(server: harness.Server, page: Page, headers: dict[str, str]) -> None:
    status, body = harness.http_get(server.url(page.path), headers)
    if status != 200 or page.expect not in body.decode():
        raise harness.BenchError(
            f"{page.name} {page.path} answered {status} without {page.expect!r}; see "
            f"{server.log_path}"
        )


def pages(fixture: Any) -> list[Page]:
    from bench import catalog_data

    def search(term: str) -> str:
        return f"/tools/?{urllib.parse.urlencode({'q': term})}"

    return [
        Page("bare_page", "/bench/bare-page", "Sign out"),
        Page("catalog", "/tools/", f"{fixture.tools} tools · page 1 of 34"),
        Page("catalog_search", search(catalog_data.SEARCH_TERM), "49 tools matching"),
        Page("catalog_search_broad", search(catalog_data.BROAD_TERM), "805 tools matching"),
    ]


def list_sql(user_id: int, words: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """The list SQL of the catalog view, compiled by Django as the view builds it: the ordered
    ids of every match, then the card rows of page 1."""
    from django.contrib.auth import get_user_model

    from apps.portal.views.catalog import PAGE_SIZE
    from apps.portal.views.catalog_cards import card_rows
    from apps.tools import access, queries
    from apps.tools.models import Tool

    user = get_user_model().objects.get(pk=user_id)
    tools = access.published_tools_visible_to(user)
    listed = queries.matching_all_words(tools, words) if words else tools.order_by("title", "pk")
    ids = listed.values_list("pk", flat=True)
    rows = card_rows(Tool.objects.all(), user).filter(pk__in=list(ids[:PAGE_SIZE]))
    return [_compiled(ids.query), _compiled(rows.query)]


def _compiled(query: Any) -> tuple[str, tuple[Any, ...]]:
    from django.db import connection

    sql, params = query.get_compiler(connection=connection).as_sql()
    return str(sql), tuple(params)


def raw_sql_ms(statements: list[tuple[str, tuple[Any, ...]]], repeats: int) -> float:
    """Median time of running the statements once each through psycopg (TCP, autocommit)."""
    from bench import collections_data

    timings = []
    with collections_data.raw_connect() as connection, connection.cursor() as cursor:
        for _ in range(repeats + WARMUP_REQUESTS):
            started = time.perf_counter()
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[WARMUP_REQUESTS:])


def explain(statements: list[tuple[str, tuple[Any, ...]]]) -> str:
    from bench import collections_data

    sql, params = statements[0]
    with collections_data.raw_connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def run(options: harness.BenchOptions) -> list[harness.BenchResult]:
    print(f"== {NAME}: /tools/ with and without a search, 1,000 tools, vs a bare signed-in page")
    harness.setup_django()
    from bench import catalog_data

    fixture = catalog_data.seed()
    sql = {
        "catalog": list_sql(fixture.user_id, []),
        "catalog_search": list_sql(fixture.user_id, [catalog_data.SEARCH_TERM]),
        "catalog_search_broad": list_sql(fixture.user_id, [catalog_data.BROAD_TERM]),
    }
    plan = explain(sql["catalog_search"])
    harness.close_db_connections()
    print_plan(plan)
    headers = fixture.cookie_header
    cases = pages(fixture)
    requests = max(MIN_REQUESTS, 20 * options.rounds)
    with harness.gunicorn_server(NAME, workers=1) as server:
        print(f"  gunicorn: 1 sync worker at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        for page in cases:
            verify(server, page, headers)
        print(f"  verified: {', '.join(f'{p.path} -> 200' for p in cases)}")
        print(f"  warm-up: {WARMUP_REQUESTS} requests each; then {requests} each, alternating")
        for _ in range(WARMUP_REQUESTS):
            for page in cases:
                harness.timed_get(server, page.path, headers)[0]
        timings: dict[str, list[float]] = {page.name: [] for page in cases}
        for _ in range(requests):
            for page in cases:
                timings[page.name].append(harness.timed_get(server, page.path, headers)[0])
    raw = {name: raw_sql_ms(statements, requests) for name, statements in sql.items()}
    return report(timings, raw, plan, server, options, fixture)


def print_plan(plan: str) -> None:
    used = [index for index in TRIGRAM_INDEXES if index in plan]
    print(f"  search plan (EXPLAIN ANALYZE of the ids query): trigram indexes: {', '.join(used)}")
    for line in plan.splitlines():
        print(f"    {line}")


def report(
    timings: dict[str, list[float]],
    raw: dict[str, float],
    plan: str,
    server: harness.Server,
    options: harness.BenchOptions,
    fixture: Any,
) -> list[harness.BenchResult]:
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print()
    print(f"  {'page':<21} {'median ms':>10} {'p90 ms':>8} {'list SQL ms':>12} {'page/SQL':>9}")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        sql_ms = raw.get(name)
        sql_text = f"{sql_ms:>12.2f} {medians[name] / sql_ms:>9.1f}" if sql_ms else f"{'':>22}"
        print(f"  {name:<21} {medians[name]:>10.2f} {p90:>8.2f} {sql_text}")
    results = []
    for name, target in TARGETS.items():
        ratio = medians[name] / medians["bare_page"]
        print(harness.ratio_line(name, "bare_page", ratio, target, higher=False))
        results.append(
            harness.write_custom_result(
                name,
                ratio=ratio,
                target=target,
                higher_is_better=False,
                cases={
                    case: {
                        "median_ms": medians[case],
                        "raw_list_sql_median_ms": raw.get(case),
                        "ms": timings[case],
                    }
                    for case in (
                        "bare_page",
                        name,
                        *(["catalog_search_broad"] if name == "catalog_search" else []),
                    )
                },
                order=list(timings) * len(timings["bare_page"]),
                config={
                    "rounds": options.rounds,
                    "requests_each": len(timings[name]),
                    "warmup_requests_each": WARMUP_REQUESTS,
                    "tools": fixture.tools,
                    "versions": fixture.versions,
                },
                server=server,
                notes={"search_plan": plan.splitlines()} if name == "catalog_search" else None,
            )
        )
    return results
