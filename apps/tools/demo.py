"""Demo tools for `make run`: four small published tools that exercise the runner contract.

Each tool is created once through the normal services (draft → review → publish) and then
given a fresh draft head, so the catalog can run it and the editor has a draft to lock.
An existing tool with the same slug is left alone: the seed never rewrites authors' edits.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.accounts.models import User
from apps.projects.models import Project
from apps.tools import services
from apps.tools.models import Category, Profession, Tool

DEMO_OWNER = "contributor@demo.skriptoteket.test"
DEMO_ADMIN = "admin@demo.skriptoteket.test"
DEMO_PROFESSION = ("teacher", "Teacher")
DEMO_CATEGORY = ("demo", "Demo tools")

NEXT_ACTIONS_SOURCE = '''\
"""Demo: a three-step tool with next_actions, prefill, state and one artifact per step."""

import os

from skriptoteket_toolkit import get_action_parts, list_input_files
from tool_errors import ToolUserError

LAST_STEP = 3
ACTIONS = [
    {
        "action_id": "next",
        "label": "Next step",
        "kind": "form",
        "fields": [{"kind": "integer", "name": "increment", "label": "Increment"}],
        "prefill": {"increment": 1},
    },
    {"action_id": "reset", "label": "Reset", "kind": "form", "fields": []},
    {"action_id": "finish", "label": "Finish", "kind": "form", "fields": []},
]


def run_tool(input_dir, output_dir):
    action_id, action_input, state = get_action_parts()
    files = list_input_files()
    step = state.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool):
        step = 0
    if action_id == "next":
        step = min(step + _increment(action_input), LAST_STEP)
    elif action_id == "reset":
        step = 0
    elif action_id not in (None, "finish"):
        raise ToolUserError(f"Unknown action: {action_id}")
    done = action_id == "finish" or step >= LAST_STEP
    _write_step(output_dir, step, done)
    outputs = [_summary(files, step, first_run=action_id is None)]
    if action_id is None:
        outputs.append(_file_table(files))
    if done:
        outputs.append({"kind": "notice", "level": "info", "message": f"Finished at step {step}."})
        return {"outputs": outputs, "next_actions": [], "state": {"step": step}}
    return {"outputs": outputs, "next_actions": ACTIONS, "state": {"step": step}}


def _increment(action_input):
    value = action_input.get("increment", 1)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ToolUserError("Increment must be a whole number of at least 1.")
    return value


def _write_step(output_dir, step, done):
    path = os.path.join(output_dir, f"step-{step}.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"step={step}\\ndone={done}\\n")


def _summary(files, step, first_run):
    total = sum(item["bytes"] for item in files)
    lines = [
        "## Uploaded files" if first_run else f"## Step {step} of {LAST_STEP}",
        f"{len(files)} file(s) in this session, {total} bytes in total.",
    ]
    if first_run:
        lines.append("Use **Next step** to count up to 3, **Reset** to start over.")
    return {"kind": "markdown", "markdown": "\\n\\n".join(lines)}


def _file_table(files):
    return {
        "kind": "table",
        "title": "Files",
        "columns": [{"key": "name", "label": "Name"}, {"key": "bytes", "label": "Bytes"}],
        "rows": [{"name": item["name"], "bytes": item["bytes"]} for item in files],
    }
'''

SETTINGS_TEST_SOURCE = '''\
"""Demo: echo the user's settings (read from memory.json)."""

from skriptoteket_toolkit import read_settings


def run_tool(input_dir, output_dir):
    settings = read_settings()
    colour = settings.get("theme_color") or "(not set)"
    return {
        "outputs": [
            {"kind": "notice", "level": "info", "message": f"theme_color={colour}"},
            {"kind": "json", "title": "Settings", "value": settings},
        ]
    }
'''

INPUTS_FILE_SOURCE = '''\
"""Demo: echo the form inputs and the uploaded files; save both as inputs.json."""

import json
import os

