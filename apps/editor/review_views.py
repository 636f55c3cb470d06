"""The reviewers' pages: the queue of versions in review and the review screen of one version
(its diff, the sandbox evidence, a sandbox run of exactly that content, publish or request
changes). Only global admins and superusers review; anyone else gets the 404 page, as for a
page that does not exist."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role, User
from apps.core.exceptions import DomainError, NotFound
from apps.core.web import poll_ms_param
from apps.editor.forms import ReviewDecisionForm
from apps.runs.models import RunStatus, ToolRun
from apps.sandbox import queries as sandbox_queries
from apps.tools import access as tools_access
from apps.tools import services as tools_services
from apps.tools.content import ToolContent
from apps.tools.models import ToolVersion, VersionState

# The review screen's run polling interval, as the editor's sandbox panel.
POLL_MS = 1_500
QUEUE_SHOWN = 200


def _reviewer(request: HttpRequest) -> User:
    """The signed-in global admin or superuser. :raises Http404: for anyone else"""
    user = authenticated_user(request)
    if not user.has_role(Role.ADMIN):
        raise Http404("No such page.")
    return user


@login_required
@require_safe
def review_queue(request: HttpRequest) -> HttpResponse:
    """Versions in review in every live project the admin sees, the longest-waiting first."""
    user = _reviewer(request)
    versions = (
        ToolVersion.objects.filter(
            state=VersionState.IN_REVIEW, tool__in=tools_access.tools_visible_to(user)
        )
        .select_related("tool__project", "created_by", "submitted_for_review_by")
        .order_by("submitted_for_review_at", "created_at", "id")
    )
    total = versions.count()
    return render(
        request,
        "editor/review_queue.html",
        {"versions": list(versions[:QUEUE_SHOWN]), "total": total, "shown": QUEUE_SHOWN},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def review(request: HttpRequest, version_id: uuid.UUID) -> HttpResponse:
    """GET: the review screen. POST: publish or request changes (one service), then back to the
    queue; a request for changes without a message is refused with 422 and the page again."""
    user = _reviewer(request)
    try:
        version = tools_access.get_version_for_user(user=user, version_id=str(version_id))
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if version.state != VersionState.IN_REVIEW:
        messages.info(
            request,
            f"Version {version.version_number} of “{version.tool.title}” is no longer in review "
            f"({version.get_state_display().lower()}).",
        )
        return redirect("editor:review-queue")
    form = ReviewDecisionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            return _decide(request, version, user, form.cleaned_data)
        return render(request, "editor/review.html", _context(request, version, form), status=422)
    return render(request, "editor/review.html", _context(request, version, form))


def _published_message(reviewed: ToolVersion, active: ToolVersion) -> str:
    done = (
        f"Published version {reviewed.version_number} of “{reviewed.tool.title}” as its active "
        f"version {active.version_number}."
    )
    if active.tool.is_published:
        return f"{done} People of the project run it now."
    # A first version: the tool itself is listed only once an admin publishes it.
    settings_url = reverse("editor:tool-settings", kwargs={"tool_id": active.tool_id})
    return f"{done} The tool is not published yet: publish it on its settings page, {settings_url}"


def _decide(
    request: HttpRequest, version: ToolVersion, user: User, data: dict[str, Any]
) -> HttpResponse:
    title = version.tool.title
    try:
        if data["decision"] == ReviewDecisionForm.PUBLISH:
            active = tools_services.publish_version(
                version=version, actor=user, change_summary=data["message"]
            )
            messages.success(request, _published_message(version, active))
        else:
            draft = tools_services.request_changes(
                version=version, actor=user, message=data["message"]
            )
            messages.success(
                request,
                f"Changes requested for version {version.version_number} of “{title}”: its "
                f"author has draft version {draft.version_number} with your message.",
            )
    except DomainError as exc:
        messages.error(request, f"“{title}” version {version.version_number}: {exc.message}")
    return redirect("editor:review-queue")


@dataclass(frozen=True)
class Base:
    """What the version under review is compared with."""

    version: ToolVersion | None
    description: str


def _base(version: ToolVersion) -> Base:
    """The tool's active version; without one, the newest version reviewed before this one."""
    tool = version.tool
    if tool.active_version_id is not None:
        active = ToolVersion.objects.get(pk=tool.active_version_id)
        return Base(active, f"the active version (version {active.version_number})")
    reviewed = (
        tool.versions.filter(reviewed_at__isnull=False, version_number__lt=version.version_number)
        .order_by("-version_number")
        .first()
    )
    if reviewed is not None:
        return Base(
            reviewed,
            f"version {reviewed.version_number}, the last version reviewed (the tool has no "
            "active version)",
        )
    return Base(None, "nothing: the tool has no active or earlier reviewed version")


def _evidence(version: ToolVersion) -> list[dict[str, Any]]:
    runs: list[ToolRun] = list(
        sandbox_queries.preview_runs_with_content(version)[: sandbox_queries.EVIDENCE_SHOWN]
    )
    return [
        {
            "id": run.pk,
            "status": run.status,
            "status_label": RunStatus(run.status).label,
            "requested_at": run.requested_at,
            "requested_by": run.requested_by.email,
            "is_action": bool(run.action_id),
            "url": reverse("portal:run-detail", kwargs={"run_id": run.pk}),
        }
        for run in runs
    ]


def _context(
    request: HttpRequest, version: ToolVersion, form: ReviewDecisionForm
) -> dict[str, Any]:
    base = _base(version)
    api = f"{get_script_prefix()}api/v1/"
    return {
        "version": version,
        "tool": version.tool,
        "project": version.tool.project,
        "base": base,
        "evidence": _evidence(version),
        "evidence_shown": sandbox_queries.EVIDENCE_SHOWN,
        "snapshot_ttl_hours": settings.SANDBOX_SNAPSHOT_TTL_SECONDS // 3600,
        "form": form,
        "page_data": {
            "version_id": str(version.pk),
            "csrf_token": get_token(request),
            "poll_ms": poll_ms_param(request.GET.get("poll_ms"), POLL_MS),
            "under_review": ToolContent.of(version).as_fields(),
            "base": ToolContent.of(base.version).as_fields() if base.version else None,
            "labels": {
                "before": f"v{base.version.version_number}" if base.version else "(none)",
                "after": f"v{version.version_number}",
            },
            "urls": {
                "review_run": f"{api}editor/tool-versions/{version.pk}/review-run",
                "tool_runs": f"{api}editor/tool-runs/",
                "run_detail": f"{get_script_prefix()}runs/",
            },
            "upload_limits": {
                "max_files": settings.UPLOAD_MAX_FILES,
                "max_file_bytes": settings.UPLOAD_MAX_FILE_BYTES,
                "max_total_bytes": settings.UPLOAD_MAX_TOTAL_BYTES,
            },
        },
    }
