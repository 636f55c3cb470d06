import uuid
from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.models import TimeStampedModel


class ProjectRole(models.TextChoices):
    """Project roles, in increasing order of power. Each is one guardian object permission."""

    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"
    OWNER = "owner", "Owner"

    @property
    def codename(self) -> str:
        return f"project_{self.value}"

    @property
    def rank(self) -> int:
        return list(ProjectRole).index(self)


ROLE_BY_CODENAME: dict[str, ProjectRole] = {role.codename: role for role in ProjectRole}


class ProjectQuerySet(models.QuerySet["Project"]):
    def live(self) -> "ProjectQuerySet":
        """Projects not scheduled for deletion."""
        return self.filter(deletion_scheduled_at__isnull=True)


ProjectManager = models.Manager.from_queryset(ProjectQuerySet)

COLOUR_PATTERN = r"^#[0-9a-f]{6}$"


class Project(TimeStampedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(max_length=5000, blank=True)
    # A project with a parent is a sandbox project of that parent.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="sandboxes"
    )
    colour = models.CharField(
        max_length=7,
        default="#4f46e5",
        validators=[RegexValidator(COLOUR_PATTERN, "Use a lower-case hex colour like #4f46e5.")],
    )
    # Set when deletion is requested; a beat job purges the project once this time has passed.
    deletion_scheduled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="created_projects",
    )

    objects = ProjectManager()

    # Annotated by apps.projects.access: the permission codename of the caller's role.
    role_codename: str = ""

    class Meta:
        permissions: ClassVar = [
            (role.codename, f"{role.label} of the project") for role in ProjectRole
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(colour__regex=COLOUR_PATTERN), name="projects_colour_hex"
            ),
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")), name="projects_not_own_parent"
            ),
            # A sandbox's name is unique among the live sandboxes of its parent.
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=models.Q(parent__isnull=False, deletion_scheduled_at__isnull=True),
                name="projects_sandbox_name_unique_in_parent",
            ),
        ]
        indexes: ClassVar = [
            # Used by purge_scheduled_projects.
            models.Index(
                fields=["deletion_scheduled_at"],
                name="projects_scheduled_deletion",
                condition=models.Q(deletion_scheduled_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def caller_role(self) -> ProjectRole:
        """The requesting user's role; only on projects loaded through apps.projects.access."""
        return ROLE_BY_CODENAME[self.role_codename]


class ProjectMembership(UserObjectPermissionBase):
    """A member's role in a project: exactly one guardian permission row per (project, user).

    Guardian's direct foreign-key model (never the generic one), so rows cascade with the project
    and the role lookup is one indexed query.
    """

    content_object = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "project membership"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["content_object", "user"], name="projects_one_role_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.content_object_id}"

    @property
    def role(self) -> ProjectRole:
        return ROLE_BY_CODENAME[self.permission.codename]


class ProjectGroupPermission(GroupObjectPermissionBase):
    """Guardian's group counterpart; unused today, declared so guardian never falls back to
    its generic tables for projects."""

    content_object = models.ForeignKey(Project, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "project group permission"
