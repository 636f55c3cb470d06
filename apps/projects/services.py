import uuid
from datetime import timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now

from apps.accounts.models import Role, User
from apps.core.models import validate_model
from apps.projects import access
from apps.projects.exceptions import (
    AlreadyMember,
    ContributorRequired,
    LastOwner,
    MemberNotFound,
    OwnerRequired,
    ParentScheduledForDeletion,
    SandboxNameTaken,
    SandboxTooDeep,
    UnknownUser,
)
from apps.projects.models import Project, ProjectMembership, ProjectRole

log = structlog.get_logger(__name__)

# Lock order for membership changes: the Project row first, then its membership rows.


@transaction.atomic
def create_project(
    *, creator: User, name: str, description: str = "", colour: str | None = None
) -> Project:
    """Create a project owned by `creator`.

    :raises ContributorRequired: the creator's global role is below contributor
    """
    if not creator.has_role(Role.CONTRIBUTOR):
        raise ContributorRequired()
    project = Project(name=name, description=description, created_by=creator)
    if colour:
        project.colour = colour
    validate_model(project)
    project.save()
    access.assign_role(user=creator, project=project, role=ProjectRole.OWNER)
    log.info("project.created", project_id=str(project.pk), user_id=creator.pk)
    return project


@transaction.atomic
def update_project(
    *,
    project: Project,
    name: str | None = None,
    description: str | None = None,
    colour: str | None = None,
) -> Project:
    changes = {
        field: value
        for field, value in (("name", name), ("description", description), ("colour", colour))
        if value is not None
    }
    for field, value in changes.items():
        setattr(project, field, value)
    if changes:
        validate_model(project)
        project.save(update_fields=list(changes))
        log.info("project.updated", project_id=str(project.pk), fields=sorted(changes))
    return project


@transaction.atomic
def schedule_project_deletion(*, project: Project, actor: User) -> Project:
    """Hide the project at once and purge it after the grace period (restorable until then)."""
    grace = timedelta(days=settings.PROJECT_DELETION_GRACE_DAYS)
    # Its sandboxes go with it, with the same time, so a restore brings back exactly those.
    tree = [project.pk, *descendant_ids(project.pk)]
    Project.objects.filter(pk__in=tree, deletion_scheduled_at__isnull=True).update(
        deletion_scheduled_at=Now() + grace
    )
    project.refresh_from_db(fields=["deletion_scheduled_at"])
    log.info(
        "project.deletion_scheduled",
        project_id=str(project.pk),
        user_id=actor.pk,
        purge_after=project.deletion_scheduled_at,
    )
    return project


@transaction.atomic
def restore_project(*, project: Project, actor: User) -> Project:
    """Cancel the scheduled deletion of the project and of the sandboxes scheduled with it.

    :raises ParentScheduledForDeletion: the purge of the parent would take the restored
        sandbox along, so the parent is restored first
    :raises SandboxNameTaken: a live sandbox of the same parent took the name meanwhile
    """
    if project.parent_id is not None and _is_scheduled(project.parent_id):
        raise ParentScheduledForDeletion()
    scheduled = project.deletion_scheduled_at
    tree = [project.pk, *descendant_ids(project.pk)]
    try:
        with transaction.atomic():
            Project.objects.filter(pk__in=tree, deletion_scheduled_at=scheduled).update(
                deletion_scheduled_at=None
            )
    except IntegrityError:
        # The name was freed by the schedule and given to a new sandbox since.
        message = (
            f"“{project.name}” cannot be restored: another live sandbox of the parent project "
            "took this name meanwhile. Rename that sandbox, then restore this one."
        )
        raise SandboxNameTaken(message, details={"name": project.name}) from None
    project.deletion_scheduled_at = None
    log.info("project.restored", project_id=str(project.pk), user_id=actor.pk)
    return project


def _is_scheduled(project_id: uuid.UUID) -> bool:
    return Project.objects.filter(pk=project_id, deletion_scheduled_at__isnull=False).exists()


def purge_scheduled_projects() -> int:
    """Delete projects whose grace period has ended (database clock). Safe to run concurrently."""
    _, per_model = Project.objects.filter(deletion_scheduled_at__lte=Now()).delete()
    purged = per_model.get(Project._meta.label, 0)
    log.info("project.purge_finished", purged_projects=purged, deleted_rows=per_model)
    return purged


@transaction.atomic
def add_member(
    *, project: Project, actor_role: ProjectRole, email: str, role: ProjectRole
) -> ProjectMembership:
    """Add an existing active user to the project with `role`.

    :raises UnknownUser: no active user has this email
    :raises AlreadyMember: the user already has a role here
    :raises OwnerRequired: a non-owner tried to grant the owner role
    """
    _lock(project)
    if role == ProjectRole.OWNER and actor_role != ProjectRole.OWNER:
        raise OwnerRequired()
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise UnknownUser(details={"fields": {"email": ["No active user has this email address."]}})
    if ProjectMembership.objects.filter(content_object=project, user=user).exists():
        raise AlreadyMember()
    membership = access.assign_role(user=user, project=project, role=role)
    log.info("project.member_added", project_id=str(project.pk), user_id=user.pk, role=role.value)
    return membership


