"""Benchmark `my_runs`: the My runs page (/runs/) at the first, a middle and the last page of a
user with 10,000 runs, through gunicorn, each beside the raw keyset SQL of the same page.

Data (made once, reused while it is intact): one bench user with 10,000 production runs over
~6 weeks, interleaved with 50,000 runs of five other users of the same tools (every sixth run is
the bench user's), all with a 1 KB stdout and a small UI payload, like real rows. The runs table
is ANALYZEd after the insert.

Each page is fetched by one client, one request at a time on a new connection, alternating
first/middle/last, signed in with a session cookie (the page is a template view); latency is
from sending the request to the last byte. The server runs one sync worker, so every request
meets the same warmed process. The raw reference is the page's keyset query (the same columns,
join and LIMIT) through psycopg, timed in the same run.

Printed: each page's median and its ratio to the raw query of that page. Target: the page time is
flat with depth, median(slowest of middle, last) / median(first) <= 1.5 (keyset pages seek the
`runs_mine_keyset` index; OFFSET would read all rows before the page).
"""

import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench import harness

NAME = "my_runs"
TARGET_RATIO = 1.5
RUNS = 10_000
OTHER_USERS = 5
PAGE_SIZE = 50  # apps.portal.views.runs.PAGE_SIZE
MIN_REQUESTS = 30
WARMUP_REQUESTS = 10
BENCH_EMAIL = "bench-my-runs@bench.skriptoteket.test"
OTHER_EMAIL = "bench-my-runs-other-{n}@bench.skriptoteket.test"
PROJECT_NAME = "Bench my runs"
TOOLS = ("Grade book", "Reading list", "Timetable", "Essay checker", "Attendance")
ROW_PATTERN = re.compile(rb'<tr data-run-id="([0-9a-f-]{36})"')

# One statement for all 60,000 rows: user k of 6 gets every sixth run, one minute apart.
_INSERT_SQL = """
INSERT INTO runs_toolrun (
    id, tool_id, version_id, context, requested_by_id, requester_role, status, requested_at,
    started_at, finished_at, session_context, settings_context, action_id, action_input,
    input_manifest, input_values, store_session_files, stdout, stderr, stdout_bytes,
    stderr_bytes, stdout_truncated, stderr_truncated, error_summary, artifacts_manifest,
    ui_payload
)
SELECT gen_random_uuid(), tool.id, tool.version_id, 'production', users.ids[1 + g %% 6], 'viewer',
       CASE WHEN g %% 17 = 0 THEN 'failed' ELSE 'succeeded' END,
       now() - make_interval(mins => %(total)s - g), now() - make_interval(mins => %(total)s - g)
       + interval '1 second', now() - make_interval(mins => %(total)s - g) + interval '3 seconds',
       'default', '', '', '{}', '{"files": []}', '{"name": "Ada"}', false, repeat('x', 1024), '',
       1024, 0, false, false, '', '{"artifacts": []}',
       '{"contract_version": 2, "outputs": [{"kind": "notice", "level": "info",
         "message": "done"}], "next_actions": []}'
FROM generate_series(1, %(total)s) AS g
CROSS JOIN (SELECT %(user_ids)s::bigint[] AS ids) AS users
JOIN (
    SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, draft_head_id AS version_id
    FROM tools_tool WHERE id = ANY(%(tool_ids)s::uuid[])
) AS tool ON tool.n = g %% %(tools)s
"""

# The page's query as the ORM sends it for the first page (no cursor) and after a cursor.
_RAW_SELECT = """
SELECT r.id, r.tool_id, t.title, r.context, r.status, r.action_id, r.requested_at, r.started_at,
       r.finished_at
FROM runs_toolrun r JOIN tools_tool t ON t.id = r.tool_id
WHERE r.requested_by_id = %s AND r.context = 'production'{after}
ORDER BY r.requested_at DESC, r.id DESC LIMIT {limit}
"""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    after: tuple[Any, Any] | None  # (requested_at, id) of the row before the page
    first_id: str


