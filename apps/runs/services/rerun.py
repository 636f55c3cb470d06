"""Running a tool again with the inputs of an earlier run: the same form values and the same
files (kept RUN_INPUTS_RETENTION_DAYS after the run ended), on the tool's current active version.
Everything else is the ordinary production run path: its validation, the per-user cap, the
session the files go to."""

from contextlib import ExitStack
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.db import transaction

from apps.accounts.models import User
from apps.core.exceptions import ValidationFailed
from apps.runs import access, session_files
from apps.runs.exceptions import RunFilesRemoved, RunNotRerunnable
from apps.runs.models import ACTIVE_STATUSES, RunContext, ToolRun
from apps.runs.services.runtime import ProductionRunRequest, run_published_tool
from apps.runs.services.submission import Upload
from apps.tools.models import Tool


@dataclass(frozen=True)
class Rerun:
    """What a re-run would use: the tool as it is now and the kept files (name, storage key)."""

    tool: Tool
    files: list[tuple[str, str]]


def files_removed_message() -> str:
    days = settings.RUN_INPUTS_RETENTION_DAYS
    return (
        f"The files of this run were removed after {days} day{'' if days == 1 else 's'}; "
        "run the tool again with new files."
    )


def check_rerun(*, run: ToolRun, actor: User) -> Rerun:
    """Say whether `run` can be run again by `actor` (whose access to it was checked), and with
    what. The per-user cap is decided only when the new run is created.

    :raises RunNotRerunnable, ToolUnavailable, RunFilesRemoved:
    """
    if run.context != RunContext.PRODUCTION or run.is_action:
        # A preview ran unsaved code; an action continued a session whose state has moved on.
        raise RunNotRerunnable()
    if run.status in ACTIVE_STATUSES:
        raise RunNotRerunnable("This run has not finished yet; run it again once it has.")
    tool = access.get_tool_to_run_again(user=actor, tool_id=run.tool_id)
    names = [entry["name"] for entry in run.input_manifest.get("files", [])]
    files = session_files.kept_input_files(run.pk, names) if names else []
    if files is None:
        raise RunFilesRemoved(files_removed_message(), details={"files": names})
    return Rerun(tool=tool, files=files)


@transaction.atomic
def rerun_tool_run(*, run: ToolRun, actor: User) -> ToolRun:
    """Queue a new production run of the tool's current active version with the form values,
    input files and session context of `run`; the new run is `actor`'s.

    :raises RunNotRerunnable, ToolUnavailable, RunFilesRemoved, RunLimitReached:
    :raises ValidationFailed: the values or files no longer fit the tool's input form
    """
    rerun = check_rerun(run=run, actor=actor)
    with ExitStack() as opened:
        try:
            uploads: list[Upload] = [
                File(opened.enter_context(session_files.open_file(key)), name=name)
                for name, key in rerun.files
            ]
        except FileNotFoundError:  # the hourly clean-up removed them since the check
            raise RunFilesRemoved(files_removed_message()) from None
        request = ProductionRunRequest(
            inputs=run.input_values, uploads=uploads, session_context=run.session_context
        )
        try:
            return run_published_tool(tool=rerun.tool, actor=actor, request=request)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"This run's inputs do not fit the tool's current form ({exc.message}); "
                "run the tool from its page instead.",
                code=exc.code,
                details=exc.details,
            ) from exc
