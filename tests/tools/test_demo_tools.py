"""The demo tools' sources, run in-process under the runner's environment contract (no sandbox)."""

import importlib.util
import itertools
import json
import shutil
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.tools.demo import DEMO_TOOLS
from apps.tools.schemas import normalize_input_schema, normalize_settings_schema

TOOLKIT_DIR = Path(__file__).resolve().parents[2] / "apps" / "runs" / "runner" / "files"
SOURCES = {demo.slug: demo.source for demo in DEMO_TOOLS}
_module_numbers = itertools.count()


class Workdir:
    """One run's /work: script, input files, memory.json and the environment pointing at them."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.input = root / "input"
        self.output = root / "output"
        self.monkeypatch = monkeypatch

    def run(
        self,
        slug: str,
        *,
        files: dict[str, bytes] | None = None,
        inputs: dict[str, Any] | None = None,
        action: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        shutil.rmtree(self.root, ignore_errors=True)
        self.input.mkdir(parents=True)
        self.output.mkdir()
        script = self.root / "script.py"
        script.write_text(SOURCES[slug], encoding="utf-8")
        memory = self.root / "memory.json"
        memory.write_text(json.dumps({"settings": settings or {}}), encoding="utf-8")
        manifest = []
        for name, data in (files or {}).items():
            (self.input / name).write_bytes(data)
            manifest.append({"name": name, "path": str(self.input / name), "bytes": len(data)})
        env = {
            "SKRIPTOTEKET_SCRIPT_PATH": str(script),
            "SKRIPTOTEKET_ENTRYPOINT": "run_tool",
            "SKRIPTOTEKET_INPUT_DIR": str(self.input),
            "SKRIPTOTEKET_INPUT_MANIFEST": json.dumps({"files": manifest}),
            # Action runs get `{}` inputs: the form values belong to the first run only.
            "SKRIPTOTEKET_INPUTS": json.dumps({} if action else inputs or {}),
            "SKRIPTOTEKET_MEMORY_PATH": str(memory),
            "SKRIPTOTEKET_OUTPUT_DIR": str(self.output),
            "SKRIPTOTEKET_RESULT_PATH": str(self.root / "result.json"),
        }
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        if action is None:
            self.monkeypatch.delenv("SKRIPTOTEKET_ACTION", raising=False)
        else:
            self.monkeypatch.setenv("SKRIPTOTEKET_ACTION", json.dumps(action))
        result = _load(script).run_tool(str(self.input), str(self.output))
        json.dumps(result, allow_nan=False)  # the contract allows pure JSON only
        return result  # type: ignore[no-any-return]

    def artifacts(self) -> dict[str, str]:
        return {path.name: path.read_text() for path in sorted(self.output.iterdir())}


def _load(script: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"demo_tool_{next(_module_numbers)}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workdir:
    monkeypatch.syspath_prepend(str(TOOLKIT_DIR))
    monkeypatch.delenv("SKRIPTOTEKET_COLLECTIONS_SOCKET", raising=False)
    return Workdir(tmp_path / "work", monkeypatch)


def kinds(result: dict[str, Any]) -> list[str]:
    return [output["kind"] for output in result["outputs"]]


def action_ids(result: dict[str, Any]) -> list[str]:
    return [action["action_id"] for action in result.get("next_actions", [])]


def test_every_demo_tool_has_valid_schemas_and_compiles() -> None:
    assert [demo.slug for demo in DEMO_TOOLS] == [
        "demo-next-actions",
        "demo-settings-test",
        "demo-inputs-file",
        "demo-collections",
    ]
    for demo in DEMO_TOOLS:
        normalize_input_schema(demo.input_schema)
        normalize_settings_schema(demo.settings_schema)
        compile(demo.source, demo.slug, "exec")


# demo-next-actions

FILES = {"a.txt": b"hello", "b.csv": b"x,y\n1,2\n"}


def test_next_actions_first_run_summarises_files_and_offers_three_actions(work: Workdir) -> None:
    result = work.run("demo-next-actions", files=FILES)

    assert kinds(result) == ["markdown", "table"]
    assert "2 file(s) in this session, 13 bytes" in result["outputs"][0]["markdown"]
    assert result["outputs"][1]["rows"] == [
        {"name": "a.txt", "bytes": 5},
        {"name": "b.csv", "bytes": 8},
    ]
    assert action_ids(result) == ["next", "reset", "finish"]
    next_step = result["next_actions"][0]
    assert next_step["fields"] == [{"kind": "integer", "name": "increment", "label": "Increment"}]
    assert next_step["prefill"] == {"increment": 1}
    assert result["state"] == {"step": 0}
    assert work.artifacts() == {"step-0.txt": "step=0\ndone=False\n"}


def test_next_actions_counts_to_three_then_stops(work: Workdir) -> None:
    state = work.run("demo-next-actions", files=FILES)["state"]
    for expected in (1, 2, 3):
        # The platform re-injects the session files into every action run.
        action = {"action_id": "next", "input": {"increment": 1}, "state": state}
        result = work.run("demo-next-actions", files=FILES, action=action)
        state = result["state"]
        assert state == {"step": expected}
        assert f"## Step {expected} of 3" in result["outputs"][0]["markdown"]
        assert "2 file(s) in this session" in result["outputs"][0]["markdown"]
        assert list(work.artifacts()) == [f"step-{expected}.txt"]
    assert result["next_actions"] == []
    assert result["outputs"][-1] == {
        "kind": "notice",
        "level": "info",
        "message": "Finished at step 3.",
    }
    assert work.artifacts() == {"step-3.txt": "step=3\ndone=True\n"}


def test_next_actions_reset_and_finish(work: Workdir) -> None:
    jump = {"action_id": "next", "input": {"increment": 2}, "state": {"step": 0}}
    assert work.run("demo-next-actions", action=jump)["state"] == {"step": 2}

    reset = work.run("demo-next-actions", action={"action_id": "reset", "state": {"step": 2}})
    assert reset["state"] == {"step": 0}
    assert action_ids(reset) == ["next", "reset", "finish"]

    finish = work.run("demo-next-actions", action={"action_id": "finish", "state": {"step": 1}})
    assert finish["state"] == {"step": 1}
    assert finish["next_actions"] == []
    assert work.artifacts() == {"step-1.txt": "step=1\ndone=True\n"}


def test_next_actions_never_counts_past_the_last_step(work: Workdir) -> None:
    action = {"action_id": "next", "input": {"increment": 7}, "state": {"step": 1}}
    result = work.run("demo-next-actions", action=action)
    assert result["state"] == {"step": 3}
    assert result["next_actions"] == []


@pytest.mark.parametrize(
    "action",
    [
        {"action_id": "next", "input": {"increment": 0}, "state": {"step": 0}},
        {"action_id": "next", "input": {"increment": "2"}, "state": {"step": 0}},
        {"action_id": "jump", "input": {}, "state": {"step": 0}},
    ],
)
def test_next_actions_refuses_bad_action_input_as_a_user_error(
    work: Workdir, action: dict[str, Any]
) -> None:
    import tool_errors  # on sys.path through the `work` fixture

    with pytest.raises(tool_errors.ToolUserError):
        work.run("demo-next-actions", action=action)


# demo-settings-test


def test_settings_test_echoes_the_settings(work: Workdir) -> None:
    settings = {"theme_color": "#aa0000", "density": "compact"}
    result = work.run("demo-settings-test", settings=settings)
    assert result["outputs"] == [
        {"kind": "notice", "level": "info", "message": "theme_color=#aa0000"},
        {"kind": "json", "title": "Settings", "value": settings},
    ]
    assert "next_actions" not in result


def test_settings_test_without_settings(work: Workdir) -> None:
    result = work.run("demo-settings-test")
    assert result["outputs"][0]["message"] == "theme_color=(not set)"
    assert result["outputs"][1]["value"] == {}


# demo-inputs-file


def test_inputs_file_echoes_inputs_and_files_and_saves_them(work: Workdir) -> None:
    inputs = {"title": "Week 3", "format": "md"}
    files = {"notes.md": b"# Notes\n", "list.txt": b"one\ntwo\n"}
    result = work.run("demo-inputs-file", inputs=inputs, files=files)

    assert result["outputs"][0] == {
        "kind": "notice",
        "level": "info",
        "message": "Week 3: 2 file(s).",
    }
    assert result["outputs"][1] == {"kind": "json", "title": "Inputs", "value": inputs}
    expected_files = [{"name": "notes.md", "bytes": 8}, {"name": "list.txt", "bytes": 8}]
    assert result["outputs"][2]["rows"] == expected_files
    saved = json.loads(work.artifacts()["inputs.json"])
    assert saved == {"inputs": inputs, "files": expected_files}


# demo-collections


BOOKS = [
    {
        "key": "book:001",
        "value": json.dumps({"title": "Pippi", "author": "Lindgren", "year": 1945}),
    },
    {"key": "book:002", "value": "not json"},
]


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[dict[str, Any]]]]:
    """A stand-in for the worker's collections socket, answering one JSON line per request."""
    folder = tempfile.mkdtemp(prefix="sk-bridge-")  # short: Unix socket paths are limited
    servers: list[socketserver.UnixStreamServer] = []

    def start(*, write_code: str | None = None) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = json.loads(self.rfile.readline())
                requests.append(request)
                if request["op"] == "get_all":
                    answer: dict[str, Any] = {"ok": True, "result": BOOKS}
                elif write_code:
                    answer = {"ok": False, "code": write_code, "error": "no writes here"}
                else:
                    answer = {"ok": True, "result": None}
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        path = f"{folder}/bridge.sock"
        server = socketserver.ThreadingUnixStreamServer(path, Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setenv("SKRIPTOTEKET_COLLECTIONS_SOCKET", path)
        return requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    shutil.rmtree(folder, ignore_errors=True)


def test_collections_lists_books_and_logs_the_run(work: Workdir, bridge: Any) -> None:
    requests = bridge()
    result = work.run("demo-collections")

    table, notice = result["outputs"]
    assert table["title"] == "Books (2)"
    assert table["rows"] == [
        {"key": "book:001", "title": "Pippi", "author": "Lindgren", "year": 1945},
        {"key": "book:002", "title": "not json", "author": None, "year": None},
    ]
    assert notice == {"kind": "notice", "level": "info", "message": "Saved last-run in runs-log."}
    read, write = requests
    assert read == {"op": "get_all", "collection": "books", "pattern": "book:*", "limit": None}
    assert (write["op"], write["collection"], write["key"]) == ("set", "runs-log", "last-run")
    assert json.loads(write["value"])["books"] == 2


def test_collections_shows_a_refused_write_as_a_warning(work: Workdir, bridge: Any) -> None:
    bridge(write_code="PREVIEW_READ_ONLY")
    result = work.run("demo-collections")
    assert kinds(result) == ["table", "notice"]
    assert result["outputs"][1] == {
        "kind": "notice",
        "level": "warning",
        "message": "Could not write runs-log: PREVIEW_READ_ONLY",
    }


def test_collections_without_a_bridge_warns_instead_of_failing(work: Workdir) -> None:
    result = work.run("demo-collections")
    assert result["outputs"] == [
        {
            "kind": "notice",
            "level": "warning",
            "message": "Could not read books: COLLECTIONS_UNAVAILABLE",
        }
    ]
