"""Tools with a version in review, previewed by their author first (the review's evidence)."""

from dataclasses import dataclass
from typing import Any

from apps.accounts.models import User
from apps.projects.models import Project
from apps.runs.models import ToolRun
from apps.sandbox import services as sandbox
from apps.tools import services
from apps.tools.models import Tool, ToolVersion
from tests.factories.runs import ECHO_SOURCE, editor_world, snapshot_payload
from tests.factories.tools import make_publishable


@dataclass
class ReviewWorld:
    tool: Tool
    version: ToolVersion  # in review
    author: User
    preview: ToolRun | None  # the author's preview of exactly the submitted content


def in_review(
    author: User,
    source: str = ECHO_SOURCE,
    *,
    project: Project | None = None,
    preview: bool = True,
    **content: Any,
) -> ReviewWorld:
    """A tool whose draft (`source`, `content`) its author previewed (queued, not run) and
    submitted for review."""
    world = editor_world(author, source, project=project, **content)
    run = None
    if preview:
        run, _ = sandbox.run_sandbox_preview(
            version=world.head,
            actor=author,
            request=sandbox.PreviewRequest(
                snapshot=snapshot_payload(source, **content), inputs={}, uploads=[]
            ),
        )
    make_publishable(world.tool)
    world.tool.refresh_from_db()
    version = services.submit_for_review(version=world.head, actor=author, review_note="ready")
    world.tool.refresh_from_db()
    return ReviewWorld(tool=world.tool, version=version, author=author, preview=run)
