import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models

from apps.projects.models import Project


class MergeRecord(models.Model):
    """What one merge of a sandbox project into a target wrote (append-only audit)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The sandbox may be purged later; its name stays on the record.
    source = models.ForeignKey(
        Project, null=True, on_delete=models.SET_NULL, related_name="merges_out"
    )
    source_name = models.CharField(max_length=120)
    target = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="merges_in")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Names of the collections created (empty) in the target.
    collections_created = models.JSONField(default=list)
    # One entry per tool written: source tool, target tool, new draft version, whether the
    # target tool was created by the merge.
    tools_proposed = models.JSONField(default=list)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [
            models.Index(fields=["target", "-created_at"], name="merges_by_target")
        ]

    def __str__(self) -> str:
        return f"merge {self.source_name} -> {self.target_id}"
