import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from apps.tools.models import Tool, ToolVersion


class SandboxSnapshot(models.Model):
    """The unsaved editor content one sandbox preview ran with. Immutable once created; its id
    keys the preview's session state and files (`sandbox:<id>`) until it expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="+")
    # The draft head (or, for a tool without drafts, the version) the preview was anchored to.
    draft_head = models.ForeignKey(ToolVersion, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entrypoint = models.CharField(max_length=128)
    source_code = models.TextField()
    settings_schema = models.JSONField(null=True, blank=True)
    input_schema = models.JSONField(default=list)
    usage_instructions = models.TextField(blank=True)
    # UTF-8 length of the canonical JSON of the five content fields (limit checked before insert).
    payload_bytes = models.PositiveBigIntegerField()
    # The same hash of the five content fields a ToolVersion stores (tools.services.content_hash):
    # equal hashes mean this preview ran exactly a version's content (the review's evidence).
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(entrypoint="") & ~models.Q(source_code=""),
                name="sandbox_snapshot_content_not_blank",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="sandbox_snapshot_expires_after_creation",
            ),
        ]
        indexes: ClassVar = [
            # Used by sandbox.queries.preview_runs_with_content (the review screen's evidence).
            models.Index(fields=["tool", "content_hash"], name="sandbox_snapshot_content"),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.pk}"
