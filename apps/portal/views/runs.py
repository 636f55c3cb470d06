"""Run history: My runs (keyset pages of the user's own runs), the run detail with its re-run
button, and the maintainers' list of a tool's recent runs (a partial the run page includes).

Run details are private to the requester (and global admins, as the API decides); everyone else
gets the same 404 page. Maintainers see who ran their tool, when and with what status, but not
other people's inputs or results."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.access import authenticated_user
from apps.accounts.models import User
from apps.core.exceptions import BadRequest, DomainError, NotFound
from apps.portal.views.run_detail import detail_context, duration_text
from apps.runs import access as runs_access
from apps.runs import queries
from apps.runs import services as run_services
from apps.runs.models import RunContext, RunStatus
from apps.runs.queries import Cursor, RunFilters
from apps.tools.models import Tool

PAGE_SIZE = 50
TOOL_RUNS_DAYS = 7
TOOL_RUNS_NEWEST = 10
_INVALID_CURSOR = "This page link is not valid. Start again from the first page."


class RunListForm(forms.Form):
    """The My runs query string. Every field is optional; a bad one is a message, not a 500."""

    context = forms.ChoiceField(
        label="Runs",
        choices=[(RunContext.PRODUCTION, "Tool runs"), (RunContext.SANDBOX, "Sandbox previews")],
        required=False,
    )
    tool = forms.ChoiceField(label="Tool", required=False)
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *RunStatus.choices], required=False
    )
    requested_from = forms.DateField(
        label="From (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    requested_to = forms.DateField(
        label="To (UTC)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    after = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)
    before = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, data: Any, *, tools: list[tuple[uuid.UUID, str]]) -> None:
        super().__init__(data)
        tool_field = self.fields["tool"]
        assert isinstance(tool_field, forms.ChoiceField)  # noqa: S101 - declared above
        tool_field.choices = [("", "Any tool"), *((str(pk), title) for pk, title in tools)]

    def clean_after(self) -> Cursor | None:
        return self._cursor("after")

    def clean_before(self) -> Cursor | None:
        return self._cursor("before")

    def _cursor(self, name: str) -> Cursor | None:
        raw: str = self.cleaned_data[name]
        if not raw:
            return None
        try:
            return Cursor.decode(raw)
        except BadRequest:
            raise forms.ValidationError(_INVALID_CURSOR) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("requested_from"), data.get("requested_to")
        if start and end and start > end:
            self.add_error("requested_to", "The end date is before the start date.")
        if data.get("after") and data.get("before"):
            self.add_error(None, _INVALID_CURSOR)
        return data

    def filters(self) -> RunFilters:
        data = self.cleaned_data
        return RunFilters(
            context=data["context"] or RunContext.PRODUCTION,
            tool_id=uuid.UUID(data["tool"]) if data["tool"] else None,
            status=data["status"] or None,
            requested_from=_midnight(data["requested_from"]),
            # The end date is inclusive: runs before the midnight after it.
            requested_before=_midnight(_day_after(data["requested_to"])),
        )

    def query(self) -> dict[str, str]:
        """The valid filters as query parameters (for the page links), without cursors."""
        names = ("context", "tool", "status", "requested_from", "requested_to")
        return {name: str(self.cleaned_data[name]) for name in names if self.cleaned_data[name]}


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _day_after(day: date | None) -> date | None:
    # The last representable day has no day after it: no upper bound then, not an overflow.
    return day + timedelta(days=1) if day and day < date.max else None


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    """My runs: the user's runs across tools, newest first, filtered, a keyset page at a time."""
    user = authenticated_user(request)
    context_value = request.GET.get("context")
    context = context_value if context_value in RunContext.values else RunContext.PRODUCTION
    form = RunListForm(
        request.GET, tools=queries.list_tools_run_by(user_id=user.pk, context=context)
    )
    if not form.is_valid():
        page_context = {"form": form, "rows": [], "first_url": request.path, "invalid": True}
        return render(request, "portal/run_list.html", page_context, status=400)
    return render(request, "portal/run_list.html", {"form": form, **_page(request, form, user)})


