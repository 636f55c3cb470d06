"""Sandbox preview use-cases (one keyword-only function per state change). Each validates its
input first, then checks permission, head and lock under the tool's row lock and writes
everything in one transaction."""

from apps.sandbox.services.actions import (
    ActionRequest,
    sandbox_session,
    sandbox_session_files,
    start_sandbox_action,
)
from apps.sandbox.services.common import snapshot_context
from apps.sandbox.services.preview import (
    PreviewRequest,
    parse_snapshot,
    run_sandbox_preview,
)
from apps.sandbox.services.review import run_review_preview
from apps.sandbox.services.settings import (
    carry_over_sandbox_settings,
    resolve_sandbox_settings,
    save_sandbox_settings,
)
from apps.sandbox.services.snapshots import expire_sandbox_snapshots

__all__ = [
    "ActionRequest",
    "PreviewRequest",
    "carry_over_sandbox_settings",
    "expire_sandbox_snapshots",
    "parse_snapshot",
    "resolve_sandbox_settings",
    "run_review_preview",
    "run_sandbox_preview",
    "sandbox_session",
    "sandbox_session_files",
    "save_sandbox_settings",
    "snapshot_context",
    "start_sandbox_action",
]
