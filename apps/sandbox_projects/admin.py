"""Merge records in the admin: read-only audit."""

from django.contrib import admin

from apps.core.admin import ServiceOwnedAdmin
from apps.sandbox_projects.models import MergeRecord


@admin.register(MergeRecord)
class MergeRecordAdmin(ServiceOwnedAdmin[MergeRecord]):
    list_display = ("created_at", "source_name", "target", "actor")
    list_filter = ("created_at",)
    search_fields = ("source_name", "target__name", "actor__email")
    list_select_related = ("target", "actor")
    readonly_fields = [field.name for field in MergeRecord._meta.fields]
