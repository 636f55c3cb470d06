"""The fault suite's deployment (tests/faults/stack.py), started once for the whole suite, and
its report: one line per fault, printed after the run and kept in
test-artifacts/faults-report.txt."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.faults import stack as stack_module
from tests.faults.stack import REPO_ROOT, Stack

REPORT_PATH = REPO_ROOT / "test-artifacts" / "faults-report.txt"
_lines: list[str] = []


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    REPORT_PATH.parent.mkdir(exist_ok=True)
    REPORT_PATH.write_text("")
    running = stack_module.start_stack()
    try:
        yield running
    finally:
        stack_module.remove(running)


@pytest.fixture
def report() -> Any:
    def write(line: str) -> None:
        _lines.append(line)
        with REPORT_PATH.open("a") as out:
            out.write(line + "\n")

    return write


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _lines:
        terminalreporter.section("fault report (test-artifacts/faults-report.txt)")
        for line in _lines:
            terminalreporter.write_line(line)
