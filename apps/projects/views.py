from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role
from apps.core.web import domain_errors_to_messages
from apps.projects import access, services
from apps.projects.forms import MemberAddForm, MemberRoleForm, ProjectForm
from apps.projects.models import Project, ProjectRole


@login_required
@domain_errors_to_messages
def project_list(request: HttpRequest) -> HttpResponse:
    """The user's own projects; contributors and above can create one here."""
    can_create = authenticated_user(request).has_role(Role.CONTRIBUTOR)
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.create_project(creator=authenticated_user(request), **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” created.")
        return redirect("projects:project-detail", project_id=project.pk)
    projects = access.projects_visible_to(request.user).order_by("name", "id")
    return render(
        request,
        "projects/project_list.html",
        {"projects": list(projects), "form": form, "can_create": can_create},
    )


@login_required
@domain_errors_to_messages
def project_detail(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(user=request.user, project_id=project_id)
    is_admin = project.caller_role.rank >= ProjectRole.ADMIN.rank
    initial = {"name": project.name, "description": project.description, "colour": project.colour}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST":
        project = access.get_project_for_user(
            user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
        )
        if form.is_valid():
            services.update_project(project=project, **form.cleaned_data)
            messages.success(request, "Project updated.")
            return redirect("projects:project-detail", project_id=project.pk)
    members = list(access.memberships_of(project))
    owner_ids = [member.user_id for member in members if member.role == ProjectRole.OWNER]
    context = {
        "project": project,
        "members": members,
        # The only owner can neither leave nor step down, so the page offers neither.
        "sole_owner_id": owner_ids[0] if len(owner_ids) == 1 else None,
        "is_admin": is_admin,
        "is_owner": project.caller_role == ProjectRole.OWNER,
        "form": form,
        "member_form": MemberAddForm(),
        "roles": ProjectRole.choices,
        **_sandbox_context(request, project),
    }
    return render(request, "projects/project_detail.html", context)


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


@login_required
@require_POST
@domain_errors_to_messages
def project_delete(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.OWNER
    )
    project = services.schedule_project_deletion(project=project, actor=authenticated_user(request))
    messages.success(
        request,
        f"“{project.name}” is scheduled for deletion on "
        f"{project.deletion_scheduled_at:%Y-%m-%d %H:%M} UTC. "
        "Restore it through the API until then.",
    )
    return redirect("projects:project-list")


@login_required
@require_POST
@domain_errors_to_messages
def member_add(request: HttpRequest, project_id: str) -> HttpResponse:
    project = access.get_project_for_user(
        user=request.user, project_id=project_id, min_role=ProjectRole.ADMIN
    )
    form = MemberAddForm(request.POST)
    if form.is_valid():
        services.add_member(
            project=project,
            actor_role=project.caller_role,
            email=form.cleaned_data["email"],
            role=ProjectRole(form.cleaned_data["role"]),
        )
        messages.success(request, f"{form.cleaned_data['email']} added.")
    else:
        messages.error(request, "Enter an email address and a role.")
    return redirect("projects:project-detail", project_id=project.pk)


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
