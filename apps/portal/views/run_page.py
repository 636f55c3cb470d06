"""The run page of a published tool (`/tools/<id>/run`): a shell with the tool's title, summary
and project, and a boot document of URLs; static/js/portal/run-page.js loads the rest from the
runtime API (docs/api.md, "Published tools") and does every run, action and settings write there.

Who sees it is the runtime API's rule (apps.tools.access.get_published_tool_for_user): a
published tool with an active version in a live project the user is a member of (global admins:
any live project). Anything else is the same 404 page."""

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from apps.accounts.access import authenticated_user
from apps.core.web import poll_ms_param
from apps.portal.views.runs import tool_runs_context
from apps.runs import access as runs_access
from apps.runs.models import DEFAULT_SESSION_CONTEXT
from apps.tools import access as tools_access
from apps.tools.exceptions import ToolNotFound
from apps.tools.models import Tool

# docs/api.md: clients poll a run every 1.5 s (after two short first polls).
RUN_POLL_MS = 1_500


@login_required
def tool_run(request: HttpRequest, tool_id: uuid.UUID) -> HttpResponse:
    user = authenticated_user(request)
    try:
        tool = tools_access.get_published_tool_for_user(user=user, tool_id=tool_id)
    except ToolNotFound as exc:
        raise Http404(exc.message) from exc
    context = {
        "tool": {"title": tool.title, "summary": tool.summary},
        "project": {"id": tool.project_id, "name": tool.project.name},
        "boot": _boot(request, tool),
        "show_tool_runs": runs_access.may_see_tool_runs(user=user, tool=tool),
    }
    if context["show_tool_runs"]:  # maintainers and admins: the tool's recent runs below
        context.update(tool_runs_context(tool=tool, user=user))
    return render(request, "portal/tool_run.html", context)


def _boot(request: HttpRequest, tool: Tool) -> dict[str, Any]:
    """The page's boot document (`run-page-boot`), read by static/js/portal/run-page.js."""

    def url(name: str, *args: Any) -> str:
        return reverse(name, args=[tool.pk, *args])

    return {
        "tool_id": str(tool.pk),
        "csrf_token": get_token(request),
        "poll_ms": poll_ms_param(request.GET.get("poll_ms"), RUN_POLL_MS),
        "session_context": DEFAULT_SESSION_CONTEXT,
        "urls": {
            "runtime": url("runtime-tool"),
            "run": url("runtime-run"),
            "seen": url("usage-instructions-seen"),
            "settings": url("tool-settings"),
            "session": url("tool-session", DEFAULT_SESSION_CONTEXT),
            "session_files": f"{url('tool-session-files')}?context={DEFAULT_SESSION_CONTEXT}",
            "start_action": reverse("start-action"),
            "runs": f"{reverse('run-list')}/",
        },
    }
