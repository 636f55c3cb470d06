"""The vendor modules in headless Chromium, imported from blob: URLs (no server, no database, no
network). The test puts them on `window` itself; the pages import them as modules."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.editor.test_bundle import EDITOR, MARKDOWN, VERSION

pytestmark = pytest.mark.browser

IMPORT = """async ([editor, markdown]) => {
    const load = (code) => import(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
    window.SkBundle = await load(editor);
    window.SkMarkdown = await load(markdown);
}"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """Overrides conftest's `page`: no live server (so no database); requests are refused."""
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.set_default_timeout(10_000)
    page = context.new_page()
    requests: list[str] = []

    def refuse(route: Route) -> None:
        requests.append(route.request.url)
        route.abort()

    page.route("**/*", refuse)
    page.set_content('<!doctype html><html><body><div id="code"></div><div id="json"></div>')
    page.evaluate(IMPORT, [bundle.read_text(encoding="utf-8") for bundle in (EDITOR, MARKDOWN)])
    yield page
    assert requests == []  # the bundle loads nothing (no CDN)
    context.close()


def make_editor(page: Page, options: str) -> None:
    page.evaluate(
        """(options) => {
            window.changes = [];
            window.editor = SkBundle.createCodeEditor(
                document.getElementById("code"),
                {...options, onChange: (text) => window.changes.push(text)},
            );
        }""",
        options,
    )


def test_typing_reaches_getvalue_and_onchange_but_setvalue_is_silent(page: Page) -> None:
    assert page.evaluate("SkBundle.version") == VERSION
    assert page.evaluate("SkMarkdown.version") == VERSION
    make_editor(page, {"doc": "", "language": "python", "readOnly": False})
    page.locator("#code .cm-content").click()
    page.keyboard.type("x = 1")
    assert page.evaluate("editor.getValue()") == "x = 1"
    assert page.evaluate("changes.at(-1)") == "x = 1"

    changes_before = page.evaluate("changes.length")
    page.evaluate("editor.setValue('y = 2')")
    assert page.evaluate("editor.getValue()") == "y = 2"
    assert page.evaluate("changes.length") == changes_before


def test_tab_indents_four_spaces(page: Page) -> None:
    make_editor(page, {"doc": "", "language": "python", "readOnly": False})
    page.evaluate("editor.focus()")
    page.keyboard.press("Tab")
    assert page.evaluate("editor.getValue()") == "    "


def test_read_only_blocks_typing_until_lifted(page: Page) -> None:
    make_editor(page, {"doc": "a = 1", "language": "python", "readOnly": False})
    page.evaluate("editor.setReadOnly(true)")
    content = page.locator("#code .cm-content")
    expect(content).to_have_attribute("contenteditable", "false")
    content.click()
    page.keyboard.type("zzz")
    assert page.evaluate("editor.getValue()") == "a = 1"
    assert page.evaluate("changes.length") == 0

    page.evaluate("editor.setReadOnly(false)")
    content.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("2")
    assert page.evaluate("editor.getValue()") == "a = 12"


def test_json_editor_can_start_read_only(page: Page) -> None:
    page.evaluate(
        """SkBundle.createCodeEditor(document.getElementById("json"),
            {doc: '{"a": 1}', language: "json", readOnly: true, onChange: () => {}})"""
    )
    expect(page.locator("#json .cm-content")).to_have_attribute("contenteditable", "false")
    expect(page.locator("#json .cm-content")).to_contain_text('{"a": 1}')


def test_diagnostics_are_shown_inline_and_positions_are_clamped(page: Page) -> None:
    make_editor(page, {"doc": "def f(:\n    pass\n", "language": "python", "readOnly": False})
    page.evaluate(
        """editor.setDiagnostics([
            {line: 1, column: 7, message: "invalid syntax", severity: "error"},
            {line: 99, column: 99, message: "past the end", severity: "warning"},
        ])"""
    )
    error = page.locator("#code .cm-lintRange-error")
    expect(error).to_have_count(1)
    expect(error).to_have_text(":")  # column 7 of line 1, one character wide
    expect(page.locator("#code .cm-lint-marker-error")).to_have_count(1)
    # Line 99 is clamped to the last line.
    expect(page.locator("#code .cm-lint-marker-warning")).to_have_count(1)

    page.evaluate("editor.setDiagnostics([])")
    expect(page.locator("#code .cm-lintRange-error")).to_have_count(0)


def test_render_markdown_escapes_html_and_hardens_links(page: Page) -> None:
    html = page.evaluate("SkMarkdown.renderMarkdown('<script>alert(1)</script> **b**')")
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<strong>b</strong>" in html

    link = page.evaluate("SkMarkdown.renderMarkdown('[docs](https://example.org/x)')")
    assert 'href="https://example.org/x"' in link
    assert 'rel="noopener noreferrer"' in link
    bad = page.evaluate("SkMarkdown.renderMarkdown('[x](javascript:alert(1))')")
    assert "javascript:" not in bad.split(">", 1)[0]
    assert "<a" not in bad
