"""The editor's sandbox panel in a real browser: unsaved code runs, outputs render safely,
multi-step actions continue on the run's snapshot, sandbox settings reach the next run only.
Runs are executed for real by the `worker` fixture (conftest.py)."""

import ast
import json
import re
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.projects.models import Project
from apps.runs import services as run_services
from apps.runs.models import ToolRun, ToolSession
from apps.sandbox.models import SandboxSnapshot
from apps.tools import services as tools
from apps.tools.demo import NEXT_ACTIONS_SOURCE, SETTINGS_TEST_SOURCE
from tests.browser.conftest import ARTIFACTS, draft_tool, run_and_wait
from tests.browser.measures import TRIVIAL_SOURCE, report_median, run_to_result_ms
from tests.factories import UserFactory
from tests.factories.runs import ECHO_SOURCE, STEPS_SOURCE, published_tool

pytestmark = pytest.mark.browser

OUTPUTS_SOURCE = """\
import os

def run_tool(input_dir, output_dir):
    print("hello on stdout")
    with open(os.path.join(output_dir, "report.txt"), "w") as handle:
        handle.write("the report")
    return {"outputs": [
        {"kind": "notice", "level": "warning", "message": "VERSION saved"},
        {"kind": "markdown", "markdown": "Some **bold** text and <b>raw html</b>"},
        {"kind": "table", "title": "People", "columns": [{"key": "name", "label": "Name"},
         {"key": "age", "label": "Age"}], "rows": [{"name": "<i>Ann</i>", "age": 41}]},
        {"kind": "json", "title": "Data", "value": {"list": [1, 2]}},
        {"kind": "html_sandboxed", "html": "<p id='inside'>Framed text</p>"
         "<script>parent.document.title = 'escaped'</script>"},
    ]}
"""
EDITED_SOURCE = """\
def run_tool(input_dir, output_dir):
    return {"outputs": [{"kind": "notice", "level": "info", "message": "EDITED CODE"}]}
"""
FILES_FIELD = {"kind": "file", "name": "files", "label": "Files", "min": 1, "max": 10}
FORM_SCHEMA = [
    {"kind": "string", "name": "title", "label": "Title"},
    {"kind": "integer", "name": "count", "label": "Count"},
    {"kind": "number", "name": "ratio", "label": "Ratio"},
    {"kind": "boolean", "name": "loud", "label": "Loud"},
    {
        "kind": "enum",
        "name": "colour",
        "label": "Colour",
        "options": [{"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}],
    },
]
SETTINGS_SCHEMA = [{"kind": "string", "name": "theme_color", "label": "Colour theme"}]


def replace_text(page: Page, editor: str, text: str) -> None:
    """Replace the whole text of a CodeMirror editor as a paste would (no auto-indent)."""
    page.locator(f"{editor} .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def submit_action(page: Page, action_id: str, **values: str) -> None:
    form = page.locator(f'#next-actions form[data-action-id="{action_id}"]')
    for name, value in values.items():
        form.locator(f'[data-field="{name}"] input').fill(value)
    form.get_by_role("button").click()


def test_unsaved_code_runs_and_every_output_kind_renders_safely(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, OUTPUTS_SOURCE)
    open_editor(alice, tool)
    expect(page.locator("#sandbox-files")).to_have_count(0)  # no file field, no picker
    expect(page.locator("#settings-panel")).to_be_hidden()  # no settings schema
    expect(page.locator("#run-button")).to_be_enabled()
    screenshot("ready")

    replace_text(page, "#source-editor", OUTPUTS_SOURCE.replace("VERSION saved", "VERSION unsaved"))
    run_and_wait(page)

    results = page.locator("#run-results")
    expect(results.locator('[data-kind="notice"]')).to_have_text("VERSION unsaved")
    expect(results.locator('[data-kind="notice"]')).to_have_class(
        "sk-output sk-notice sk-notice-warning"
    )
    markdown = results.locator(".sk-markdown")
    expect(markdown.locator("strong")).to_have_text("bold")
    expect(markdown).to_contain_text("<b>raw html</b>")  # html is off: shown, not parsed
    expect(markdown.locator("b")).to_have_count(0)
    table = results.locator('[data-kind="table"]')
    expect(table.locator("figcaption")).to_have_text("People")
    expect(table.locator("tbody td")).to_have_text(["<i>Ann</i>", "41"])
    expect(table.locator("i")).to_have_count(0)
    expect(results.locator(".sk-json")).to_have_text(json.dumps({"list": [1, 2]}, indent=2))
    frame = results.locator("iframe")
    assert frame.get_attribute("sandbox") == ""
    expect(page.frame_locator("#run-results iframe").locator("#inside")).to_have_text("Framed text")
    assert page.title() != "escaped"  # no script ran inside the frame

    link = page.locator("#run-artifacts a")
    expect(link).to_have_text("report.txt")
    download = page.request.get(link.get_attribute("href") or "")
    assert download.ok and download.body() == b"the report"

    page.locator("#debug-panel > summary").click()
    expect(page.locator("#debug-stdout")).to_have_text("hello on stdout\n")
    expect(page.locator("#debug-stdout-heading")).to_have_text("stdout · 16 bytes")
    expect(page.locator("#debug-stderr")).to_have_text("No stderr.")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#copy-debug-json").click()
    expect(page.locator("#sandbox-message")).to_have_text(
        "Run details copied to the clipboard as JSON."
    )
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    run = ToolRun.objects.get()
    assert copied["run_id"] == str(run.pk)
    assert copied["snapshot_id"] == str(run.snapshot_id)
    assert copied["stdout"] == "hello on stdout\n"
    screenshot("results")
    panel_shot = ARTIFACTS / "test_unsaved_code_runs_and_every_output_kind_renders_safely-panel.png"
    page.locator("#run-results").screenshot(path=panel_shot)

    page.locator("#start-over-button").click()
    expect(page.locator("#run-results")).to_be_hidden()
    expect(page.locator("#run-artifacts")).to_be_hidden()
    expect(page.locator("#run-status")).to_have_text("")
    expect(page.locator("#start-over-button")).to_be_hidden()


def test_multi_step_demo_tool_runs_three_actions_on_its_snapshot(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, NEXT_ACTIONS_SOURCE, input_schema=[FILES_FIELD])
    open_editor(alice, tool)
    files = page.locator("#sandbox-files")
    expect(files).to_have_attribute("multiple", "")
    expect(page.locator('[data-field="files"] .hint')).to_have_text("1\u201310 files.")

    page.locator("#run-button").click()  # no file chosen: refused at the field, nothing sent
    expect(page.locator('[data-field="files"] .field-error')).to_have_text("Choose a file.")
    assert not ToolRun.objects.exists()

    files.set_input_files(
        [
            {"name": "a.txt", "mimeType": "text/plain", "buffer": b"alpha"},
            {"name": "b.csv", "mimeType": "text/csv", "buffer": b"1,2,3"},
        ]
    )
    run_and_wait(page)
    expect(page.locator('[data-field="files"] .field-error')).to_be_hidden()
    expect(page.locator("#run-results .sk-markdown h2")).to_have_text("Uploaded files")
    expect(page.locator("#run-results tbody tr")).to_have_count(2)
    actions = page.locator("#next-actions form")
    expect(actions).to_have_count(3)
    expect(actions.nth(0)).to_have_attribute("data-action-id", "next")
    expect(actions.nth(0).locator('[data-field="increment"] input')).to_have_value("1")  # prefill
    expect(page.locator("#sandbox-run-form")).to_be_hidden()
    screenshot("first-run")

    # The editor changes; the actions still run the snapshot of the first run.
    replace_text(page, "#source-editor", EDITED_SOURCE)
    submit_action(page, "next", increment="one")
    error = page.locator('#next-actions [data-field="increment"] .field-error')
    expect(error).to_have_text("Enter a whole number, e.g. 12.")
    submit_action(page, "next", increment="1")
    expect(page.locator("#run-results .sk-markdown h2")).to_have_text("Step 1 of 3")
    expect(page.locator("#run-artifacts a")).to_have_text("step-1.txt")
    expect(page.locator("#run-results")).not_to_contain_text("EDITED CODE")

    # Someone else moved the session on: 409, the page reloads the revision and says so. (Once
    # the page has read the revision after the last step: the buttons wait for that read.)
    expect(page.locator('#next-actions form[data-action-id="next"] button')).to_be_enabled()
    session = ToolSession.objects.get(context__startswith="sandbox:")
    ToolSession.objects.filter(pk=session.pk).update(state_rev=session.state_rev + 1)
    submit_action(page, "next")
    message = page.locator("#sandbox-message")
    expect(message).to_contain_text(f"now at revision {session.state_rev + 1}")
    screenshot("conflict")
    submit_action(page, "next")
    expect(page.locator("#run-results .sk-markdown h2")).to_have_text("Step 2 of 3")
    submit_action(page, "next")
    expect(page.locator("#run-results .sk-markdown h2")).to_have_text("Step 3 of 3")
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("Finished at step 3.")
    expect(page.locator("#next-actions form")).to_have_count(0)
    actions_run = (
        ToolRun.objects.exclude(action_id="")
        .order_by("requested_at")
        .values_list("action_id", flat=True)
    )
    assert list(actions_run) == ["next", "next", "next"]
    screenshot("finished")

    # Start over: the form is back, and a run may reuse the first run's files.
    page.locator("#start-over-button").click()
    expect(page.locator("#sandbox-run-form")).to_be_visible()
    expect(page.locator("#sandbox-reuse")).to_contain_text("a.txt, b.csv")
    run_and_wait(page)
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("EDITED CODE")
    latest = ToolRun.objects.filter(action_id="").order_by("-requested_at").first()
    assert latest is not None and [f["name"] for f in latest.input_manifest["files"]] == [
        "a.txt",
        "b.csv",
    ]


def test_failures_and_an_expired_snapshot_are_explained(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, STEPS_SOURCE)
    open_editor(alice, tool)
    run_and_wait(page)
    submit_action(page, "next", by="2")
    expect(page.locator('#run-results [data-kind="notice"]')).to_contain_text("step=2")
    expect(page.locator('#next-actions form[data-action-id="next"] button')).to_be_enabled()
    submit_action(page, "explode")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "failed")
    expect(page.locator("#run-status")).to_have_text(re.compile(r"^Failed in \d+\.\d s$"))
    # The server kept the session's state, so the page keeps the last good result and its
    # actions, and says what failed.
    expect(page.locator("#sandbox-message")).to_contain_text(
        "The action “Explode” did not succeed (failed): Tool execution failed (RuntimeError)."
    )
    expect(page.locator("#sandbox-message")).to_contain_text("Nothing changed")
    expect(page.locator('#run-results [data-kind="notice"]')).to_contain_text("step=2")
    expect(page.locator("#run-error")).to_have_count(0)
    expect(page.locator("#next-actions form")).to_have_count(2)
    expect(page.locator("#sandbox-run-form")).to_be_hidden()
    page.locator("#debug-panel > summary").click()
    expect(page.locator("#debug-stderr")).to_contain_text("RuntimeError: boom")  # the failed run
    screenshot("failed")
    # ...and the actions still work on that state.
    submit_action(page, "next", by="1")
    expect(page.locator('#run-results [data-kind="notice"]')).to_contain_text("step=3")
    expect(page.locator("#sandbox-message")).to_be_hidden()
    submit_action(page, "explode")
    expect(page.locator("#sandbox-message")).to_contain_text("did not succeed")

    # Without a clipboard API the JSON is shown selected, ready for Ctrl+C.
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.locator("#copy-debug-json").click()
    shown = page.locator("#debug-json")
    expect(shown).to_be_focused()
    failed = ToolRun.objects.filter(action_id="explode").latest("requested_at")
    assert json.loads(shown.input_value())["run_id"] == str(failed.pk)
    assert shown.evaluate("el => el.selectionEnd - el.selectionStart") == len(shown.input_value())

    page.locator("#start-over-button").click()
    run_and_wait(page)
    expect(page.locator('#next-actions form[data-action-id="next"] button')).to_be_enabled()
    # Expired a moment after it was made (the table refuses an expiry before creation).
    SandboxSnapshot.objects.update(expires_at=F("created_at") + timedelta(microseconds=1))
    submit_action(page, "next")
    expect(page.locator("#sandbox-message")).to_contain_text("Run the sandbox again")
    expect(page.locator('#next-actions form[data-action-id="next"] button')).to_be_disabled()
    expect(page.locator("#sandbox-run-form")).to_be_visible()
    screenshot("expired")


def test_input_form_mirrors_the_server_rules_and_schema_problems_block_run(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, ECHO_SOURCE, input_schema=FORM_SCHEMA)
    open_editor(alice, tool)
    inputs = page.locator("#sandbox-inputs")
    expect(inputs.locator("[data-field]")).to_have_count(5)
    inputs.get_by_label("Count").fill("3.5")
    inputs.get_by_label("Ratio").fill("a lot")
    page.locator("#run-button").click()
    expect(inputs.locator('[data-field="count"] .field-error')).to_have_text(
        "Enter a whole number, e.g. 12."
    )
    expect(inputs.locator('[data-field="ratio"] .field-error')).to_have_text(
        "Enter a number, e.g. 2.5."
    )
    screenshot("field-errors")
    assert not ToolRun.objects.exists()

    inputs.get_by_label("Title").fill("  Hi  ")
    inputs.get_by_label("Count").fill(" 1_200 ")
    inputs.get_by_label("Ratio").fill("2.5")
    inputs.get_by_label("Loud").check()
    inputs.get_by_label("Colour").select_option("red")
    run_and_wait(page)
    expected = {"title": "Hi", "count": 1200, "ratio": 2.5, "loud": True, "colour": "red"}
    notice = page.locator('#run-results [data-kind="notice"]')
    expect(notice).to_contain_text("settings={}")
    echoed = notice.inner_text().removeprefix("inputs=").removesuffix(" settings={}")
    assert ast.literal_eval(echoed) == expected

    # A schema that does not parse blocks Run; the last good form stays.
    page.locator("#start-over-button").click()
    replace_text(page, "#input-schema-editor", '[{"kind": "string", "name": ')
    expect(page.locator("#run-button")).to_be_disabled()
    expect(page.locator("#run-blocked-reason")).to_have_text(
        "Fix the schema problems before running."
    )
    screenshot("schema-problem")
    replace_text(
        page,
        "#input-schema-editor",
        json.dumps([{"kind": "text", "name": "note", "label": "Note"}]),
    )
    expect(page.locator("#run-button")).to_be_enabled()
    expect(inputs.locator("[data-field]")).to_have_count(1)
    expect(inputs.locator('[data-field="note"] textarea')).to_be_visible()


def test_read_only_page_cannot_run(
    page: Page,
    open_editor: Callable[..., None],
    alice: User,
    project: Project,
) -> None:
    tool = draft_tool(alice, project, ECHO_SOURCE, settings_schema=SETTINGS_SCHEMA)
    admin = UserFactory(admin=True)
    assert tool.draft_head_id is not None
    tools.acquire_draft_lock(tool=tool, actor=admin, draft_head_id=str(tool.draft_head_id))
    open_editor(alice, tool, holds_lock=False)
    expect(page.locator("#run-button")).to_be_disabled()
    expect(page.locator("#run-blocked-reason")).to_have_text(
        "Read-only: you do not hold the draft lock."
    )
    expect(page.locator("#settings-panel")).to_be_visible()
    expect(page.locator("#settings-save")).to_be_disabled()
    expect(page.locator("#settings-panel").get_by_label("Colour theme")).to_be_disabled()


def test_sandbox_setting_reaches_the_next_run_and_never_production(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = published_tool(
        alice, SETTINGS_TEST_SOURCE, project=project, settings_schema=SETTINGS_SCHEMA
    )
    tools.create_draft(
        tool=tool, actor=alice, content=tools.ContentEdit(), derived_from=tool.active_version
    )
    open_editor(alice, tool)
    panel = page.locator("#settings-panel")
    expect(panel).to_be_visible()
    theme = panel.get_by_label("Colour theme")
    expect(page.locator("#settings-save")).to_be_enabled()
    theme.fill("#aa0000")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_have_text(
        "Sandbox settings saved. The next sandbox run reads them."
    )
    run_and_wait(page)
    expect(page.locator('#run-results [data-kind="notice"]')).to_have_text("theme_color=#aa0000")
    screenshot("settings-run")

    production = run_services.production_settings(tool=tool, actor=alice)
    assert "theme_color" not in production.values, "Sandbox settings leaked into production"

    # Another tab saved meanwhile: 409, the stored values are reloaded and the page says so.
    stored = ToolSession.objects.get(context__startswith="sandbox-settings:")
    ToolSession.objects.filter(pk=stored.pk).update(state_rev=stored.state_rev + 1)
    theme.fill("#00aa00")
    page.locator("#settings-save").click()
    expect(page.locator("#settings-status")).to_contain_text("the stored values were reloaded")
    expect(theme).to_have_value("#aa0000")

    page.reload()  # persisted for this user and draft
    expect(page.locator("#settings-panel").get_by_label("Colour theme")).to_have_value("#aa0000")


SLOW_SOURCE = """\
import time

def run_tool(input_dir, output_dir):
    time.sleep(2.3)
    return {"outputs": [{"kind": "notice", "level": "info", "message": "slept"}]}
"""
WATCH_STATUS = """
() => {
  window.seenStatus = [];
  const status = document.getElementById("run-status");
  new MutationObserver(() => {
    const text = status.textContent;
    if (window.seenStatus[window.seenStatus.length - 1] !== text) window.seenStatus.push(text);
  }).observe(status, {childList: true, characterData: true, subtree: true});
}
"""


def test_progress_shows_queued_then_running_seconds_then_the_end(
    page: Page,
    open_editor: Callable[..., None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    tool = draft_tool(alice, project, SLOW_SOURCE)
    open_editor(alice, tool)
    page.evaluate(WATCH_STATUS)
    page.locator("#run-button").click()
    expect(page.locator("#run-button")).to_be_disabled()  # one run at a time from this form
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=10_000
    )
    seen = page.evaluate("window.seenStatus")
    assert seen[0] == "Queued…"
    assert seen[1:4] == ["Running… 0 s", "Running… 1 s", "Running… 2 s"]
    assert re.fullmatch(r"Succeeded in 2\.\d s", seen[-1]), seen


def test_run_to_result_median_of_ten(
    page: Page,
    open_editor: Callable[..., None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    """The time from clicking Run to the rendered result of a trivial tool, with the page's
    default polling (no ?poll_ms): printed, and held to the 1 s target."""
    tool = draft_tool(alice, project, TRIVIAL_SOURCE)
    open_editor(alice, tool, query="")
    run_and_wait(page)  # warm-up: first imports, first connections
    assert report_median("Editor", run_to_result_ms(page)) <= 1000


def test_a_syntax_error_is_shown_once_and_its_line_is_marked(
    page: Page,
    open_editor: Callable[..., None],
    screenshot: Callable[[str], None],
    alice: User,
    project: Project,
    worker: list[threading.Thread],
) -> None:
    source = "def run_tool(input_dir, output_dir):\n    x = 1\n    return (x,\n\nprint(]\n"
    tool = draft_tool(alice, project, ECHO_SOURCE)
    open_editor(alice, tool)
    replace_text(page, "#source-editor", source)
    run_and_wait(page, "failed")
    error = page.locator("#run-error")
    expect(error).to_contain_text("SyntaxError: ")
    summary = error.inner_text()
    line = int(re.search(r"\(line (\d+)", summary).group(1))
    # Once: the payload's copy of the summary is not rendered again below it.
    expect(page.locator("#run-results")).to_contain_text("SyntaxError", use_inner_text=True)
    assert page.locator("#run-results").inner_text().count("SyntaxError") == 1
    # The line is marked in the editor: a lint marker in the gutter and the range underlined.
    marker = page.locator("#source-editor .cm-lint-marker-error")
    expect(marker).to_have_count(1)
    gutter_lines = page.locator("#source-editor .cm-gutter-lint .cm-gutterElement")
    marked = [
        index
        for index in range(gutter_lines.count())
        if gutter_lines.nth(index).locator(".cm-lint-marker-error").count()
    ]
    assert len(marked) == 1
    expect(page.locator("#source-editor .cm-lintRange-error")).to_have_count(1)
    underlined_line = page.locator("#source-editor .cm-line").nth(line - 1)
    expect(underlined_line.locator(".cm-lintRange-error")).to_have_count(1)
    screenshot("syntax-error")

    # Fixed and run again: the mark goes.
    replace_text(page, "#source-editor", ECHO_SOURCE)
    run_and_wait(page)
    expect(page.locator("#source-editor .cm-lintRange-error")).to_have_count(0)
