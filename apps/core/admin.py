"""Admin building blocks every app's admin uses."""

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

_M = TypeVar("_M", bound=Model)


def is_admin(request: HttpRequest) -> bool:
    """Whether the request comes from platform staff: an active user with the global role admin
    or superuser (`is_staff` is derived from the role and held to it by a constraint)."""
    user = request.user
    return bool(user.is_active and user.is_staff)


class ServiceOwnedAdmin(admin.ModelAdmin[_M]):
    """Rows that only services write: every staff user may look, nobody adds, edits or deletes.

    Staff means the global role admin or superuser; admins hold no Django model permissions, so
    viewing is granted here and each action names the role it needs.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_override_permission(self, request: HttpRequest) -> bool:
        """Used by actions declared with `permissions=["override"]`."""
        return is_admin(request)
