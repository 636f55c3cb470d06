"""A reviewer's sandbox preview of a version in review: exactly the content under review, run
as a preview, with no draft lock."""

from typing import Any

import structlog
from django.db import transaction

from apps.accounts.models import Role, User
from apps.runs import services as runs
from apps.runs.models import ToolRun
from apps.runs.services.submission import Upload
from apps.sandbox.models import SandboxSnapshot
from apps.sandbox.services.common import locked_tool
from apps.sandbox.services.preview import store_preview
from apps.tools.content import ToolContent
from apps.tools.exceptions import AdminRequired, WrongVersionState
from apps.tools.models import ToolVersion, VersionState

log = structlog.get_logger(__name__)


@transaction.atomic
def run_review_preview(
    *, version: ToolVersion, actor: User, inputs: dict[str, Any], uploads: list[Upload]
) -> tuple[ToolRun, SandboxSnapshot]:
    """Run the content of `version` (in review) in the sandbox for its reviewer.

    The content comes from the version row, never from the client, so the run shows what would
    be published. No draft lock is needed: the lock guards writes to the draft head, and this
    writes nothing to the tool or its versions. The snapshot is anchored to the version in
    review, so its session, files and sandbox settings (all keyed by snapshot or anchor and
    user) are the reviewer's own and never the author's.

    :raises AdminRequired, WrongVersionState, ValidationFailed, SnapshotTooLarge, RunLimitReached:
    """
    if not actor.has_role(Role.ADMIN):
        raise AdminRequired()
    checked_uploads = runs.validate_uploads(uploads)
    tool = locked_tool(version)
    # Under the tool's row lock: publish and request changes take the same lock first.
    version.refresh_from_db(fields=["state"])
    if version.state != VersionState.IN_REVIEW:
        raise WrongVersionState(f"Only a version in review can be previewed, not {version.state}.")
    content = ToolContent.of(version)
    run_inputs = runs.validate_inputs(
        input_schema=content.input_schema, raw_values=inputs, uploads=checked_uploads, reused=[]
    )
    run, snapshot = store_preview(
        tool=tool, version=version, actor=actor, content=content, inputs=run_inputs
    )
    log.info(
        "sandbox.review_preview_queued",
        run_id=str(run.pk),
        version_id=str(version.pk),
        user_id=actor.pk,
    )
    return run, snapshot
