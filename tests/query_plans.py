"""EXPLAIN the statements the code runs, as the application's connection runs them.

settings.py binds parameters on the server and lets psycopg prepare a statement on its fifth
use; PostgreSQL then plans it for its parameters (a custom plan) or once for all (a generic
plan). `plans_of` runs EXPLAIN ANALYZE of a PREPAREd statement under each plan cache mode, so
a test can check both plans a page may get. `capture` records what the code sends.
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection

PLAN_MODES = ("force_custom_plan", "force_generic_plan")


@contextmanager
def capture() -> Iterator[list[tuple[str, list[Any]]]]:
    """Record (sql, params) of every statement the code executes, exactly as it sends them."""
    seen: list[tuple[str, list[Any]]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def plans_of(sql: str, args: list[Any]) -> dict[str, dict[str, Any]]:
    """EXPLAIN ANALYZE of `sql` prepared with $n parameters, as the application's connection
    sends it, executed under each plan cache mode."""
    numbered = iter(range(1, len(args) + 1))
    prepared = re.sub(r"%s", lambda _: f"${next(numbered)}", sql)
    raw = connection.connection
    plans = {}
    with psycopg.ClientCursor(raw) as cursor:
        cursor.execute(f"PREPARE page_plan AS {prepared}")
        try:
            for mode in PLAN_MODES:
                cursor.execute(f"SET plan_cache_mode = {mode}")
                placeholders = ", ".join(["%s"] * len(args))
                cursor.execute(
                    f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page_plan({placeholders})", args
                )
                plans[mode] = cursor.fetchone()[0][0]["Plan"]
        finally:
            cursor.execute("DEALLOCATE page_plan")
            cursor.execute("RESET plan_cache_mode")
    return plans


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in nodes(child))]


def scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The scans that read a table, each with the index it uses ("Index Name"; a bitmap
    heap scan's comes from its bitmap index scan)."""
    found = []
    for node in nodes(plan):
        if "Relation Name" not in node:
            continue
        if node["Node Type"] == "Bitmap Heap Scan":
            node = {**node, "Index Name": node["Plans"][0].get("Index Name")}
        found.append(node)
    return found


def describe(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=1)[:3000]


def rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan took from tables, including those its filters threw away."""
    return sum(
        scan["Actual Rows"]
        + scan.get("Rows Removed by Filter", 0)
        + scan.get("Rows Removed by Index Recheck", 0)
        for scan in scans(plan)
    )
