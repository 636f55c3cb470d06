"""Tools in the admin: read-only views of what the tools services own, with actions that call
those services. Also registers the draft lock admin, whose overrides are tool use-cases."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.accounts.access import authenticated_user
from apps.accounts.models import Role, User
from apps.core.admin import ServiceOwnedAdmin, is_admin
from apps.core.exceptions import DomainError
from apps.tools import services
from apps.tools.models import (
    Category,
    MaintainerChange,
    Profession,
    Tool,
    ToolMaintainer,
    ToolVersion,
)

_M = TypeVar("_M", bound=Model)


def apply_each(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    objects: Iterable[_M],
    operation: Callable[[_M, User], object],
    *,
    done: str,
    label: Callable[[_M], str] = str,
) -> None:
    """Run a service per object as the signed-in user; each domain error becomes a message."""
    actor = authenticated_user(request)
    count = 0
    for obj in objects:
        try:
            operation(obj, actor)
        except DomainError as exc:
            model_admin.message_user(request, f"{label(obj)}: {exc.message}", messages.ERROR)
        else:
            count += 1
    if count:
        model_admin.message_user(request, f"{done}: {count}.", messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline[_M, Tool]):
    template = "admin/tools/readonly_tabular.html"
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(ReadOnlyInline[ToolVersion]):
    model = ToolVersion
    fk_name = "tool"
    fields = ("version", "state", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-version_number",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ToolVersion]:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="version")
    def version(self, version: ToolVersion) -> SafeString:
        url = reverse("admin:tools_toolversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.version_number)


class MaintainerInline(ReadOnlyInline[ToolMaintainer]):
    """Maintainers change only through the services, which keep the audit (guardian rows)."""

    model = ToolMaintainer
    fields = ("user",)
    readonly_fields = fields
    ordering = ("user__email",)
    verbose_name = "maintainer"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ToolMaintainer]:
        return super().get_queryset(request).select_related("user")


@admin.register(Tool)
class ToolAdmin(ServiceOwnedAdmin[Tool]):
    list_display = (
        "title",
        "slug",
        "project",
        "is_published",
        "active_version",
        "draft_head",
        "owner",
    )
    list_filter = (
        "is_published",
        ("draft_head", admin.EmptyFieldListFilter),
        ("active_version", admin.EmptyFieldListFilter),
        "professions",
        "categories",
    )
    list_select_related = ("project", "owner", "active_version", "draft_head")
    search_fields = ("title", "slug", "id", "project__name", "owner__email")
    fields = (
        "id",
        "project",
        "title",
        "slug",
        "summary",
        "owner",
        "is_published",
        "active_version",
        "draft_head",
        "professions",
        "categories",
        "created_at",
        "updated_at",
        "history",
    )
    readonly_fields = fields
    inlines = (VersionInline, MaintainerInline)
    actions = ("publish", "depublish")

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    @admin.display(description="history")
    def history(self, tool: Tool) -> SafeString:
        links = [
            ("admin:tools_toolversion_changelist", "All versions"),
            ("admin:tools_maintainerchange_changelist", "Maintainer changes"),
            ("admin:locks_draftlockevent_changelist", "Draft lock events"),
        ]
        return format_html_join(
            " · ",
            '<a href="{}?tool__id__exact={}">{}</a>',
            ((reverse(name), tool.pk, text) for name, text in links),
        )

    @admin.action(description="Publish tool", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Tool]) -> None:
        apply_each(
            self,
            request,
            queryset,
            lambda tool, actor: services.publish_tool(tool=tool, actor=actor),
            done="Published tools",
        )

    @admin.action(description="Depublish tool", permissions=["publish"])
    def depublish(self, request: HttpRequest, queryset: QuerySet[Tool]) -> None:
        apply_each(
            self,
            request,
            queryset,
            lambda tool, actor: services.depublish_tool(tool=tool, actor=actor),
            done="Depublished tools",
        )


VERSION_FIELDS = (
    "id",
    "tool",
    "version_number",
    "state",
    "derived_from",
    "created_by",
    "created_at",
    "change_summary",
)
VERSION_CONTENT_FIELDS = (
    "entrypoint",
    "source",
    "input_schema",
    "settings_schema",
    "usage_instructions",
    "content_hash",
)
VERSION_REVIEW_FIELDS = (
    "submitted_for_review_by",
    "submitted_for_review_at",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "published_by",
    "published_at",
)


def _version_label(version: ToolVersion) -> str:
    return f"{version.tool} v{version.version_number}"


class SandboxCopyFilter(admin.SimpleListFilter):
    title = "sandbox copy"
    parameter_name = "sandbox_copy"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "In a sandbox project"), ("no", "In a top-level project")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(tool__project__parent__isnull=self.value() == "no")
        return queryset


@admin.register(ToolVersion)
class ToolVersionAdmin(ServiceOwnedAdmin[ToolVersion]):
    """Versions are append-only content; only the workflow services change their state."""

    list_display = (
        "tool",
        "project",
        "version_number",
        "state",
        "created_by",
        "created_at",
        "published_at",
        "change_summary",
    )
    # A sandbox's tools are copies with the parent's titles: the project tells them apart.
    list_filter = ("state", SandboxCopyFilter, ("tool__project", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("tool__project", "created_by")
    search_fields = ("tool__title", "tool__slug", "id", "change_summary")
    ordering = ("-created_at",)
    fieldsets = (
        (None, {"fields": VERSION_FIELDS}),
        ("Content", {"fields": VERSION_CONTENT_FIELDS}),
        ("Review", {"fields": VERSION_REVIEW_FIELDS}),
    )
    readonly_fields = VERSION_FIELDS + VERSION_CONTENT_FIELDS + VERSION_REVIEW_FIELDS
    actions = ("publish_version", "request_changes", "rollback")

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    @admin.display(description="project", ordering="tool__project__name")
    def project(self, version: ToolVersion) -> str:
        return version.tool.project.name

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        return isinstance(request.user, User) and request.user.has_role(Role.SUPERUSER)

    @admin.display(description="source code")
    def source(self, version: ToolVersion) -> SafeString:
        return format_html("<pre>{}</pre>", version.source_code)

    @admin.action(description="Publish version (in review only)", permissions=["publish"])
    def publish_version(self, request: HttpRequest, queryset: QuerySet[ToolVersion]) -> None:
        apply_each(
            self,
            request,
            queryset,
            lambda version, actor: services.publish_version(version=version, actor=actor),
            done="Published versions",
            label=_version_label,
        )

    @admin.action(description="Request changes", permissions=["publish"])
    def request_changes(self, request: HttpRequest, queryset: QuerySet[ToolVersion]) -> None:
        apply_each(
            self,
            request,
            queryset,
            lambda version, actor: services.request_changes(version=version, actor=actor),
            done="Sent back for changes",
            label=_version_label,
        )

    @admin.action(description="Roll back to this version", permissions=["rollback"])
    def rollback(self, request: HttpRequest, queryset: QuerySet[ToolVersion]) -> None:
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(
                request, "Select exactly one version to roll back to.", messages.ERROR
            )
            return
        apply_each(
            self,
            request,
            versions,
            lambda version, actor: services.rollback_version(version=version, actor=actor),
            done="Rolled back",
            label=_version_label,
        )


@admin.register(MaintainerChange)
class MaintainerChangeAdmin(ServiceOwnedAdmin[MaintainerChange]):
    """The append-only audit of maintainer assignments and removals."""

    list_display = ("performed_at", "tool", "user", "action", "performed_by", "reason")
    list_filter = ("action", "tool")
    list_select_related = ("tool", "user", "performed_by")
    search_fields = ("tool__title", "user__email", "performed_by__email", "reason")
    ordering = ("-performed_at", "-id")


@admin.register(Profession)
class ProfessionAdmin(admin.ModelAdmin[Profession]):
    list_display = ("label", "slug")
    search_fields = ("label", "slug")
    prepopulated_fields = {"slug": ("label",)}
    ordering = ("label",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    list_display = ("label", "slug")
    search_fields = ("label", "slug")
    prepopulated_fields = {"slug": ("label",)}
    ordering = ("label",)
