"""Sandbox pages: "New sandbox" (posted from the project page), the merge page (the dry-run plan,
then the merge), a project's merge records and one record's result page.

A member whose role is too low gets a 403 page here rather than a message: the pages never offer
these forms to them, so such a request comes from a stale page or a crafted one."""

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.access import authenticated_user
from apps.accounts.models import User
from apps.core.exceptions import DomainError
from apps.core.identifiers import parse_uuid
from apps.core.web import add_domain_error, domain_errors_to_messages
from apps.projects import access as projects_access
from apps.projects import views as project_views
from apps.projects.exceptions import ProjectRoleRequired, SandboxNameTaken
from apps.projects.models import Project, ProjectRole
from apps.sandbox_projects import services
from apps.sandbox_projects.forms import MergeForm, SandboxForm
from apps.sandbox_projects.models import MergeRecord
from apps.sandbox_projects.services import MergePlan
from apps.tools.content import ToolContent
from apps.tools.models import Tool, ToolVersion

MERGES_SHOWN = 50


def _role_too_low_is_forbidden(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ProjectRoleRequired as exc:
            return render(
                request, "sandbox_projects/forbidden.html", {"reason": exc.message}, status=403
            )

    return wrapper


@login_required
@require_POST
@domain_errors_to_messages
@_role_too_low_is_forbidden
def sandbox_create(request: HttpRequest, project_id: str) -> HttpResponse:
    user = authenticated_user(request)
    parent = projects_access.get_project_for_user(
        user=user, project_id=project_id, min_role=ProjectRole.EDITOR
    )
    form = SandboxForm(request.POST)
    if form.is_valid():
        try:
            sandbox = services.provision_sandbox(
                parent=parent,
                actor=user,
                name=form.cleaned_data["name"],
                colour=form.cleaned_data["colour"] or None,
            )
        except DomainError as exc:
            taken = isinstance(exc, SandboxNameTaken)
            add_domain_error(form, exc, field="name" if taken else None)
        else:
            messages.success(request, f"Sandbox “{sandbox.name}” created.")
            return redirect("projects:project-detail", project_id=sandbox.pk)
    # Shown again on the project page, at the form, with what was typed.
    return project_views.project_page(
        request, parent, sandbox_form=form, status=project_views.FORM_REFUSED
    )


@login_required
@domain_errors_to_messages
@_role_too_low_is_forbidden
def merge(request: HttpRequest, project_id: str) -> HttpResponse:
    """GET: the dry-run plan into the chosen target (default the parent). POST: merge the
    selection, then show the record; a refusal is a message on this page and writes nothing."""
    user = authenticated_user(request)
    source = projects_access.get_project_for_user(
        user=user, project_id=project_id, min_role=ProjectRole.ADMIN
    )
    if source.parent_id is None:
        raise Http404("Only a sandbox project can be merged.")
    data = request.POST if request.method == "POST" else request.GET
    target_id = data.get("target") or str(source.parent_id)
    target, plan = _target_and_plan(request, source=source, target_id=target_id, user=user)
    if request.method == "POST" and target is not None and plan is not None:
        record = _merge_selection(request, source=source, target=target, plan=plan, user=user)
        if record is not None:
            return redirect(
                "sandbox_projects:merge-record", project_id=source.pk, record_id=record.pk
            )
        # Refused: show the plan as it is now, with the reason above it.
        plan = _plan_or_message(request, source=source, target=target, user=user)
    tool_rows = _tool_rows(plan) if plan else []
    context = {
        "project": source,
        "parent": Project.objects.filter(pk=source.parent_id).first(),
        "targets": _targets_for(user, source),
        "target": target,
        "plan": plan,
        "tool_rows": tool_rows,
        "free_tools": [row for row in tool_rows if not row["locked_by"]],
        "plan_diffs": _plan_diffs(plan) if plan else {},
    }
    return render(request, "sandbox_projects/merge.html", context)


def _target_and_plan(
    request: HttpRequest, *, source: Project, target_id: str, user: User
) -> tuple[Project | None, MergePlan | None]:
    """The target the user may edit and the plan into it; why not, as a message."""
    try:
        target = projects_access.get_project_for_user(
            user=user, project_id=target_id, min_role=ProjectRole.EDITOR
        )
    except DomainError as exc:
        messages.error(request, f"You cannot merge into that project. {exc.message}")
        return None, None
    return target, _plan_or_message(request, source=source, target=target, user=user)


def _plan_or_message(
    request: HttpRequest, *, source: Project, target: Project, user: User
) -> MergePlan | None:
    try:
        return services.plan_merge(source=source, target=target, actor=user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return None


def _merge_selection(
    request: HttpRequest, *, source: Project, target: Project, plan: MergePlan, user: User
) -> MergeRecord | None:
    form = MergeForm(request.POST, plan=plan)
    if not form.is_valid():
        if form.non_field_errors():
            messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        else:
            messages.error(
                request,
                "The plan changed since the page was loaded; nothing was merged. "
                "Review the plan below and merge again.",
            )
        return None
    try:
        record = services.merge_sandbox(
            source=source,
            target=target,
            actor=user,
            collections_selected=form.cleaned_data["collections"],
            tools_selected=[uuid.UUID(tool_id) for tool_id in form.cleaned_data["tools"]],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, f"“{source.name}” merged into “{target.name}”.")
    return record


def _targets_for(user: User, source: Project) -> list[Project]:
    """The parent and the live siblings where the user is editor or above, parent first."""
    candidates = (
        projects_access.projects_visible_to(user)
        .filter(Q(pk=source.parent_id) | Q(parent_id=source.parent_id))
        .exclude(pk=source.pk)
        .order_by("name", "id")
    )
    editable = [p for p in candidates if p.caller_role.rank >= ProjectRole.EDITOR.rank]
    return sorted(editable, key=lambda project: project.pk != source.parent_id)


def _tool_rows(plan: MergePlan) -> list[dict[str, Any]]:
    holder_ids = {c.lock_holder_id for c in plan.tools_to_propose if c.lock_holder_id}
    emails = dict(User.objects.filter(pk__in=holder_ids).values_list("pk", "email"))
    return [
        {
            "change": change,
            "action": "update" if change.target_tool else "create",
            "locked_by": emails.get(change.lock_holder_id, "another user")
            if change.lock_holder_id
            else None,
        }
        for change in plan.tools_to_propose
    ]


def _plan_diffs(plan: MergePlan) -> dict[str, dict[str, Any]]:
    """Per proposed tool (by sandbox tool id): the target tool's current content and the
    sandbox tool's, for the page's diff (static/js/projects/merge-plan.js)."""
    return {
        str(change.source.pk): {
            "before": _fields_of(change.target_version),
            "after": _fields_of(change.source_version),
            "labels": {
                "before": f"{plan.target.name} v{change.target_version.version_number}"
                if change.target_version
                else f"{plan.target.name} (no such tool)",
                "after": f"{plan.source.name} v{change.source_version.version_number}"
                if change.source_version
                else plan.source.name,
            },
        }
        for change in plan.tools_to_propose
    }


@login_required
@require_GET
@domain_errors_to_messages
def merge_list(request: HttpRequest, project_id: str) -> HttpResponse:
    """The merges into and out of a project, newest first; every member sees them."""
    project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
    records = (
        MergeRecord.objects.filter(Q(target=project) | Q(source=project))
        .select_related("actor", "target")
        .order_by("-created_at", "id")[:MERGES_SHOWN]
    )
    return render(
        request,
        "sandbox_projects/merge_list.html",
        {"project": project, "records": list(records), "shown": MERGES_SHOWN},
    )


@login_required
@require_GET
@domain_errors_to_messages
def merge_record(request: HttpRequest, project_id: str, record_id: str) -> HttpResponse:
    """One merge: what it created in the target (the page a merge ends on)."""
    project = projects_access.get_project_for_user(user=request.user, project_id=project_id)
    record = (
        MergeRecord.objects.filter(Q(target=project) | Q(source=project))
        .filter(pk=parse_uuid(record_id, name="record_id"))
        .select_related("actor", "target")
        .first()
    )
    if record is None:
        raise Http404("No such merge in this project.")
    context = {
        "project": project,
        "record": record,
        "tools": _proposed_tools(record),
    }
    return render(request, "sandbox_projects/merge_result.html", context)


def _proposed_tools(record: MergeRecord) -> list[dict[str, Any]]:
    """The record's tool entries with the target tools' titles and the drafts' version numbers
    (tools may be gone since: they are then named, not linked)."""
    tool_ids = [entry["target_tool_id"] for entry in record.tools_proposed]
    version_ids = [entry["version_id"] for entry in record.tools_proposed]
    titles = dict(Tool.objects.filter(pk__in=tool_ids).values_list("pk", "title"))
    numbers = dict(
        ToolVersion.objects.filter(pk__in=version_ids).values_list("pk", "version_number")
    )
    rows = []
    for entry in record.tools_proposed:
        tool_id = uuid.UUID(entry["target_tool_id"])
        rows.append(
            {
                **entry,
                "exists": tool_id in titles,
                "title": titles.get(tool_id, "(tool deleted)"),
                "version_number": numbers.get(uuid.UUID(entry["version_id"])),
            }
        )
    return rows


def _fields_of(version: ToolVersion | None) -> dict[str, Any] | None:
    return ToolContent.of(version).as_fields() if version is not None else None
