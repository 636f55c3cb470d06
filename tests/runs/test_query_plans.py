"""A page of one user's runs reads about a page, whatever other users ran (issue 15).

Skew: a popular tool with many runs of many users, and one user with many runs of other tools
and a few old runs of the popular one. The My runs page query (apps/runs/queries.py), captured
as the code sends it, is EXPLAINed under a custom and a generic plan (tests/query_plans.py).
"""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.runs.models import ToolRun
from apps.runs.queries import RunFilters, page_of_runs
from tests.factories import UserFactory, make_project
from tests.factories.catalog import make_many_catalog_tools, make_production_run
from tests.query_plans import capture, describe, plans_of, rows_read, scans

pytestmark = pytest.mark.django_db

OTHER_USERS = 40
POPULAR_RUNS = 30_000  # of the popular tool, by the other users, all newer than the user's
OWN_RUNS = 5_000  # the user's runs of other tools
OWN_POPULAR_RUNS = 5
PAGE = 25
KEYSET_INDEXES = {"runs_mine_keyset", "runs_mine_by_tool"}
RUNS = ToolRun._meta.db_table


def _copy_runs(template: ToolRun, users: list[int], tools: list[Any], count: int, age: str) -> None:
    """`count` copies of `template`, by `users` and of `tools` in turn, one second apart."""
    table = ToolRun._meta.db_table
    varying = {"id", "requested_by_id", "tool_id", "requested_at"}
    kept = [f.column for f in ToolRun._meta.concrete_fields if f.column not in varying]
    columns = ", ".join(["id", "requested_by_id", "tool_id", "requested_at", *kept])
    copied = ", ".join(f"t.{column}" for column in kept)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "  # noqa: S608 - names from model metadata
            "SELECT gen_random_uuid(), (%s::int[])[mod(g, %s) + 1],"
            " (%s::uuid[])[mod(g, %s) + 1], t.requested_at - %s::interval - g * interval '1 s',"
            f" {copied} FROM {table} t, generate_series(1, %s) g WHERE t.id = %s",
            [users, len(users), [str(t) for t in tools], len(tools), age, count, template.pk],
        )


@pytest.fixture
def skewed() -> dict[str, Any]:
    project = make_project()
    popular, *others = make_many_catalog_tools(project, 11)
    user, *crowd = [UserFactory() for _ in range(OTHER_USERS + 1)]
    template = make_production_run(popular, user, timezone.now() - timedelta(days=1))
    crowd_ids = [u.pk for u in crowd]
    _copy_runs(template, crowd_ids, [popular.pk], POPULAR_RUNS, "0 s")
    _copy_runs(template, [user.pk], [t.pk for t in others], OWN_RUNS, "0 s")
    _copy_runs(template, [user.pk], [popular.pk], OWN_POPULAR_RUNS - 1, "30 days")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ToolRun._meta.db_table}")
    return {"user": user, "crowd": crowd[0], "popular": popular, "other": others[0]}


def _page_statement(user_id: int, filters: RunFilters) -> tuple[str, list[Any]]:
    with capture() as seen:
        page_of_runs(user_id=user_id, filters=filters, size=PAGE)
    (statement,) = [(sql, params) for sql, params in seen if "ORDER BY" in sql]
    return statement


def test_my_runs_pages_read_about_a_page(skewed):
    cases = {
        "own runs": (skewed["user"], RunFilters()),
        "own runs of the popular tool": (skewed["user"], RunFilters(tool_id=skewed["popular"].pk)),
        "own runs of another tool": (skewed["user"], RunFilters(tool_id=skewed["other"].pk)),
        "a crowd member's runs of it": (skewed["crowd"], RunFilters(tool_id=skewed["popular"].pk)),
    }
    failures = []
    for case, (user, filters) in cases.items():
        sql, params = _page_statement(user.pk, filters)
        for mode, plan in plans_of(sql, params).items():
            runs = [scan for scan in scans(plan) if scan["Relation Name"] == RUNS]
            read = sum(rows_read(scan) for scan in runs)
            indexes = {scan.get("Index Name") for scan in runs}
            if read > PAGE + 1 or not indexes <= KEYSET_INDEXES:
                failures.append((f"{case} {mode}", plan))
    assert not failures, "\n".join(
        ["failing pages:", *(case for case, _ in failures), describe(failures[0][1])]
    )
