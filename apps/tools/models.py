import uuid
from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.models import TimeStampedModel
from apps.projects.models import Project

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
PLACEHOLDER_PREFIX = "draft-"


class Profession(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)

    def __str__(self) -> str:
        return self.label


class Category(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=120)

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.label


class Tool(TimeStampedModel):
    """A tool of a project. Its content lives in append-only ToolVersions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tools")
    # `draft-<id>` until someone gives it a real slug; unique within the project.
    slug = models.CharField(max_length=128)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    is_published = models.BooleanField(default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_tools"
    )
    # The single ACTIVE version (set by publish and rollback).
    active_version = models.ForeignKey(
        "ToolVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The one DRAFT everyone edits; every service that changes it keeps it correct.
    draft_head = models.ForeignKey(
        "ToolVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # In a sandbox project: the tool of the parent this one was copied from (merges write back
    # to it). Null for tools created in the project itself.
    origin = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    professions = models.ManyToManyField(Profession, blank=True, related_name="tools")
    categories = models.ManyToManyField(Category, blank=True, related_name="tools")

    class Meta:
        permissions: ClassVar = [("maintain_tool", "Maintain the tool (edit its drafts)")]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["project", "slug"], name="tools_slug_unique_in_project"
            ),
            models.CheckConstraint(
                condition=models.Q(slug__regex=SLUG_PATTERN), name="tools_slug_url_safe"
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="tools_title_not_blank"),
        ]
        indexes: ClassVar = [
            # Used by the catalog search (tools.queries.matching_all_words): trigram indexes
            # serve `icontains`, which Django writes as UPPER(col) LIKE UPPER('%word%').
            GinIndex(OpClass(Upper("title"), name="gin_trgm_ops"), name="tools_title_trgm"),
            GinIndex(OpClass(Upper("summary"), name="gin_trgm_ops"), name="tools_summary_trgm"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_placeholder_slug(self) -> bool:
        return self.slug.startswith(PLACEHOLDER_PREFIX)


class ToolMaintainer(UserObjectPermissionBase):
    """A maintainer of a tool: guardian's direct foreign-key model, one row per maintainer."""

    content_object = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="maintainers")

    class Meta(UserObjectPermissionBase.Meta):
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["content_object", "user"], name="tools_one_maintainer_row_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} maintains {self.content_object_id}"


class ToolGroupPermission(GroupObjectPermissionBase):
    """Declared so guardian never falls back to its generic tables for tools; unused."""

    content_object = models.ForeignKey(Tool, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class MaintainerChange(models.Model):
    """Append-only audit of maintainer assignments and removals."""

    class Action(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        REMOVED = "removed", "Removed"

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="maintainer_changes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    performed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.action} {self.user_id} on {self.tool_id}"


class VersionState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"
    # A draft replaced by a newer save; it can never become the head again.
    SUPERSEDED = "superseded", "Superseded"


class ToolVersion(models.Model):
    """Append-only content of a tool. Only state and review fields ever change after insert."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="versions")
    version_number = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=VersionState.choices)
    entrypoint = models.CharField(max_length=128, default="run_tool")
    source_code = models.TextField()
    input_schema = models.JSONField(default=list)
    settings_schema = models.JSONField(null=True, blank=True)
    usage_instructions = models.TextField(blank=True)
    # sha256 of the canonical JSON of all five content fields; equal hashes = no change.
    content_hash = models.CharField(max_length=64)
    derived_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    change_summary = models.TextField(blank=True)
    review_note = models.TextField(blank=True)
    submitted_for_review_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_for_review_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["tool", "version_number"], name="tools_version_number_unique"
            ),
            # One ACTIVE version per tool.
            models.UniqueConstraint(
                fields=["tool"],
                condition=models.Q(state=VersionState.ACTIVE),
                name="tools_one_active_version",
            ),
            models.CheckConstraint(
                condition=models.Q(version_number__gte=1), name="tools_version_number_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=VersionState.values), name="tools_version_state_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(entrypoint="") & ~models.Q(source_code=""),
                name="tools_version_content_not_blank",
            ),
        ]
        indexes: ClassVar = [
            # Used by the editor's version list (newest first).
            models.Index(fields=["tool", "-version_number"], name="tools_version_newest"),
            # Used by the catalog search over usage instructions: only ACTIVE versions (one per
            # tool) are searched, so drafts and archived versions stay out of the index.
            GinIndex(
                OpClass(Upper("usage_instructions"), name="gin_trgm_ops"),
                condition=models.Q(state=VersionState.ACTIVE),
                name="tools_active_instructions_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version_number} ({self.state})"


class ToolFavorite(models.Model):
    """A user's star on a tool: the catalog lists starred tools under Favorites."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorite_tools"
    )
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="favorites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            # Also the index of "this user's favorites" (the catalog's Favorites section).
            models.UniqueConstraint(fields=["user", "tool"], name="tools_one_favorite_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} stars {self.tool_id}"
