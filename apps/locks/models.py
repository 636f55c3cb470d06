from typing import ClassVar

from django.conf import settings
from django.db import models


class DraftLock(models.Model):
    """The one lock of a tool, on its current draft head. Expiry is decided by the database clock.

    The row outlives releases (holder NULL) so the fencing `token` only ever grows.
    """

    tool = models.OneToOneField(
        "tools.Tool", primary_key=True, on_delete=models.CASCADE, related_name="draft_lock"
    )
    draft_head = models.ForeignKey("tools.ToolVersion", on_delete=models.CASCADE, related_name="+")
    # SET_NULL, not CASCADE: deleting the holder must not delete the row and restart the token.
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the current holder acquired it (refreshes keep it).
    acquired_at = models.DateTimeField()
    refreshed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Fencing token: +1 on every new acquisition or takeover, never on a refresh.
    token = models.BigIntegerField(default=1)
    forced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes: ClassVar = [
            # Used by sweep_expired_draft_locks.
            models.Index(
                fields=["expires_at"],
                name="locks_held_expiry",
                condition=models.Q(holder__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"lock on {self.tool_id} by {self.holder_id}"


class DraftLockEvent(models.Model):
    """Append-only audit of every lock change."""

    class Action(models.TextChoices):
        ACQUIRED = "acquired", "Acquired"
        FORCED = "forced", "Forced takeover"
        RELEASED = "released", "Released"
        ADMIN_RELEASED = "admin_released", "Released by an admin"
        EXPIRED = "expired", "Expired"
        MOVED = "moved", "Moved to a new draft head"

    tool = models.ForeignKey("tools.Tool", on_delete=models.CASCADE, related_name="lock_events")
    draft_head = models.ForeignKey(
        "tools.ToolVersion", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_expires_at = models.DateTimeField(null=True)
    token = models.BigIntegerField()
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(db_default=models.functions.Now())

    class Meta:
        indexes: ClassVar = [
            # Used by the admin's event list and the editor's audit view, newest first.
            models.Index(fields=["tool", "-created_at"], name="locks_event_tool_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.tool_id}"
