from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.exceptions import DomainError
from apps.projects import services
from apps.projects.models import Project, ProjectMembership, ProjectRole


class MembershipInline(admin.TabularInline[ProjectMembership, Project]):
    model = ProjectMembership
    fields = ("user", "permission", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Members (change them under Project memberships)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin[Project]):
    list_display = ("name", "parent", "created_by", "created_at", "deletion_scheduled_at")
    list_filter = (
        ("parent", admin.EmptyFieldListFilter),
        ("deletion_scheduled_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("parent", "created_by")
    search_fields = ("name", "id")
    raw_id_fields = ("parent", "created_by")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = (MembershipInline,)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deletion is scheduled by the owners (restorable for a grace period) and purged by the
        # beat job; an admin bulk delete would also build a page listing every collection item.
        return False


class MembershipForm(forms.ModelForm[ProjectMembership]):
    role = forms.ChoiceField(choices=ProjectRole.choices)

    class Meta:
        model = ProjectMembership
        fields = ("content_object", "user")


@admin.register(ProjectMembership)
class ProjectMembershipAdmin(admin.ModelAdmin[ProjectMembership]):
    """Memberships change only through the project services, which keep one owner per project."""

    form = MembershipForm
    list_display = ("content_object", "user", "permission", "created_at")
    list_filter = ("permission",)
    list_select_related = ("content_object", "user", "permission")
    search_fields = ("user__email", "content_object__name")
    raw_id_fields = ("content_object", "user")
    actions = ("remove_memberships",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("content_object", "user") if obj else ()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields["role"].initial = obj.role.value
        return form

    def save_model(
        self, request: HttpRequest, obj: ProjectMembership, form: Any, change: bool
    ) -> None:
        role = ProjectRole(form.cleaned_data["role"])
        try:
            if change:
                services.change_member_role(
                    project=obj.content_object,
                    actor_role=ProjectRole.OWNER,
                    member_id=obj.user_id,
                    role=role,
                )
            else:
                services.add_member(
                    project=obj.content_object,
                    actor_role=ProjectRole.OWNER,
                    email=obj.user.email,
                    role=role,
                )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removal goes through the action, which keeps the last owner

    @admin.action(description="Remove selected memberships", permissions=["change"])
    def remove_memberships(
        self, request: HttpRequest, queryset: QuerySet[ProjectMembership]
    ) -> None:
        removed = 0
        for membership in queryset.select_related("content_object", "user"):
            try:
                services.remove_member(
                    project=membership.content_object,
                    actor=request.user,  # type: ignore[arg-type]
                    actor_role=ProjectRole.OWNER,
                    member_id=membership.user_id,
                )
                removed += 1
            except DomainError as exc:
                self.message_user(request, f"{membership.user}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Removed {removed} membership(s).", messages.SUCCESS)