@transaction.atomic
def change_member_role(
    *, project: Project, actor_role: ProjectRole, member_id: int, role: ProjectRole
) -> ProjectMembership:
    """Change a member's role; owners alone touch the owner role, and one owner always remains.

    :raises MemberNotFound, OwnerRequired, LastOwner:
    """
    _lock(project)
    membership = _membership(project, member_id)
    touches_owner = ProjectRole.OWNER in (membership.role, role)
    if touches_owner and actor_role != ProjectRole.OWNER:
        raise OwnerRequired()
    if membership.role == ProjectRole.OWNER and role != ProjectRole.OWNER:
        _ensure_another_owner(project)
    membership = access.assign_role(user=membership.user, project=project, role=role)
    log.info(
        "project.member_role_changed",
        project_id=str(project.pk),
        user_id=member_id,
        role=role.value,
    )
    return membership


@transaction.atomic
def remove_member(
    *, project: Project, actor: User, actor_role: ProjectRole, member_id: int
) -> None:
    """Remove a member (admins+ remove others; anyone may leave), keeping one owner.

    :raises MemberNotFound, OwnerRequired, LastOwner:
    """
    _lock(project)
    membership = _membership(project, member_id)
    leaving = member_id == actor.pk
    if not leaving and membership.role == ProjectRole.OWNER and actor_role != ProjectRole.OWNER:
        raise OwnerRequired()
    if membership.role == ProjectRole.OWNER:
        _ensure_another_owner(project)
    access.revoke_role(user=membership.user, project=project)
    log.info("project.member_removed", project_id=str(project.pk), user_id=member_id)


def _lock(project: Project) -> None:
    # Serialises membership changes of one project, so two owners demoting each other at the
    # same time cannot both succeed and leave the project without an owner.
    Project.objects.select_for_update(of=("self",)).filter(pk=project.pk).values_list("pk").get()


def _membership(project: Project, member_id: int) -> ProjectMembership:
    membership = access.memberships_of(project).filter(user_id=member_id).first()
    if membership is None:
        raise MemberNotFound()
    return membership


def _ensure_another_owner(project: Project) -> None:
    owners = access.memberships_of(project).filter(permission__codename=ProjectRole.OWNER.codename)
    if owners.count() < 2:
        raise LastOwner()


# Sandbox projects (what they copy from other apps is done by apps.sandbox_projects)

PROJECTS = Project._meta.db_table

_DEPTH_SQL = f"""
WITH RECURSIVE chain(id, parent_id, depth) AS (
    SELECT id, parent_id, 0 FROM {PROJECTS} WHERE id = %s
    UNION ALL
    SELECT p.id, p.parent_id, c.depth + 1 FROM {PROJECTS} p JOIN chain c ON p.id = c.parent_id
)
SELECT max(depth) FROM chain
"""  # noqa: S608 - table name from model metadata

_DESCENDANTS_SQL = f"""
WITH RECURSIVE tree(id) AS (
    SELECT id FROM {PROJECTS} WHERE parent_id = %s
    UNION ALL
    SELECT p.id FROM {PROJECTS} p JOIN tree t ON p.parent_id = t.id
)
SELECT id FROM tree
"""  # noqa: S608 - table name from model metadata


def depth_of(project_id: uuid.UUID) -> int:
    """0 for a top-level project, 1 for its sandbox, 2 for a sandbox of that, ..."""
    with connection.cursor() as cursor:
        cursor.execute(_DEPTH_SQL, [project_id])
        return int(cursor.fetchone()[0])


def descendant_ids(project_id: uuid.UUID) -> list[uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(_DESCENDANTS_SQL, [project_id])
        return [row[0] for row in cursor.fetchall()]


def create_sandbox_project(
    *, parent: Project, actor: User, name: str, colour: str | None = None
) -> Project:
    """The sandbox project row and its members, in the caller's transaction: the actor becomes
    owner, the parent's owners become admins, every other member keeps their role.

    :raises ValidationFailed, SandboxTooDeep, SandboxNameTaken:
    """
    if depth_of(parent.pk) + 1 > settings.SANDBOX_PROJECT_MAX_DEPTH:
        raise SandboxTooDeep(details={"max_depth": settings.SANDBOX_PROJECT_MAX_DEPTH})
    sandbox = Project(
        name=name,
        description=parent.description,
        parent=parent,
        colour=colour or parent.colour,
        created_by=actor,
    )
    validate_model(sandbox)
    try:
        with transaction.atomic():
            sandbox.save()
    except IntegrityError:
        raise SandboxNameTaken(details={"name": name}) from None
    for membership in access.memberships_of(parent):
        if membership.user_id == actor.pk:
            continue
        role = ProjectRole.ADMIN if membership.role == ProjectRole.OWNER else membership.role
        access.assign_role(user=membership.user, project=sandbox, role=role)
    access.assign_role(user=actor, project=sandbox, role=ProjectRole.OWNER)
    log.info(
        "project.sandbox_created",
        project_id=str(sandbox.pk),
        parent_id=str(parent.pk),
        user_id=actor.pk,
    )
    return sandbox