def _page(request: HttpRequest, form: RunListForm, user: User) -> dict[str, Any]:
    page = queries.page_of_runs(
        user_id=user.pk,
        filters=form.filters(),
        size=PAGE_SIZE,
        after=form.cleaned_data["after"],
        before=form.cleaned_data["before"],
    )
    query = form.query()

    def link(**cursor: str) -> str:
        return f"{request.path}?{urlencode({**query, **cursor})}"

    filtered = bool({"tool", "status", "requested_from", "requested_to"} & set(query))
    detail_url = _detail_url_maker()
    return {
        "rows": [_row(row, detail_url) for row in page.rows],
        "is_sandbox": form.filters().context == RunContext.SANDBOX,
        "filtered": filtered,
        # Past the last page (an old link, runs gone with their tool) there is no "newer"
        # cursor, but the way back to the first page is still offered.
        "first_url": link() if page.newer or form.cleaned_data["after"] else None,
        "previous_url": link(before=page.newer.encode()) if page.newer else None,
        "next_url": link(after=page.older.encode()) if page.older else None,
    }


def _detail_url_maker() -> Callable[[str], str]:
    """The run detail URL of a run id, reversed once per page rather than once per row."""
    placeholder = str(uuid.UUID(int=0))
    pattern = reverse("portal:run-detail", kwargs={"run_id": placeholder})
    return lambda run_id: pattern.replace(placeholder, run_id)


def _row(row: dict[str, Any], detail_url: Callable[[str], str]) -> dict[str, Any]:
    # Primitives only: a page renders 50 rows, and template filters per row add up.
    run_id = str(row["id"])
    return {
        "run_id": run_id,
        "detail_url": detail_url(run_id),
        "tool_title": row["tool__title"],
        "status": row["status"],
        "status_label": RunStatus(row["status"]).label,
        "action_id": row["action_id"],
        "requested_at": row["requested_at"].isoformat(),
        "requested_at_text": f"{row['requested_at']:%Y-%m-%d %H:%M:%S}",
        "duration": duration_text(row["status"], row["started_at"], row["finished_at"]),
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """A run's status, inputs, result and files: its requester's (and global admins')."""
    user = authenticated_user(request)
    try:
        run = runs_access.get_run_for_user(user=user, run_id=str(run_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "portal/run_detail.html", detail_context(request, run, user))


@login_required
@require_POST
def run_rerun(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Run the tool again with this run's inputs and files; the new run's page shows it."""
    user = authenticated_user(request)
    try:
        run = runs_access.get_run_for_user(user=user, run_id=str(run_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    try:
        new_run = run_services.rerun_tool_run(run=run, actor=user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:run-detail", run_id=run.pk)
    messages.success(request, "The tool runs again with the same inputs.")
    return redirect("portal:run-detail", run_id=new_run.pk)


def tool_runs_context(*, tool: Tool, user: User, now: datetime | None = None) -> dict[str, Any]:
    """The context of `portal/_tool_runs.html`: the tool's production runs of the last 7 days
    counted by status, and its 10 newest runs. Only for users `may_see_tool_runs` allows (the
    tool's maintainers and global admins); a row links to the run's details only where those are
    the user's to see (their own run, or any for an admin)."""
    now = now or timezone.now()
    counts = queries.count_recent_runs_by_status(tool_id=tool.pk, now=now, days=TOOL_RUNS_DAYS)
    newest = queries.list_newest_runs_of_tool(tool_id=tool.pk, limit=TOOL_RUNS_NEWEST)
    return {
        "tool_runs_days": TOOL_RUNS_DAYS,
        "tool_runs_total": sum(counts.values()),
        "tool_runs_counts": [
            {"status": status.value, "label": status.label, "count": counts.get(status.value, 0)}
            for status in RunStatus
        ],
        "tool_runs_newest": [
            {
                "run_id": str(row["id"]),
                "who": row["requested_by__email"],
                "requested_at": row["requested_at"],
                "status": row["status"],
                "status_label": RunStatus(row["status"]).label,
                "duration": duration_text(row["status"], row["started_at"], row["finished_at"]),
                "linked": runs_access.can_see_run(
                    user=user, requested_by_id=row["requested_by_id"]
                ),
            }
            for row in newest
        ],
    }


@login_required
@require_GET
def tool_runs(request: HttpRequest, tool_id: uuid.UUID) -> HttpResponse:
    """The maintainers' view of a tool's recent runs; 404 for everyone else."""
    user = authenticated_user(request)
    try:
        tool = runs_access.get_tool_for_run_list(user=user, tool_id=tool_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    context = {"tool": tool, **tool_runs_context(tool=tool, user=user)}
    return render(request, "portal/run_tool_list.html", context)
