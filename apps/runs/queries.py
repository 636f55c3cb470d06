"""Reads of run history: keyset pages of one user's runs, and a tool's recent runs.

Pages are keyset pages on (requested_at, id), newest first, never OFFSET: the index
`runs_mine_keyset` (requested_by, context, requested_at DESC, id DESC) finds the start of any
page directly, so the last page costs what the first does, and runs added while someone pages
(always newer than what they have seen) never shift a page or repeat a row.
"""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import BooleanField, Count, QuerySet
from django.db.models.expressions import RawSQL

from apps.core.exceptions import BadRequest
from apps.runs.models import RunContext, ToolRun
from apps.tools.models import Tool

RUNS = ToolRun._meta.db_table
# What a list row shows; never stdout, stderr or the payload (up to megabytes a run).
LIST_COLUMNS = (
    "id",
    "tool_id",
    "tool__title",
    "context",
    "status",
    "action_id",
    "requested_at",
    "started_at",
    "finished_at",
)
_CURSOR_MAX_LENGTH = 200


@dataclass(frozen=True)
class Cursor:
    """A row's place in the newest-first order."""

    requested_at: datetime
    run_id: uuid.UUID

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Cursor":
        return cls(requested_at=row["requested_at"], run_id=row["id"])

    def encode(self) -> str:
        text = f"{self.requested_at.isoformat()}|{self.run_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> "Cursor":
        """:raises BadRequest: anything that is not a cursor this module made"""
        try:
            if len(raw) > _CURSOR_MAX_LENGTH:
                raise ValueError(raw)
            padded = raw + "=" * (-len(raw) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
            stamp, run_id = text.split("|")
            requested_at = datetime.fromisoformat(stamp)
            if requested_at.tzinfo is None:
                raise ValueError(stamp)
            return cls(requested_at=requested_at, run_id=uuid.UUID(run_id))
        except (ValueError, UnicodeError, binascii.Error):
            raise BadRequest("This page link is not valid.", code="INVALID_CURSOR") from None


@dataclass(frozen=True)
class RunFilters:
    context: str = RunContext.PRODUCTION
    tool_id: uuid.UUID | None = None
    status: str | None = None
    requested_from: datetime | None = None  # inclusive
    requested_before: datetime | None = None  # exclusive

    def apply(self, runs: QuerySet[ToolRun]) -> QuerySet[ToolRun]:
        runs = runs.filter(context=self.context)
        if self.tool_id is not None:
            runs = runs.filter(tool_id=self.tool_id)
        if self.status:
            runs = runs.filter(status=self.status)
        if self.requested_from is not None:
            runs = runs.filter(requested_at__gte=self.requested_from)
        if self.requested_before is not None:
            runs = runs.filter(requested_at__lt=self.requested_before)
        return runs


@dataclass(frozen=True)
class RunPage:
    rows: list[dict[str, Any]]  # LIST_COLUMNS, newest first
    older: Cursor | None  # set when older runs follow: the next page starts after it
    newer: Cursor | None  # set when newer runs precede: the previous page ends before it


def _row_compare(operator: Literal["<", ">"], cursor: Cursor) -> RawSQL:
    # A row comparison, so PostgreSQL seeks the index to the cursor in one step; Django's ORM
    # would spell it `a < x OR (a = x AND b < y)`, which the index cannot seek.
    # The table name and the operator are fixed; the cursor's values are parameters.
    return RawSQL(  # noqa: S611
        f'("{RUNS}"."requested_at", "{RUNS}"."id") {operator} (%s, %s)',
        (cursor.requested_at, cursor.run_id),
        output_field=BooleanField(),
    )


def page_of_runs(
    *,
    user_id: int,
    filters: RunFilters,
    size: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> RunPage:
    """One page of the user's runs, newest first: the first page, the `size` runs older than
    `after`, or the `size` runs newer than `before` (the first page when fewer are left)."""
    runs = filters.apply(ToolRun.objects.filter(requested_by_id=user_id))
    if before is not None:
        newer = runs.filter(_row_compare(">", before)).order_by("requested_at", "id")
        rows = list(newer.values(*LIST_COLUMNS)[: size + 1])
        if len(rows) <= size:
            return page_of_runs(user_id=user_id, filters=filters, size=size)
        rows = rows[:size][::-1]
        return RunPage(rows=rows, older=Cursor.of(rows[-1]), newer=Cursor.of(rows[0]))
    if after is not None:
        runs = runs.filter(_row_compare("<", after))
    rows = list(runs.order_by("-requested_at", "-id").values(*LIST_COLUMNS)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return RunPage(
        rows=rows,
        older=Cursor.of(rows[-1]) if more else None,
        newer=Cursor.of(rows[0]) if after is not None and rows else None,
    )


def list_tools_run_by(*, user_id: int, context: str) -> list[tuple[uuid.UUID, str]]:
    """(id, title) of every tool the user has runs of in `context`, by title (the tool filter)."""
    # The runs side reads only `runs_mine_keyset` (tool_id is included in it); the tools are
    # joined once per distinct tool, not once per run.
    ran = ToolRun.objects.filter(requested_by_id=user_id, context=context).order_by()
    pairs = Tool.objects.filter(pk__in=ran.values("tool_id")).values_list("id", "title")
    return sorted(pairs, key=lambda pair: (pair[1].lower(), str(pair[0])))


def count_recent_runs_by_status(*, tool_id: uuid.UUID, now: datetime, days: int) -> dict[str, int]:
    """The tool's production runs requested in the last `days` days, counted by status."""
    since = now - timedelta(days=days)
    counted = (
        ToolRun.objects.filter(
            tool_id=tool_id, context=RunContext.PRODUCTION, requested_at__gte=since
        )
        .order_by()
        .values_list("status")
        .annotate(count=Count("id"))
    )
    return dict(counted)


def list_newest_runs_of_tool(*, tool_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    """The tool's newest production runs: who, when, status (never their inputs or output)."""
    runs = ToolRun.objects.filter(tool_id=tool_id, context=RunContext.PRODUCTION)
    return [
        dict(row)
        for row in runs.order_by("-requested_at", "-id").values(
            "id",
            "status",
            "requested_at",
            "started_at",
            "finished_at",
            "requested_by_id",
            "requested_by__email",
        )[:limit]
    ]
