"""The hourly expiry of sandbox snapshots with their sessions and files."""

from datetime import timedelta

import structlog
from django.conf import settings
from django.contrib.postgres.functions import TransactionNow
from django.db import transaction
from django.db.models.functions import Now

from apps.runs import session_files
from apps.runs.models import ToolSession
from apps.sandbox.models import SandboxSnapshot
from apps.sandbox.services.common import (
    snapshot_context,
)

log = structlog.get_logger(__name__)


def expire_sandbox_snapshots(*, batch_size: int = 500) -> dict[str, int]:
    """Delete expired snapshots with their sandbox sessions and session files; their runs stay
    (snapshot_id becomes null). Also drops sandbox settings untouched for the retention time."""
    snapshots = sessions = folders = 0
    while True:
        with transaction.atomic():
            expired = list(
                SandboxSnapshot.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=TransactionNow())
                .values_list("pk", "tool_id")[:batch_size]
            )
            if not expired:
                break
            contexts = [snapshot_context(pk) for pk, _ in expired]
            sessions += ToolSession.objects.filter(context__in=contexts).delete()[0]
            snapshots += SandboxSnapshot.objects.filter(pk__in=[pk for pk, _ in expired]).delete()[
                0
            ]
        for pk, tool_id in expired:
            folders += session_files.clear_context_for_all_users(
                tool_id=tool_id, context=snapshot_context(pk)
            )
    stale_settings = ToolSession.objects.filter(
        context__startswith="sandbox-settings:",
        updated_at__lt=Now() - timedelta(days=settings.SANDBOX_SETTINGS_RETENTION_DAYS),
    ).delete()[0]
    counts = {
        "snapshots": snapshots,
        "sessions": sessions + stale_settings,
        "session_file_folders": folders,
    }
    log.info("sandbox.snapshots_expired", **counts)
    return counts
