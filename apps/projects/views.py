from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role
from apps.core.exceptions import DomainError
from apps.core.web import add_domain_error, domain_errors_to_messages, focus_first_error
from apps.projects import access, services
from apps.projects.exceptions import OwnerRequired
from apps.projects.forms import MemberAddForm, MemberRoleForm, ProjectForm
from apps.projects.models import Project, ProjectRole

# A refused form is shown again, bound, with this status: the page, not a redirect, carries
# the errors at the fields and what was typed.
FORM_REFUSED = 400


@login_required
@domain_errors_to_messages
def project_list(request: HttpRequest) -> HttpResponse:
    """The user's own projects; contributors and above can create one here."""
    user = authenticated_user(request)
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            project = services.create_project(creator=user, **form.cleaned_data)
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("projects:project-detail", project_id=project.pk)
        focus_first_error(form)
    context = {
        "projects": list(access.projects_visible_to(user).order_by("name", "id")),
        "form": form,
        "can_create": user.has_role(Role.CONTRIBUTOR),
        # Global admins and superusers are platform staff: the page says what they can do.
        "is_staff": user.has_role(Role.ADMIN),
        "review_queue_url": _review_queue_url(),
        "scheduled_count": access.scheduled_projects_owned_by(user).count(),
    }
    return render(request, "projects/project_list.html", context)


def _review_queue_url() -> str | None:
    # The review pages live in a higher app (apps.editor); link them only once they exist.
    try:
        return reverse("editor:review-queue")
    except NoReverseMatch:
        return None


