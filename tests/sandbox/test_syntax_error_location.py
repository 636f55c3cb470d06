"""Run details carry `error_location` {line, col} when the pre-flight syntax check refused the
code, so the editor can mark the line; every other run has null there."""

import pytest

from apps.runs.runner.workdir import syntax_error_location, syntax_error_summary
from tests.factories.runs import editor_world, preview_and_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    return editor_world(alice)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def details_of(client, run):
    return client.get(f"/api/v1/editor/tool-runs/{run.pk}").json()


def test_a_syntax_error_run_names_its_line_and_column(world, client):
    source = "def run_tool(input_dir, output_dir):\n    return (1,\n\nx = ]\n"
    _, run = preview_and_execute(client, world, source)
    details = details_of(client, run)
    assert details["status"] == "failed"
    assert details["error_summary"].startswith("SyntaxError: ")
    first_line = details["error_summary"].splitlines()[0]
    assert details["error_location"] == syntax_error_location(first_line)
    assert details["error_location"]["line"] in (2, 4)
    assert details["error_location"]["col"] >= 1


def test_other_failures_and_successes_have_no_location(world, client):
    raising = "def run_tool(input_dir, output_dir):\n    raise ValueError('x (line 3, col 4)')\n"
    _, failed = preview_and_execute(client, world, raising)
    assert details_of(client, failed)["error_location"] is None
    _, ok = preview_and_execute(client, world)
    assert details_of(client, ok)["error_location"] is None


@pytest.mark.parametrize(
    ("source", "location"),
    [
        ("def f(:\n    pass\n", {"line": 1, "col": 7}),
        ("if True:\npass\n", {"line": 2, "col": 1}),
        ("x = 1\ny = (2,\n", {"line": 2, "col": 5}),
    ],
)
def test_the_location_is_read_back_from_the_preflight_summary(source, location):
    assert syntax_error_location(syntax_error_summary(source)) == location


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "Tool execution failed (SyntaxError).",
        "SyntaxError: source code cannot contain null bytes",
        "SyntaxError: x (line 99999999999, col 1)",
        "Not a SyntaxError: x (line 3, col 4)",
        "SyntaxError: x (line 3, col 4) and more",
    ],
)
def test_summaries_that_are_not_a_located_syntax_error_give_none(summary):
    assert syntax_error_location(summary) is None


def test_a_summary_without_a_column_points_at_the_line_start():
    assert syntax_error_location("SyntaxError: bad (line 7)") == {"line": 7, "col": 1}