from skriptoteket_toolkit import list_input_files, read_inputs


def run_tool(input_dir, output_dir):
    inputs = read_inputs()
    files = list_input_files()
    echo = {"inputs": inputs, "files": [{"name": f["name"], "bytes": f["bytes"]} for f in files]}
    with open(os.path.join(output_dir, "inputs.json"), "w", encoding="utf-8") as handle:
        json.dump(echo, handle, ensure_ascii=False, indent=2)
    title = inputs.get("title") or "(no title)"
    return {
        "outputs": [
            {"kind": "notice", "level": "info", "message": f"{title}: {len(files)} file(s)."},
            {"kind": "json", "title": "Inputs", "value": inputs},
            {
                "kind": "table",
                "title": "Files",
                "columns": [{"key": "name", "label": "Name"}, {"key": "bytes", "label": "Bytes"}],
                "rows": echo["files"],
            },
        ]
    }
'''

COLLECTIONS_SOURCE = '''\
"""Demo: list the project's books and note this run in the `runs-log` collection."""

import json
from datetime import datetime, timezone

from skriptoteket_toolkit import collections


def run_tool(input_dir, output_dir):
    try:
        items = collections.get_all("books", pattern="book:*")
    except collections.CollectionError as error:
        return {"outputs": [_warning("Could not read books", error)]}
    rows = [_book(item) for item in items]
    outputs = [
        {
            "kind": "table",
            "title": f"Books ({len(rows)})",
            "columns": [
                {"key": "key", "label": "Key"},
                {"key": "title", "label": "Title"},
                {"key": "author", "label": "Author"},
                {"key": "year", "label": "Year"},
            ],
            "rows": rows,
        }
    ]
    entry = {"at": datetime.now(timezone.utc).isoformat(), "books": len(rows)}
    try:
        collections.set("runs-log", "last-run", json.dumps(entry))
    except collections.CollectionError as error:
        # A preview of a top-level project may read but never write (PREVIEW_READ_ONLY).
        outputs.append(_warning("Could not write runs-log", error))
    else:
        saved = "Saved last-run in runs-log."
        outputs.append({"kind": "notice", "level": "info", "message": saved})
    return {"outputs": outputs}


def _book(item):
    row = {"key": item["key"], "title": item["value"], "author": None, "year": None}
    try:
        book = json.loads(item["value"])
    except ValueError:
        return row  # not JSON: show the raw value as the title
    if isinstance(book, dict):
        row.update({name: book.get(name) for name in ("title", "author", "year")})
    return row


def _warning(what, error):
    return {"kind": "notice", "level": "warning", "message": f"{what}: {error.code}"}
