"""Tools ready for the sandbox: a maintainer holding the lock on a draft head, and helpers that
execute queued runs in the test process (the real runner, no Celery)."""

from dataclasses import dataclass
from typing import Any

from apps.accounts.models import User
from apps.runs import services as run_services
from apps.runs.models import ToolRun
from apps.tools import services
from apps.tools.models import Tool, ToolVersion
from tests.factories.accounts import UserFactory
from tests.factories.tools import make_publishable, make_tool

ECHO_SOURCE = """\
from skriptoteket_toolkit import read_inputs, read_settings

def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info",
                         "message": "inputs=%r settings=%r" % (read_inputs(), read_settings())}]}
"""

STEPS_SOURCE = """\
from skriptoteket_toolkit import get_action_parts

def run_tool(input_dir, output_dir):
    action_id, action_input, state = get_action_parts()
    step = (state or {}).get("step", 0) + (action_input.get("by", 1) if action_id else 0)
    if action_id == "explode":
        raise RuntimeError("boom")
    return {
        "outputs": [{"kind": "notice", "level": "info",
                     "message": "step=%s action=%s input=%r" % (step, action_id, action_input)}],
        "next_actions": [
            {"action_id": "next", "label": "Next", "kind": "form",
             "fields": [{"kind": "integer", "name": "by", "label": "By"}], "prefill": {"by": 1}},
            {"action_id": "explode", "label": "Explode", "kind": "form", "fields": []},
        ],
        "state": {"step": step},
    }
"""


@dataclass
class EditorWorld:
    tool: Tool
    head: ToolVersion
    author: User
    lock_token: int


def editor_world(author: User, source: str = ECHO_SOURCE, **content: Any) -> EditorWorld:
    """A tool whose draft head (`source` plus other `content` fields) `author` has locked."""
    tool = make_tool(owner=author)
    head = services.create_draft(
        tool=tool, actor=author, content=services.Content(source_code=source, **content)
    )
    tool.refresh_from_db()
    state = services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(head.pk))
    return EditorWorld(tool=tool, head=head, author=author, lock_token=state.token)


def published_tool(author: User, source: str = ECHO_SOURCE, **content: Any) -> Tool:
    """A published tool whose active version runs `source`."""
    tool = make_publishable(make_tool(owner=author))
    draft = services.create_draft(
        tool=tool, actor=author, content=services.Content(source_code=source, **content)
    )
    tool.refresh_from_db()
    services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(draft.pk))
    review = services.submit_for_review(version=draft, actor=author)
    services.publish_version(version=review, actor=UserFactory(admin=True))
    tool.refresh_from_db()
    return tool


def execute(run_id: Any) -> ToolRun:
    """Run a queued run now, in this process, with the real runner backend."""
    run_services.execute_run(run_id=run_id)
    return ToolRun.objects.get(pk=run_id)


def snapshot_payload(source: str = ECHO_SOURCE, **overrides: Any) -> dict[str, Any]:
    return {
        "entrypoint": "run_tool",
        "source_code": source,
        "input_schema": [],
        "settings_schema": None,
        "usage_instructions": "",
        **overrides,
    }
