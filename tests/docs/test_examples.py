"""Every curl example of the docs runs as written against a live server on fresh demo data.

Each ```bash block that calls curl is run by bash (`set -euo pipefail`) from the repository root,
exactly as a reader pastes it after `make run`; the only change is the server's address. `curl`
is wrapped in a shell function that records the HTTP status of every call with the line that
made it, and each status must be the one the line's comment names (`# 409 …`), else 200.
"""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_SERVER = "http://127.0.0.1:8000"
DOCS_WITH_EXAMPLES = ["docs/api.md", "docs/portal.md"]
# A status in a trailing comment: `# 409 AMBIGUOUS_COLLECTION` (a `#` inside a value, such as
# "#0f766e", follows no blank).
STATUS_COMMENT = re.compile(r"\s#\s+(\d{3})\b")

# Runs before each block: the curl wrapper. BASH_LINENO names the block's line that called it.
PRELUDE = """\
set -euo pipefail
curl() {
  local body status
  body=$(mktemp)
  status=$(command curl "$@" -o "$body" -w '%{http_code}')
  cat "$body"; rm -f "$body"
  echo "$((BASH_LINENO[0] - PRELUDE_LINES)) $status" >> "$CURL_LOG"
}
"""


@dataclass(frozen=True)
class Command:
    first_line: int  # 1-based lines of the block, continuation lines included
    last_line: int
    expected_status: int


@dataclass(frozen=True)
class Example:
    doc: str
    line: int  # where the block starts in the document
    code: str

    def curl_commands(self) -> list[Command]:
        """The block's commands that call curl, with the status each must get."""
        commands = []
        lines = self.code.splitlines()
        start = 0
        for index, line in enumerate(lines):
            if line.endswith("\\"):
                continue
            text = "\n".join(lines[start : index + 1])
            if re.search(r"(^|[\s$(|])curl\s", text):
                found = STATUS_COMMENT.search(text)
                commands.append(Command(start + 1, index + 1, int(found[1]) if found else 200))
            start = index + 1
        return commands


def examples() -> list[Example]:
    found = []
    for doc in DOCS_WITH_EXAMPLES:
        text = (ROOT / doc).read_text()
        for match in re.finditer(r"^```bash\n(.*?)^```", text, flags=re.M | re.S):
            if "curl " in match[1]:
                found.append(Example(doc, text[: match.start()].count("\n") + 1, match[1]))
    return found


@pytest.fixture
def demo_server(live_server: Any, worker: Any, transactional_db: None) -> str:
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - closed at exit
    return str(live_server.url)


def _environment(tmp_path: Path) -> dict[str, str]:
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )
    # scripts/env.sh keeps values that are already set: the block's manage.py commands use the
    # test database the live server serves, not the checkout's own.
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "CURL_LOG": str(tmp_path / "curl.log"),
        "PRELUDE_LINES": str(PRELUDE.count("\n")),
    }


@pytest.mark.parametrize("example", examples(), ids=lambda e: f"{e.doc}:{e.line}")
def test_the_example_runs_as_written(example: Example, demo_server: str, tmp_path: Path) -> None:
    script = PRELUDE + example.code.replace(DOCUMENTED_SERVER, demo_server)
    result = subprocess.run(
        ["/bin/bash", "-c", script],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    calls = [line.split() for line in (tmp_path / "curl.log").read_text().splitlines()]
    for command in example.curl_commands():
        statuses = {
            int(status)
            for line, status in calls
            if command.first_line <= int(line) <= command.last_line
        }
        where = f"{example.doc}, line {example.line + command.first_line} of the document"
        assert statuses, f"{where}: curl was never called\n{output}"
        assert statuses == {command.expected_status}, f"{where}: got {statuses}\n{output}"
