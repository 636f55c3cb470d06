"""The author's pages: a project's tool list and the tool editor.

The editor page is a shell: it renders the layout and a small boot document; its ES modules
(static/js/editor/) load everything else from the JSON API (`GET /api/v1/editor/tools/{id}`) and
do every write there."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role, User
from apps.core.web import domain_errors_to_messages, poll_ms_param
from apps.editor.forms import ToolCreateForm
from apps.locks import services as locks
from apps.projects import access as projects_access
from apps.projects.models import Project, ProjectRole
from apps.tools import access as tools_access
from apps.tools import queries as tools_queries
from apps.tools import services as tools_services
from apps.tools.exceptions import ToolEditDenied, ToolNotFound
from apps.tools.models import Tool, ToolMaintainer, VersionState

HEARTBEAT_MS = 60_000
# How often the editor re-reads the lock: a displaced holder must hear of a takeover within 10 s.
LOCK_POLL_MS = 5_000
# The sandbox panel's run polling interval (docs/api.md: the editor polls every 1.5 s).
SANDBOX_POLL_MS = 1_500


@login_required
def tool_edit(request: HttpRequest, tool_id: uuid.UUID) -> HttpResponse:
    user = authenticated_user(request)
    try:
        tool = tools_access.get_tool_for_user(user=user, tool_id=tool_id, edit=True)
    except ToolNotFound as exc:
        raise Http404(exc.message) from exc
    except ToolEditDenied as exc:
        return render(request, "editor/forbidden.html", {"reason": exc.message}, status=403)
    context = {
        "tool": tool,
        "project": tool.project,
        "is_admin": user.has_role(Role.ADMIN),
        "boot": _boot(request, tool, user),
        # Shown until the next submit for review (templates/editor/_changes_requested.html).
        "changes_requested": tools_queries.changes_requested(tool),
    }
    return render(request, "editor/edit.html", context)


def _boot(request: HttpRequest, tool: Tool, user: User) -> dict[str, Any]:
    """The page's boot document (`editor-boot`), read by static/js/editor/core.js."""
    api = f"{get_script_prefix()}api/v1/"
    tool_api = f"{api}editor/tools/{tool.pk}"
    return {
        "tool_id": str(tool.pk),
        "project_id": str(tool.project_id),
        "user": {"id": user.pk, "email": user.email, "is_admin": user.has_role(Role.ADMIN)},
        "csrf_token": get_token(request),
        "heartbeat_ms": HEARTBEAT_MS,
        "lock_poll_ms": LOCK_POLL_MS,
        "poll_ms": poll_ms_param(request.GET.get("poll_ms"), SANDBOX_POLL_MS),
        "urls": {
            "api": api,
            "boot": tool_api,
            "lock": f"{tool_api}/draft-lock",
            "lock_release": f"{tool_api}/draft-lock/release",
            "draft": f"{tool_api}/draft",
            "validate_schemas": f"{tool_api}/validate-schemas",
            "metadata": f"{tool_api}/metadata",
            "tool_versions": f"{api}editor/tool-versions/",
            "tool_runs": f"{api}editor/tool-runs/",
            "tool_list": reverse("editor:tool-list", args=[tool.project_id]),
            "settings": reverse("editor:tool-settings", args=[tool.pk]),
        },
    }


@dataclass(frozen=True)
class ToolRow:
    tool: Tool
    can_edit: bool
    can_run: bool  # published with an active version: every member may open its run page
    in_review: bool
    versions: int
    lock_holder: str | None


@login_required
@domain_errors_to_messages
def tool_list(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """A project's tools with their state; editors with the contributor role create tools here."""
    user = authenticated_user(request)
    project = projects_access.get_project_for_user(user=user, project_id=project_id)
    can_create = project.caller_role.rank >= ProjectRole.EDITOR.rank and user.has_role(
        Role.CONTRIBUTOR
    )
    form = ToolCreateForm(request.POST or None)
    if request.method == "POST":
        if not can_create:
            reason = "Creating tools needs the project role editor and the contributor role."
            return render(request, "editor/forbidden.html", {"reason": reason}, status=403)
        if form.is_valid():
            tool = tools_services.create_tool(project=project, creator=user, **form.cleaned_data)
            messages.success(request, f"Tool “{tool.title}” created.")
            return redirect("editor:tool-edit", tool_id=tool.pk)
    context = {
        "project": project,
        "rows": _rows(project, user),
        "form": form,
        "can_create": can_create,
    }
    return render(request, "editor/tool_list.html", context)


def _rows(project: Project, user: User) -> list[ToolRow]:
    """One row per tool, in a fixed number of queries whatever the number of tools."""
    tools = list(
        Tool.objects.filter(project=project)
        .select_related("draft_head", "active_version")
        .annotate(
            version_count=Count("versions"),
            review_count=Count("versions", filter=Q(versions__state=VersionState.IN_REVIEW)),
        )
        .order_by("title", "id")
    )
    ids = [tool.pk for tool in tools]
    maintained = set(
        ToolMaintainer.objects.filter(user=user, content_object_id__in=ids).values_list(
            "content_object_id", flat=True
        )
    )
    holders = _lock_holders(ids)
    is_admin = user.has_role(Role.ADMIN)
    contributor = user.has_role(Role.CONTRIBUTOR)
    return [
        ToolRow(
            tool=tool,
            can_edit=is_admin or (contributor and tool.pk in maintained),
            can_run=tool.is_published and tool.active_version_id is not None,
            in_review=tool.review_count > 0,
            versions=tool.version_count,
            lock_holder=holders.get(tool.pk),
        )
        for tool in tools
    ]


def _lock_holders(tool_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    live = locks.live_locks(tool_ids=tool_ids)
    return {tool_id: state.holder_email or "someone" for tool_id, state in live.items()}
