"""Favorites: a user's stars on the tools they run."""

from django.db import transaction

from apps.accounts.models import User
from apps.tools.models import Tool, ToolFavorite


@transaction.atomic
def add_favorite(*, user: User, tool: Tool) -> None:
    """Star `tool` for `user`. Idempotent: starring a starred tool changes nothing.

    The caller has checked that `user` may run `tool` (access.get_published_tool_for_user).
    """
    # ON CONFLICT DO NOTHING: two concurrent stars (a double click) both succeed, one row.
    ToolFavorite.objects.bulk_create([ToolFavorite(user=user, tool=tool)], ignore_conflicts=True)


@transaction.atomic
def remove_favorite(*, user: User, tool: Tool) -> None:
    """Remove `user`'s star from `tool`. Idempotent: unstarring an unstarred tool is fine."""
    ToolFavorite.objects.filter(user=user, tool=tool).delete()