@dataclass(frozen=True)
class Fixture:
    user_id: int
    session_cookie: str
    pages: list[Page]


def seed() -> Fixture:
    """Create (once) the users, tools and runs; sign the bench user in; find the three pages."""
    from django.db import connection

    user = harness.bench_contributor(BENCH_EMAIL, "Bench My Runs")
    others = [
        harness.bench_contributor(OTHER_EMAIL.format(n=n), f"Bench Other {n}")
        for n in range(OTHER_USERS)
    ]
    project = harness.bench_project(user, PROJECT_NAME)
    tool_ids = [str(_tool(project, user, title).pk) for title in TOOLS]
    user_ids = [user.pk, *(other.pk for other in others)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM runs_toolrun WHERE requested_by_id = ANY(%s)", [user_ids]
        )
        (count,) = cursor.fetchone()
        if count != RUNS * (OTHER_USERS + 1):
            print(f"  seeding {RUNS} runs for the bench user and {RUNS * OTHER_USERS} around them")
            started = time.perf_counter()
            cursor.execute("DELETE FROM runs_toolrun WHERE requested_by_id = ANY(%s)", [user_ids])
            cursor.execute(
                _INSERT_SQL,
                {
                    "total": RUNS * (OTHER_USERS + 1),
                    "user_ids": user_ids,
                    "tool_ids": tool_ids,
                    "tools": len(tool_ids),
                },
            )
            cursor.execute("ANALYZE runs_toolrun")
            print(f"  seeded in {time.perf_counter() - started:.1f} s")
    return Fixture(user_id=user.pk, session_cookie=_session(user), pages=_pages(user.pk))


def _tool(project: Any, owner: Any, title: str) -> Any:
    """A tool of the bench project with a draft (the runs' version), made through the services."""
    from apps.tools import services as tool_services
    from apps.tools.models import Tool

    tool = Tool.objects.filter(project=project, title=title).first()
    if tool is None:
        tool = tool_services.create_tool(project=project, creator=owner, title=title)
    if tool.draft_head_id is None:
        tool_services.create_draft(
            tool=tool, actor=owner, content=tool_services.ContentEdit(source_code="x = 1\n")
        )
        tool.refresh_from_db()
    return tool


def _session(user: Any) -> str:
    """A signed-in session of the user, as the sign-in form would leave it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _pages(user_id: int) -> list[Page]:
    """The first page, the page after row 5,000 and the last page, with their cursors."""
    from django.db import connection

    from apps.runs.queries import Cursor

    order = (
        "SELECT requested_at, id FROM runs_toolrun WHERE requested_by_id = %s "
        "AND context = 'production' ORDER BY requested_at DESC, id DESC OFFSET %s LIMIT 2"
    )
    pages = [Page("first", "/runs/", None, _row_id(user_id, 0))]
    for name, offset in (("middle", RUNS // 2), ("last", RUNS - PAGE_SIZE)):
        with connection.cursor() as cursor:
            cursor.execute(order, [user_id, offset - 1])
            (before_at, before_id), (_, first_id) = cursor.fetchall()
        cursor_text = Cursor(requested_at=before_at, run_id=before_id).encode()
        pages.append(
            Page(name, f"/runs/?after={cursor_text}", (before_at, before_id), str(first_id))
        )
    return pages


def _row_id(user_id: int, offset: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM runs_toolrun WHERE requested_by_id = %s AND context = 'production' "
            "ORDER BY requested_at DESC, id DESC OFFSET %s LIMIT 1",
            [user_id, offset],
        )
        return str(cursor.fetchone()[0])


def fetch(server: harness.Server, page: Page, cookie: str) -> tuple[float, bytes]:
    return harness.timed_get(server, page.path, {"Cookie": cookie})


def verify(server: harness.Server, page: Page, cookie: str) -> None:
    _, body = fetch(server, page, cookie)
    rows = ROW_PATTERN.findall(body)
    if len(rows) != PAGE_SIZE or rows[0].decode() != page.first_id:
        raise harness.BenchError(
            f"{page.name} {page.path}: {len(rows)} rows from {rows[:1]!r}; expected "
            f"{PAGE_SIZE} from {page.first_id}"
        )


def raw_page_ms(user_id: int, page: Page, repeats: int) -> float:
    """Median latency of the page's keyset query through psycopg (all rows fetched)."""
    from bench.collections_data import raw_connect

    after = " AND (r.requested_at, r.id) < (%s, %s)" if page.after else ""
    sql = _RAW_SELECT.format(after=after, limit=PAGE_SIZE + 1)
    args = [user_id, *(page.after or ())]
    timings = []
    with raw_connect() as connection, connection.cursor() as cursor:
        for _ in range(repeats + WARMUP_REQUESTS):
            started = time.perf_counter()
            cursor.execute(sql, args)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[WARMUP_REQUESTS:])


