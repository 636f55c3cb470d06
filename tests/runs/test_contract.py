import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from apps.runs.runner.contract import (
    ContractViolation,
    RunnerOutput,
    normalize_relative_path,
    read_result,
)

MAX = 4_000_000


def _valid() -> dict[str, Any]:
    return {
        "contract_version": 2,
        "status": "succeeded",
        "error_summary": None,
        "outputs": [{"kind": "notice", "level": "info", "message": "3 rows processed"}],
        "next_actions": [{"action_id": "confirm", "label": "Confirm", "kind": "form"}],
        "state": {"step": 1},
        "artifacts": [{"path": "output/report.csv", "bytes": 512}],
    }


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _write_raw(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "result.json"
    path.write_bytes(data)
    return path


def _violation(path: Path, max_bytes: int = MAX) -> str:
    with pytest.raises(ContractViolation) as caught:
        read_result(path, max_bytes=max_bytes)
    return str(caught.value)


def _finishes_within(seconds: float, work: Any) -> Any:
    """Run `work` in a daemon thread; fail (instead of hanging the suite) if it blocks."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except Exception as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    return outcome


def test_valid_v2_result_is_returned_with_its_artifact_path(tmp_path: Path) -> None:
    result = read_result(_write(tmp_path, _valid()), max_bytes=MAX)

    assert result == RunnerOutput(
        status="succeeded",
        error_summary=None,
        outputs=[{"kind": "notice", "level": "info", "message": "3 rows processed"}],
        next_actions=[{"action_id": "confirm", "label": "Confirm", "kind": "form"}],
        state={"step": 1},
        artifacts=[{"path": "output/report.csv", "bytes": 512}],
    )


def test_output_content_is_not_validated_here(tmp_path: Path) -> None:
    document = _valid() | {"outputs": [42, {"kind": "nonsense"}], "next_actions": ["x"]}

    result = read_result(_write(tmp_path, document), max_bytes=MAX)

    assert result.outputs == [42, {"kind": "nonsense"}]
    assert result.next_actions == ["x"]


def test_artifact_paths_are_normalised_and_extra_keys_dropped(tmp_path: Path) -> None:
    document = _valid() | {"artifacts": [{"path": "./output//a/./b.txt", "bytes": 0, "x": 1}]}

    result = read_result(_write(tmp_path, document), max_bytes=MAX)

    assert result.artifacts == [{"path": "output/a/b.txt", "bytes": 0}]


def test_optional_lists_and_state_default_to_empty(tmp_path: Path) -> None:
    document = {"contract_version": 2, "status": "failed", "error_summary": "Boom"}

    result = read_result(_write(tmp_path, document), max_bytes=MAX)

    assert result == RunnerOutput("failed", "Boom", [], [], None, [])


@pytest.mark.parametrize("summary", [None, "Filen saknar kolumnen 'namn'."])
def test_error_summary_may_be_null_or_a_string(tmp_path: Path, summary: str | None) -> None:
    document = _valid() | {"status": "failed", "error_summary": summary, "state": None}

    result = read_result(_write(tmp_path, document), max_bytes=MAX)

    assert result.status == "failed"
    assert result.error_summary == summary
    assert result.state is None


@pytest.mark.parametrize("status", ["succeeded", "failed", "timed_out"])
def test_every_runner_status_is_accepted(tmp_path: Path, status: str) -> None:
    assert (
        read_result(_write(tmp_path, _valid() | {"status": status}), max_bytes=MAX).status == status
    )


@pytest.mark.parametrize("version", [1, 3, "2", 2.0, None, True, [2]])
def test_any_contract_version_but_the_integer_2_is_rejected(tmp_path: Path, version: Any) -> None:
    message = _violation(_write(tmp_path, _valid() | {"contract_version": version}))

    assert "contract_version" in message


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "/etc/passwd",
        "output/../../x",
        "output/../x",
        "outputs/x",
        "output",
        "input/data.csv",
        "output\\x",
        "output/a\x00b",
        "",
        ".",
        "//output/x",
    ],
)
def test_artifact_path_outside_output_is_rejected(tmp_path: Path, path: str) -> None:
    document = _valid() | {"artifacts": [{"path": path, "bytes": 1}]}

    _violation(_write(tmp_path, document))


@pytest.mark.parametrize(
    "entry",
    [
        {"path": "output/a", "bytes": -1},
        {"path": "output/a", "bytes": True},
        {"path": "output/a", "bytes": "1"},
        {"path": "output/a", "bytes": 1.0},
        {"path": "output/a"},
        {"bytes": 1},
        {"path": 5, "bytes": 1},
        "output/a",
        None,
    ],
)
def test_malformed_artifact_entries_are_rejected(tmp_path: Path, entry: Any) -> None:
    _violation(_write(tmp_path, _valid() | {"artifacts": [entry]}))


@pytest.mark.parametrize("key", ["contract_version", "status", "error_summary"])
def test_missing_required_key_is_rejected(tmp_path: Path, key: str) -> None:
    document = _valid()
    del document[key]

    _violation(_write(tmp_path, document))


@pytest.mark.parametrize("status", ["ok", "SUCCEEDED", "cancelled", "running", None, 1])
def test_unknown_status_is_rejected(tmp_path: Path, status: Any) -> None:
    assert "status" in _violation(_write(tmp_path, _valid() | {"status": status}))


@pytest.mark.parametrize(
    "change",
    [
        {"error_summary": 5},
        {"error_summary": ["x"]},
        {"outputs": {}},
        {"outputs": None},
        {"next_actions": "confirm"},
        {"artifacts": {}},
        {"state": []},
        {"state": "x"},
    ],
)
def test_envelope_fields_of_the_wrong_type_are_rejected(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    _violation(_write(tmp_path, _valid() | change))


@pytest.mark.parametrize("document", [[], "result", 2, None])
def test_a_document_that_is_not_an_object_is_rejected(tmp_path: Path, document: Any) -> None:
    _violation(_write(tmp_path, document))


_HEAD = b'{"contract_version": 2, "status": "succeeded", "error_summary": null'


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b"",
        b'{"contract_version": 2} trailing',
        _HEAD + b', "state": {"a": NaN}}',
        _HEAD + b', "x": Infinity}',
        _HEAD + b', "x": -Infinity}',
        _HEAD + b', "status": "failed"}',  # a repeated key
        _HEAD + b', "x": ' + b"9" * 5000 + b"}",  # past Python's int conversion limit
    ],
)
def test_invalid_json_is_rejected(tmp_path: Path, data: bytes) -> None:
    _violation(_write_raw(tmp_path, data))


def test_invalid_utf8_is_rejected(tmp_path: Path) -> None:
    data = json.dumps(_valid() | {"error_summary": "x"}).encode().replace(b'"x"', b'"\xff\xfe"')

    assert "UTF-8" in _violation(_write_raw(tmp_path, data))


def test_messages_do_not_echo_the_file_content(tmp_path: Path) -> None:
    message = _violation(_write(tmp_path, _valid() | {"status": "SECRET-TOKEN-123"}))

    assert "SECRET" not in message


def _nested_state(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_nesting_up_to_64_levels_is_accepted(tmp_path: Path) -> None:
    # The document is level 1 and "state" level 2, so the state holds 63 levels.
    result = read_result(_write(tmp_path, _valid() | {"state": _nested_state(63)}), max_bytes=MAX)

    assert result.state is not None


def test_nesting_deeper_than_64_levels_is_rejected(tmp_path: Path) -> None:
    assert "deeper" in _violation(_write(tmp_path, _valid() | {"state": _nested_state(64)}))


def test_pathological_nesting_is_a_violation_not_a_crash(tmp_path: Path) -> None:
    data = b'{"contract_version": 2, "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"

    _violation(_write_raw(tmp_path, data))


def test_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, _valid())
    size = path.stat().st_size

    assert read_result(path, max_bytes=size).status == "succeeded"
    assert "larger" in _violation(path, max_bytes=size - 1)


@pytest.mark.parametrize("size", [100 * 1024 * 1024, 64 * 1024**3])
def test_oversized_file_is_rejected_by_its_size_without_reading_it(
    tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "result.json"
    with path.open("wb") as handle:
        handle.truncate(size)  # sparse: reading 64 GiB would take minutes, not milliseconds

    def no_reading(fd: int, count: int) -> bytes:
        raise AssertionError("the file was read")

    monkeypatch.setattr(os, "read", no_reading)
    started = time.monotonic()
    message = _violation(path)

    assert "larger" in message
    assert time.monotonic() - started < 0.5


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    assert "missing" in _violation(tmp_path / "result.json")


def test_symlinked_result_is_rejected_even_when_its_target_is_valid(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    real.write_text(json.dumps(_valid()), encoding="utf-8")
    link = tmp_path / "result.json"
    link.symlink_to(real)

    _violation(link)


def test_symlink_to_a_host_file_is_rejected(tmp_path: Path) -> None:
    link = tmp_path / "result.json"
    link.symlink_to("/etc/passwd")

    _violation(link)


def test_fifo_is_rejected_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    os.mkfifo(path)

    outcome = _finishes_within(5, lambda: read_result(path, max_bytes=MAX))

    assert isinstance(outcome.get("error"), ContractViolation)


def test_directory_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.mkdir()

    assert "regular file" in _violation(path)


def test_normalize_relative_path_drops_dots_and_empty_parts() -> None:
    assert normalize_relative_path("./output//a/./b.txt") == "output/a/b.txt"
    assert normalize_relative_path("output/") == "output"


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "/", "..", "a/../b", "a/..", "a\\b", "a\x00b", "", "./", "//"]
)
def test_normalize_relative_path_rejects_unsafe_paths(path: str) -> None:
    with pytest.raises(ContractViolation):
        normalize_relative_path(path)
