"""Runs and sessions in the admin: read-only (only the run pipeline writes them)."""

from django.contrib import admin

from apps.core.admin import ServiceOwnedAdmin
from apps.runs.models import ToolRun, ToolSession


@admin.register(ToolRun)
class ToolRunAdmin(ServiceOwnedAdmin[ToolRun]):
    list_display = (
        "id",
        "tool",
        "context",
        "status",
        "action_id",
        "requested_by",
        "requested_at",
        "finished_at",
    )
    list_filter = ("status", "context", "requested_at")
    search_fields = ("id", "tool__title", "requested_by__email", "error_summary")
    list_select_related = ("tool", "requested_by")
    date_hierarchy = "requested_at"
    readonly_fields = [field.name for field in ToolRun._meta.fields]


@admin.register(ToolSession)
class ToolSessionAdmin(ServiceOwnedAdmin[ToolSession]):
    list_display = ("context", "tool", "user", "state_rev", "pending_run", "updated_at")
    list_filter = ("updated_at",)
    search_fields = ("context", "tool__title", "user__email")
    list_select_related = ("tool", "user")
    readonly_fields = [field.name for field in ToolSession._meta.fields]
