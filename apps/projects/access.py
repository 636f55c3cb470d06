"""The only door to projects and memberships: every lookup from user input goes through here."""

import uuid

from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import F, QuerySet

from apps.accounts.models import User
from apps.core.identifiers import parse_uuid
from apps.projects.exceptions import ProjectNotFound, ProjectRoleRequired
from apps.projects.models import Project, ProjectMembership, ProjectRole


def projects_visible_to(user: User | AnonymousUser) -> QuerySet[Project]:
    """Live projects where `user` holds a role, each annotated with `role_codename`."""
    if not user.is_authenticated:
        return Project.objects.none()
    return (
        Project.objects.live()
        .filter(memberships__user=user)
        .annotate(role_codename=F("memberships__permission__codename"))  # type: ignore[no-redef]
    )


def get_project_for_user(
    *,
    user: User | AnonymousUser,
    project_id: str | uuid.UUID,
    min_role: ProjectRole = ProjectRole.VIEWER,
    include_scheduled: bool = False,
) -> Project:
    """Return the project with `role` set to the caller's role.

    :raises BadRequest: `project_id` is not a UUID
    :raises ProjectNotFound: no such project, or the caller is not a member (same answer)
    :raises ProjectRoleRequired: a member whose role is below `min_role`
    """
    pk = (
        project_id
        if isinstance(project_id, uuid.UUID)
        else parse_uuid(project_id, name="project_id")
    )
    projects = projects_visible_to(user)
    if include_scheduled and user.is_authenticated:
        projects = Project.objects.filter(memberships__user=user).annotate(
            role_codename=F("memberships__permission__codename")  # type: ignore[no-redef]
        )
    project = projects.filter(pk=pk).first()
    if project is None:
        raise ProjectNotFound()
    if project.caller_role.rank < min_role.rank:
        raise ProjectRoleRequired(
            f"This action needs the project role {min_role.value} or higher.",
            details={"required_role": min_role.value, "your_role": project.caller_role.value},
        )
    return project


def memberships_of(project: Project) -> QuerySet[ProjectMembership]:
    return (
        ProjectMembership.objects.filter(content_object=project)
        .select_related("user", "permission")
        .order_by("created_at", "id")
    )


def role_permission(role: ProjectRole) -> Permission:
    return Permission.objects.get(content_type__app_label="projects", codename=role.codename)


def assign_role(*, user: User, project: Project, role: ProjectRole) -> ProjectMembership:
    """Give `user` exactly `role` in `project` (the single guardian row is created or replaced)."""
    membership: ProjectMembership
    membership, _ = ProjectMembership.objects.update_or_create(
        content_object=project, user=user, defaults={"permission": role_permission(role)}
    )
    return membership


def revoke_role(*, user: User, project: Project) -> None:
    ProjectMembership.objects.filter(content_object=project, user=user).delete()
