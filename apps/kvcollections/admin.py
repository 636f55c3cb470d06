from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.kvcollections import services
from apps.kvcollections.models import Collection


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    """Read-only view of collections; deleting goes through the service. Items are not shown:
    they are data of the project, changed through the API and the project's pages only."""

    list_display = ("name", "project", "item_count", "byte_size", "updated_at")
    list_filter = ("updated_at", "created_at")
    list_select_related = ("project",)
    search_fields = ("name", "project__name")
    fields = ("id", "name", "project", "item_count", "byte_size", "created_at", "updated_at")
    readonly_fields = fields
    ordering = ("project__name", "name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created in the project's pages or the API, which validate the name

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # counters belong to the item services; renames to the project's pages

    def delete_model(self, request: HttpRequest, obj: Collection) -> None:
        services.delete_collection(collection=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Collection]) -> None:
        for collection in queryset:
            services.delete_collection(collection=collection)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # Django's default lists every related row, and a collection can hold millions of items.
        collections = list(objs)
        items = sum(collection.item_count for collection in collections)
        summary = [f"Collection: {c.name} ({c.item_count} items)" for c in collections]
        perms_needed = set() if self.has_delete_permission(request) else {"collection"}
        return summary, {"collections": len(collections), "items": items}, perms_needed, []