def explain(user_id: int, page: Page) -> str:
    """The plan of the page's query (EXPLAIN ANALYZE), for the report."""
    from bench.collections_data import raw_connect

    after = " AND (r.requested_at, r.id) < (%s, %s)" if page.after else ""
    sql = _RAW_SELECT.format(after=after, limit=PAGE_SIZE + 1)
    with raw_connect() as connection, connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, [user_id, *(page.after or ())])
        return "\n".join(f"    {line}" for (line,) in cursor.fetchall())


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: GET /runs/ (My runs) at the first, middle and last of {RUNS} runs")
    harness.setup_django()
    fixture = seed()
    harness.close_db_connections()
    print("  plan of the last page's query:")
    print(explain(fixture.user_id, fixture.pages[-1]))
    requests = max(MIN_REQUESTS, 20 * options.rounds)
    cookie = fixture.session_cookie
    with harness.gunicorn_server(NAME, workers=1) as server:
        print(f"  gunicorn: 1 sync worker at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        for page in fixture.pages:
            verify(server, page, cookie)
        print(f"  verified: each page holds {PAGE_SIZE} runs from the expected one")
        print(f"  warm-up: {WARMUP_REQUESTS} requests each; then {requests} each, alternating")
        for _ in range(WARMUP_REQUESTS):
            for page in fixture.pages:
                fetch(server, page, cookie)
        timings: dict[str, list[float]] = {page.name: [] for page in fixture.pages}
        for _ in range(requests):
            for page in fixture.pages:
                timings[page.name].append(fetch(server, page, cookie)[0])
        raw = {page.name: raw_page_ms(fixture.user_id, page, requests) for page in fixture.pages}
        return report(timings, raw, server, options)


def report(
    timings: dict[str, list[float]],
    raw: dict[str, float],
    server: harness.Server,
    options: harness.BenchOptions,
) -> harness.BenchResult:
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print()
    print(f"  {'page':<8} {'median ms':>10} {'p90 ms':>8} {'raw SQL ms':>11} {'page/raw':>9}")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        ratio = medians[name] / raw[name]
        print(f"  {name:<8} {medians[name]:>10.2f} {p90:>8.2f} {raw[name]:>11.3f} {ratio:>9.1f}")
    deepest = max(medians["middle"], medians["last"])
    ratio = deepest / medians["first"]
    print(harness.ratio_line("deepest", "first", ratio, TARGET_RATIO, higher=False))
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=False,
        cases={
            name: {
                "median_ms": medians[name],
                "raw_sql_median_ms": raw[name],
                "page_to_raw": medians[name] / raw[name],
                "ms": values,
            }
            for name, values in timings.items()
        },
        order=[name for _ in timings["first"] for name in timings],
        config={
            "rounds": options.rounds,
            "requests_each": len(timings["first"]),
            "warmup_requests_each": WARMUP_REQUESTS,
            "runs": RUNS,
            "other_users_runs": RUNS * OTHER_USERS,
            "page_size": PAGE_SIZE,
        },
        server=server,
    )
