"""Tools ready for the sandbox: a maintainer holding the lock on a draft head, and helpers that
execute queued runs in the test process (the real runner, no Celery)."""

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import User
from apps.projects.models import Project
from apps.runs import services as run_services
from apps.runs.models import ToolRun
from apps.sandbox.models import SandboxSnapshot
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


def editor_world(
    author: User, source: str = ECHO_SOURCE, *, project: Project | None = None, **content: Any
) -> EditorWorld:
    """A tool (of `project`, else a fresh one) whose draft head (`source` plus other `content`
    fields) `author` has locked."""
    tool = make_tool(owner=author, project=project)
    head = services.create_draft(
        tool=tool, actor=author, content=services.ContentEdit(source_code=source, **content)
    )
    tool.refresh_from_db()
    state = services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(head.pk))
    return EditorWorld(tool=tool, head=head, author=author, lock_token=state.token)


def published_tool(
    author: User,
    source: str = ECHO_SOURCE,
    *,
    project: Project | None = None,
    title: str = "A tool",
    summary: str = "",
    **content: Any,
) -> Tool:
    """A published tool (of `project`, else a fresh one) whose active version runs `source`."""
    tool = make_publishable(make_tool(owner=author, project=project, title=title, summary=summary))
    draft = services.create_draft(
        tool=tool, actor=author, content=services.ContentEdit(source_code=source, **content)
    )
    tool.refresh_from_db()
    services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(draft.pk))
    review = services.submit_for_review(version=draft, actor=author)
    admin = UserFactory(admin=True)
    services.publish_version(version=review, actor=admin)
    tool.refresh_from_db()
    # Activating a version does not list the tool; publishing it does (is_published).
    return services.publish_tool(tool=tool, actor=admin)


def republish(tool: Tool, author: User, **content: Any) -> None:
    """A new active version of a published tool, derived from the current one with `content`
    changed (draft, review, publish by an admin)."""
    draft = services.create_draft(
        tool=tool,
        actor=author,
        content=services.ContentEdit(**content),
        derived_from=tool.active_version,
    )
    tool.refresh_from_db()
    services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(draft.pk))
    review = services.submit_for_review(version=draft, actor=author)
    services.publish_version(version=review, actor=UserFactory(admin=True))
    tool.refresh_from_db()


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


# --- HTTP helpers for the sandbox preview API -------------------------------------------------

EDITOR = "/api/v1/editor"


def version_url(version: ToolVersion, suffix: str) -> str:
    return f"{EDITOR}/tool-versions/{version.pk}/{suffix}"


def lock_header(token: int | None) -> dict[str, str]:
    return {} if token is None else {"HTTP_X_DRAFT_LOCK_TOKEN": str(token)}


def post_preview(
    client: Any,
    version: ToolVersion,
    snapshot: Any = None,
    *,
    json_body: bool = False,
    lock_token: int | None = None,
    **fields: Any,
) -> Any:
    """POST run-sandbox. Multipart by default (dict snapshot/inputs sent as JSON text, `files` a
    list of SimpleUploadedFile); `json_body=True` sends the same keys as a JSON object."""
    snapshot = snapshot_payload() if snapshot is None else snapshot
    url = version_url(version, "run-sandbox")
    if json_body:
        return client.post(
            url, {"snapshot": snapshot, **fields}, format="json", **lock_header(lock_token)
        )
    data = {"snapshot": snapshot if isinstance(snapshot, str) else json.dumps(snapshot)}
    for key, value in fields.items():
        data[key] = (
            json.dumps(value) if isinstance(value, dict | list) and key != "files" else value
        )
    return client.post(url, data, format="multipart", **lock_header(lock_token))


def post_action(
    client: Any, version: ToolVersion, *, lock_token: int | None = None, **body: Any
) -> Any:
    return client.post(
        version_url(version, "start-action"), body, format="json", **lock_header(lock_token)
    )


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the /api/v1 error envelope with `status` (and `code`); return its `error`."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "request_id"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def stored_counts() -> tuple[int, int]:
    """(SandboxSnapshot rows, ToolRun rows): "nothing stored" is (0, 0)."""
    return SandboxSnapshot.objects.count(), ToolRun.objects.count()


def preview_and_execute(client: Any, world: EditorWorld, source: str = ECHO_SOURCE, **kw: Any):
    """Preview `source` and run it now; returns (202 body, finished ToolRun)."""
    response = post_preview(
        client, world.head, snapshot_payload(source, **kw.pop("content", {})), **kw
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    return body, execute(body["run_id"])


def message_of(run: ToolRun) -> str:
    """The first notice's text of a finished run (ECHO_SOURCE / STEPS_SOURCE print there)."""
    assert run.ui_payload is not None, (run.status, run.error_summary, run.stderr)
    return str(run.ui_payload["outputs"][0]["message"])


FILES_SOURCE = """\
from skriptoteket_toolkit import list_input_files

def run_tool(input_dir, output_dir):
    seen = sorted((f["name"], open(f["path"]).read()) for f in list_input_files())
    return {"outputs": [{"kind": "notice", "level": "info", "message": "files=%r" % (seen,)}]}
"""

FILE_FIELD = {"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 5}


def echoed(run: ToolRun) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inputs, settings) that ECHO_SOURCE saw, read back from its notice."""
    match = re.fullmatch(r"inputs=(.*) settings=(.*)", message_of(run))
    assert match is not None, message_of(run)
    return ast.literal_eval(match[1]), ast.literal_eval(match[2])


def upload(name: str = "data.txt", content: bytes = b"hello") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")