@login_required
@domain_errors_to_messages
def project_detail(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(user=request.user, project_id=project_id)
    if request.method != "POST":
        return project_page(request, project)
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
    )
    form = ProjectForm(request.POST)
    if form.is_valid():
        try:
            services.update_project(project=project, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Project updated.")
            return redirect("projects:project-detail", project_id=project.pk)
    return project_page(request, project, form=form, status=FORM_REFUSED)


def project_page(
    request: HttpRequest,
    project: Project,
    *,
    form: ProjectForm | None = None,
    member_form: MemberAddForm | None = None,
    sandbox_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    """The project page. A form passed in is a refused, bound one: shown again with its errors
    at the fields and the values typed (the sandbox form is apps.sandbox_projects' own)."""
    for refused in (form, member_form):
        if refused is not None and refused.errors:
            focus_first_error(refused)
    members = list(access.memberships_of(project))
    owner_ids = [member.user_id for member in members if member.role == ProjectRole.OWNER]
    initial = {"name": project.name, "description": project.description, "colour": project.colour}
    context = {
        "project": project,
        "members": members,
        # The only owner can neither leave nor step down, so the page offers neither.
        "sole_owner_id": owner_ids[0] if len(owner_ids) == 1 else None,
        "is_admin": project.caller_role.rank >= ProjectRole.ADMIN.rank,
        "is_owner": project.caller_role == ProjectRole.OWNER,
        "form": form or ProjectForm(initial=initial),
        "member_form": member_form or MemberAddForm(),
        "sandbox_form": sandbox_form,
        "roles": ProjectRole.choices,
        **_sandbox_context(request, project),
    }
    return render(request, "projects/project_detail.html", context, status=status)


def _sandbox_context(request: HttpRequest, project: Project) -> dict[str, Any]:
    """The project's live sandboxes and, for a sandbox, its parent. Sandbox pages and forms
    belong to apps.sandbox_projects (a higher layer); the template reaches them by URL name."""
    sandboxes = (
        Project.objects.live()
        .filter(parent=project)
        .select_related("created_by")
        .order_by("created_at", "id")
    )
    # Every sandbox is listed (its name is taken in this project); only members get a link.
    mine = access.projects_visible_to(request.user).filter(parent=project)
    return {
        "sandboxes": list(sandboxes),
        "my_sandbox_ids": set(mine.values_list("pk", flat=True)),
        "parent": project.parent,
        "can_create_sandbox": project.caller_role.rank >= ProjectRole.EDITOR.rank,
    }


# --- Deletion: confirm, schedule, restore within the grace period -------------------------------


@login_required
@domain_errors_to_messages
def project_delete(request: HttpRequest, project_id: str) -> HttpResponse:
    """GET (or a POST without `confirm`): the confirmation page, naming the project, its
    sandboxes and the grace period. POST with `confirm`: schedule the deletion."""
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.OWNER
    )
    if request.method == "POST" and request.POST.get("confirm") == "1":
        project = services.schedule_project_deletion(
            project=project, actor=authenticated_user(request)
        )
        messages.success(
            request,
            f"“{project.name}” is scheduled for deletion and will be purged on "
            f"{project.deletion_scheduled_at:%Y-%m-%d %H:%M} UTC. Restore it here until then.",
        )
        return redirect("projects:scheduled-list")
    grace_days = settings.PROJECT_DELETION_GRACE_DAYS
    context = {
        "project": project,
        "sandboxes": list(
            Project.objects.live()
            .filter(pk__in=services.descendant_ids(project.pk))
            .order_by("name", "id")
        ),
        "grace_days": grace_days,
        "purge_at": timezone.now() + timedelta(days=grace_days),
    }
    return render(request, "projects/project_confirm_delete.html", context)


@login_required
def scheduled_list(request: HttpRequest) -> HttpResponse:
    """The user's projects scheduled for deletion (as owner), restorable until their purge."""
    projects = (
        access.scheduled_projects_owned_by(request.user)
        .select_related("parent")
        .order_by("deletion_scheduled_at", "name", "id")
    )
    rows = [{"project": project, "blocked_by": _blocked_by(project)} for project in projects]
    context = {"rows": rows, "grace_days": settings.PROJECT_DELETION_GRACE_DAYS}
    return render(request, "projects/project_scheduled_list.html", context)


def _blocked_by(project: Project) -> str:
    """Why Restore is not offered: "" (it is), "with_parent" (it comes back with its parent,
    scheduled at the same time) or "parent" (its parent must be restored first)."""
    parent = project.parent
    if parent is None or parent.deletion_scheduled_at is None:
        return ""
    same_time = parent.deletion_scheduled_at == project.deletion_scheduled_at
    return "with_parent" if same_time else "parent"


@login_required
@require_POST
@domain_errors_to_messages
def project_restore(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(
        user=request.user,
        project_id=project_id,
        min_role=ProjectRole.OWNER,
        include_scheduled=True,
    )
    project = services.restore_project(project=project, actor=authenticated_user(request))
    messages.success(request, f"“{project.name}” is restored.")
    return redirect("projects:project-detail", project_id=project.pk)


# --- Members ------------------------------------------------------------------------------------


@login_required
@require_POST
@domain_errors_to_messages
def member_add(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
    )
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            services.add_member(
                project=project,
                actor_role=project.caller_role,
                email=form.cleaned_data["email"],
                role=ProjectRole(form.cleaned_data["role"]),
            )
        except DomainError as exc:
            add_domain_error(form, exc, field="role" if isinstance(exc, OwnerRequired) else "email")
        else:
            messages.success(request, f"{form.cleaned_data['email']} added.")
            return redirect("projects:project-detail", project_id=project.pk)
    return project_page(request, project, member_form=form, status=FORM_REFUSED)


@login_required
@require_POST
@domain_errors_to_messages
def member_role(request: HttpRequest, project_id: str, user_id: int) -> HttpResponse:
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
    )
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        services.change_member_role(
            project=project,
            actor_role=project.caller_role,
            member_id=user_id,
            role=ProjectRole(form.cleaned_data["role"]),
        )
        messages.success(request, "Role changed.")
    return redirect("projects:project-detail", project_id=project.pk)


@login_required
@require_POST
@domain_errors_to_messages
def member_remove(request: HttpRequest, project_id: str, user_id: int) -> HttpResponse:
    leaving = user_id == request.user.pk
    project = access.get_project_for_user(
        user=request.user,
        project_id=project_id,
        min_role=ProjectRole.VIEWER if leaving else ProjectRole.ADMIN,
    )
    services.remove_member(
        project=project,
        actor=authenticated_user(request),
        actor_role=project.caller_role,
        member_id=user_id,
    )
    if leaving:
        messages.success(request, f"You left “{project.name}”.")
        return redirect("projects:project-list")
    messages.success(request, "Member removed.")
    return redirect("projects:project-detail", project_id=project.pk)
