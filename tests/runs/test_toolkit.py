"""The toolkit helpers tools import inside the sandbox, called directly with a patched env."""

import json

import pytest

from apps.runs.runner.files import skriptoteket_toolkit as toolkit
from apps.runs.runner.files.tool_errors import ToolUserError

MALFORMED_JSON = ["", "   ", "{", "nul", "[" * 100_000, "1" * 5000, '"text"', "[1, 2]", "null"]


@pytest.fixture(autouse=True)
def _no_contract_env(monkeypatch):
    for name in (
        "SKRIPTOTEKET_INPUTS",
        "SKRIPTOTEKET_INPUT_MANIFEST",
        "SKRIPTOTEKET_ACTION",
        "SKRIPTOTEKET_MEMORY_PATH",
    ):
        monkeypatch.delenv(name, raising=False)


def test_read_inputs_returns_the_object(monkeypatch):
    monkeypatch.setenv("SKRIPTOTEKET_INPUTS", '{"name": "Ada", "n": 3}')
    assert toolkit.read_inputs() == {"name": "Ada", "n": 3}


@pytest.mark.parametrize("raw", MALFORMED_JSON)
def test_read_inputs_falls_back_to_empty_dict(monkeypatch, raw):
    monkeypatch.setenv("SKRIPTOTEKET_INPUTS", raw)
    assert toolkit.read_inputs() == {}


def test_read_inputs_without_the_variable_is_empty():
    assert toolkit.read_inputs() == {}


def test_read_input_manifest_returns_any_object_and_falls_back_to_no_files(monkeypatch):
    assert toolkit.read_input_manifest() == {"files": []}
    monkeypatch.setenv("SKRIPTOTEKET_INPUT_MANIFEST", '{"files": "odd", "extra": 1}')
    assert toolkit.read_input_manifest() == {"files": "odd", "extra": 1}
    for raw in MALFORMED_JSON:
        monkeypatch.setenv("SKRIPTOTEKET_INPUT_MANIFEST", raw)
        assert toolkit.read_input_manifest() == {"files": []}


def test_list_input_files_keeps_only_well_formed_entries(monkeypatch):
    good = {"name": "a.csv", "path": "/work/input/a.csv", "bytes": 12}
    entries = [
        good,
        {"name": "b.csv", "path": "/work/input/b.csv", "bytes": True},
        {"name": "c.csv", "path": "/work/input/c.csv", "bytes": "12"},
        {"name": "d.csv", "path": "/work/input/d.csv", "bytes": 1.5},
        {"name": 4, "path": "/work/input/4", "bytes": 1},
        {"name": "e.csv", "bytes": 1},
        "f.csv",
        None,
        {**good, "name": "g.csv", "extra": "ignored"},
    ]
    monkeypatch.setenv("SKRIPTOTEKET_INPUT_MANIFEST", json.dumps({"files": entries}))
    assert toolkit.list_input_files() == [
        good,
        {"name": "g.csv", "path": "/work/input/a.csv", "bytes": 12},
    ]


@pytest.mark.parametrize("manifest", ['{"files": {"a": 1}}', '{"other": []}', "[]", "{"])
def test_list_input_files_without_a_file_list_is_empty(monkeypatch, manifest):
    monkeypatch.setenv("SKRIPTOTEKET_INPUT_MANIFEST", manifest)
    assert toolkit.list_input_files() == []


def test_read_action_returns_the_stripped_id_with_input_and_state(monkeypatch):
    payload = {"action_id": "  confirm ", "input": {"ok": True}, "state": {"step": 2}, "x": 1}
    monkeypatch.setenv("SKRIPTOTEKET_ACTION", json.dumps(payload))
    assert toolkit.read_action() == {
        "action_id": "confirm",
        "input": {"ok": True},
        "state": {"step": 2},
    }
    assert toolkit.get_action_parts() == ("confirm", {"ok": True}, {"step": 2})


def test_read_action_replaces_non_object_input_and_state(monkeypatch):
    monkeypatch.setenv("SKRIPTOTEKET_ACTION", '{"action_id": "go", "input": [1], "state": "s"}')
    assert toolkit.read_action() == {"action_id": "go", "input": {}, "state": {}}


@pytest.mark.parametrize(
    "raw",
    [
        *MALFORMED_JSON,
        '{"input": {}}',
        '{"action_id": ""}',
        '{"action_id": "   "}',
        '{"action_id": 7}',
        '{"action_id": null}',
    ],
)
def test_not_an_action_run_gives_none_and_empty_parts(monkeypatch, raw):
    monkeypatch.setenv("SKRIPTOTEKET_ACTION", raw)
    assert toolkit.read_action() is None
    assert toolkit.get_action_parts() == (None, {}, {})


def test_get_action_parts_outside_an_action_run():
    assert toolkit.get_action_parts() == (None, {}, {})


def test_read_memory_and_settings_from_the_memory_file(monkeypatch, tmp_path):
    memory = tmp_path / "memory.json"
    memory.write_text('{"settings": {"lang": "sv"}, "other": 1}', encoding="utf-8")
    monkeypatch.setenv("SKRIPTOTEKET_MEMORY_PATH", f"  {memory}  ")
    assert toolkit.read_memory() == {"settings": {"lang": "sv"}, "other": 1}
    assert toolkit.read_settings() == {"lang": "sv"}


@pytest.mark.parametrize(
    "content",
    [b"{", b"[]", b'"x"', b"\xff\xfe", b"[" * 100_000, b'{"settings": [1]}', b'{"other": 1}'],
)
def test_unusable_memory_gives_empty_settings(monkeypatch, tmp_path, content):
    memory = tmp_path / "memory.json"
    memory.write_bytes(content)
    monkeypatch.setenv("SKRIPTOTEKET_MEMORY_PATH", str(memory))
    assert toolkit.read_settings() == {}
    assert isinstance(toolkit.read_memory(), dict)


@pytest.mark.parametrize("path", ["", "   ", "/no/such/memory.json", "/"])
def test_missing_memory_file_gives_empty_dicts(monkeypatch, path):
    monkeypatch.setenv("SKRIPTOTEKET_MEMORY_PATH", path)
    assert toolkit.read_memory() == {}
    assert toolkit.read_settings() == {}


def test_tool_user_error_keeps_a_stripped_message_with_a_fallback():
    assert ToolUserError("  Saknar kolumn  ").safe_message == "Saknar kolumn"
    assert str(ToolUserError("  Saknar kolumn  ")) == "Saknar kolumn"
    assert ToolUserError(" \n ").safe_message == "Ett fel inträffade."
    assert ToolUserError().safe_message == "Ett fel inträffade."
