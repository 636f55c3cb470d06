"""Sandbox snapshots in the admin: read-only, they are immutable and expire on their own."""

from django.contrib import admin

from apps.core.admin import ServiceOwnedAdmin
from apps.sandbox.models import SandboxSnapshot


@admin.register(SandboxSnapshot)
class SandboxSnapshotAdmin(ServiceOwnedAdmin[SandboxSnapshot]):
    list_display = ("id", "tool", "draft_head", "created_by", "payload_bytes", "expires_at")
    list_filter = ("created_at", "expires_at")
    search_fields = ("id", "tool__title", "created_by__email")
    list_select_related = ("tool", "draft_head", "created_by")
    readonly_fields = [field.name for field in SandboxSnapshot._meta.fields]
