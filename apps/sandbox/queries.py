"""Reads that are not access checks: the sandbox evidence of a version's content."""

from django.db.models import QuerySet

from apps.runs.models import RunContext, ToolRun
from apps.tools.models import ToolVersion

EVIDENCE_SHOWN = 50


def preview_runs_with_content(version: ToolVersion) -> QuerySet[ToolRun]:
    """The tool's sandbox runs (previews and their actions) whose snapshot held exactly the
    content of `version`, newest first. Snapshots expire after a day, and their runs then lose
    the link (snapshot null): older previews are no longer found."""
    return (
        ToolRun.objects.filter(
            tool_id=version.tool_id,
            context=RunContext.SANDBOX,
            snapshot__tool_id=version.tool_id,
            snapshot__content_hash=version.content_hash,
        )
        .select_related("requested_by")
        .order_by("-requested_at", "-id")
    )