'''

_FILES_FIELD = {"kind": "file", "name": "files", "label": "Files", "min": 1, "max": 10}


@dataclass(frozen=True)
class DemoTool:
    slug: str
    title: str
    summary: str
    usage_instructions: str
    source: str
    input_schema: list[dict[str, Any]]
    settings_schema: list[dict[str, Any]] | None = None
    entrypoint: str = "run_tool"


DEMO_TOOLS = [
    DemoTool(
        slug="demo-next-actions",
        title="Demo: next actions",
        summary="Upload files, then step through a small counter with buttons.",
        usage_instructions=(
            "Upload one to ten files of any kind. The first run lists them; then **Next step**"
            " (with an increment), **Reset** and **Finish** move a counter that stops at 3."
            " Every step saves `step-<n>.txt`."
        ),
        source=NEXT_ACTIONS_SOURCE,
        input_schema=[_FILES_FIELD],
    ),
    DemoTool(
        slug="demo-settings-test",
        title="Demo: settings",
        summary="Shows your saved settings for this tool.",
        usage_instructions="Save a colour theme under **Settings**, then run the tool.",
        source=SETTINGS_TEST_SOURCE,
        input_schema=[],
        settings_schema=[
            {"kind": "string", "name": "theme_color", "label": "Colour theme"},
            {
                "kind": "enum",
                "name": "density",
                "label": "Density",
                "options": [
                    {"value": "compact", "label": "Compact"},
                    {"value": "comfortable", "label": "Comfortable"},
                ],
            },
        ],
    ),
    DemoTool(
        slug="demo-inputs-file",
        title="Demo: form and files",
        summary="Echoes a small form and one or two text files.",
        usage_instructions=(
            "Fill in a title, pick a format and upload one or two `.txt` or `.md` files."
            " The tool echoes everything and saves it as `inputs.json`."
        ),
        source=INPUTS_FILE_SOURCE,
        input_schema=[
            {"kind": "string", "name": "title", "label": "Title"},
            {
                "kind": "enum",
                "name": "format",
                "label": "Format",
                "options": [
                    {"value": "txt", "label": "Plain text"},
                    {"value": "md", "label": "Markdown"},
                ],
            },
            {
                "kind": "file",
                "name": "documents",
                "label": "Documents",
                "accept": [".txt", ".md"],
                "min": 1,
                "max": 2,
            },
        ],
    ),
    DemoTool(
        slug="demo-collections",
        title="Demo: collections",
        summary="Lists the project's books and logs each run in a collection.",
        usage_instructions=(
            "Reads the `books` collection and writes `last-run` into `runs-log`. A preview in"
            " a top-level project may only read, so the write shows a warning there."
        ),
        source=COLLECTIONS_SOURCE,
        input_schema=[],
    ),
]


@transaction.atomic
def seed_demo_tools(*, project_ids: list[str]) -> list[str]:
    """Create the missing demo tools in the first demo project; return `<slug> (<project>)`."""
    project = Project.objects.get(pk=project_ids[0])
    owner = User.objects.get(email=DEMO_OWNER)
    admin = User.objects.get(email=DEMO_ADMIN)
    profession, _ = Profession.objects.get_or_create(
        slug=DEMO_PROFESSION[0], defaults={"label": DEMO_PROFESSION[1]}
    )
    category, _ = Category.objects.get_or_create(
        slug=DEMO_CATEGORY[0], defaults={"label": DEMO_CATEGORY[1]}
    )
    for demo in DEMO_TOOLS:
        tool = Tool.objects.filter(project=project, slug=demo.slug).first()
        if tool is None:
            tool = _create(demo, project=project, owner=owner, admin=admin)
            services.set_taxonomy(
                tool=tool, actor=admin, profession_ids=[profession.pk], category_ids=[category.pk]
            )
            _publish_with_fresh_draft(demo, tool=tool, owner=owner, admin=admin)
        # Idempotent: records a change only for a maintainer who is missing.
        services.assign_maintainer(tool=tool, actor=admin, email=DEMO_ADMIN, reason="demo data")
    return [f"{demo.slug} ({project.name})" for demo in DEMO_TOOLS]


def _create(demo: DemoTool, *, project: Project, owner: User, admin: User) -> Tool:
    tool = services.create_tool(
        project=project, creator=owner, title=demo.title, summary=demo.summary
    )
    return services.update_slug(tool=tool, actor=admin, slug=demo.slug)


def _publish_with_fresh_draft(demo: DemoTool, *, tool: Tool, owner: User, admin: User) -> None:
    """Draft → review → ACTIVE → published, then a new draft head copying the active version."""
    content = services.ContentEdit(
        entrypoint=demo.entrypoint,
        source_code=demo.source,
        input_schema=demo.input_schema,
        settings_schema=demo.settings_schema,
        usage_instructions=demo.usage_instructions,
    )
    draft = services.create_draft(
        tool=tool, actor=owner, content=content, change_summary="Demo tool"
    )
    in_review = services.submit_for_review(version=draft, actor=owner)
    active = services.publish_version(version=in_review, actor=admin)
    services.publish_tool(tool=tool, actor=admin)
    services.create_draft(
        tool=tool, actor=owner, content=services.ContentEdit(), derived_from=active
    )
