import json
import stat
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from apps.core.exceptions import ValidationFailed
from apps.runs.runner.workdir import (
    InputFile,
    check_unique_filenames,
    prepare_workdir,
    runner_env,
    sanitize_filename,
    syntax_error_summary,
    truncate_utf8,
)

SOURCE = "def run_tool(input_dir, output_dir):\n    return 'hej'\n"


@pytest.fixture
def uploads(tmp_path: Path) -> list[InputFile]:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "1").write_bytes(b"namn,klass\nAda,9A\n")
    (folder / "2").write_bytes(b"{}")
    return [
        InputFile(name="elever.csv", open=_reader(folder / "1")),
        InputFile(name="  action.json ", open=_reader(folder / "2")),
    ]


def _reader(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- prepare_workdir --------------------------------------------------------------------------


def test_prepare_workdir_lays_out_the_run_folder(tmp_path: Path, uploads: list[InputFile]) -> None:
    workdir = tmp_path / "runs" / "run-1"

    prepare_workdir(
        workdir=workdir,
        source_code=SOURCE,
        memory={"settings": {"språk": "sv"}},
        input_files=uploads,
    )

    assert sorted(path.name for path in workdir.iterdir()) == [
        "input",
        "memory.json",
        "output",
        "script.py",
    ]
    assert (workdir / "script.py").read_text(encoding="utf-8") == SOURCE
    assert _mode(workdir / "script.py") == 0o644
    assert json.loads((workdir / "memory.json").read_text(encoding="utf-8")) == {
        "settings": {"språk": "sv"}
    }
    assert _mode(workdir / "memory.json") == 0o644
    assert sorted(path.name for path in (workdir / "input").iterdir()) == [
        "action.json",
        "elever.csv",
    ]
    assert (workdir / "input" / "elever.csv").read_bytes() == b"namn,klass\nAda,9A\n"
    assert list((workdir / "output").iterdir()) == []
    assert _mode(workdir / "input") == 0o755
    assert _mode(workdir / "output") == 0o755


def test_prepare_workdir_returns_the_exact_manifest(
    tmp_path: Path, uploads: list[InputFile]
) -> None:
    manifest = prepare_workdir(
        workdir=tmp_path / "run", source_code=SOURCE, memory={"settings": {}}, input_files=uploads
    )

    assert manifest == [
        {"name": "elever.csv", "path": "/work/input/elever.csv", "bytes": 18},
        {"name": "action.json", "path": "/work/input/action.json", "bytes": 2},
    ]


def test_prepare_workdir_without_files(tmp_path: Path) -> None:
    workdir = tmp_path / "run"

    manifest = prepare_workdir(
        workdir=workdir, source_code=SOURCE, memory={"settings": {}}, input_files=[]
    )

    assert manifest == []
    assert list((workdir / "input").iterdir()) == []


def test_prepare_workdir_refuses_a_used_folder(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "result.json").write_text("{}")

    with pytest.raises(FileExistsError):
        prepare_workdir(workdir=workdir, source_code=SOURCE, memory={}, input_files=[])


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/cron.d/x", "a\\b", ".."])
def test_prepare_workdir_never_writes_outside_input(tmp_path: Path, name: str) -> None:
    source = tmp_path / "upload"
    source.write_text("x")
    workdir = tmp_path / "run"

    with pytest.raises(ValidationFailed):
        prepare_workdir(
            workdir=workdir,
            source_code=SOURCE,
            memory={},
            input_files=[InputFile(name=name, open=_reader(source))],
        )
    assert not (tmp_path / "escape.txt").exists()
    assert not workdir.exists()


def test_prepare_workdir_rejects_duplicate_names(tmp_path: Path) -> None:
    source = tmp_path / "upload"
    source.write_text("x")
    files = [
        InputFile(name="a.csv", open=_reader(source)),
        InputFile(name=" a.csv", open=_reader(source)),
    ]

    with pytest.raises(ValidationFailed):
        prepare_workdir(workdir=tmp_path / "run", source_code=SOURCE, memory={}, input_files=files)


# --- runner_env -------------------------------------------------------------------------------

MANIFEST = [{"name": "elever.csv", "path": "/work/input/elever.csv", "bytes": 18}]


def test_runner_env_for_an_initial_run_is_exact() -> None:
    env = runner_env(
        entrypoint="run_tool",
        manifest_files=MANIFEST,
        inputs={"klass": "9A", "antal": 3},
        action=None,
        collections_socket=None,
    )

    assert env == {
        "SKRIPTOTEKET_SCRIPT_PATH": "/work/script.py",
        "SKRIPTOTEKET_ENTRYPOINT": "run_tool",
        "SKRIPTOTEKET_INPUT_DIR": "/work/input",
        "SKRIPTOTEKET_INPUT_MANIFEST": (
            '{"files":[{"name":"elever.csv","path":"/work/input/elever.csv","bytes":18}]}'
        ),
        "SKRIPTOTEKET_INPUTS": '{"klass":"9A","antal":3}',
        "SKRIPTOTEKET_MEMORY_PATH": "/work/memory.json",
        "SKRIPTOTEKET_OUTPUT_DIR": "/work/output",
        "SKRIPTOTEKET_RESULT_PATH": "/work/result.json",
    }
    assert "SKRIPTOTEKET_INPUT_PATH" not in env
    assert "SKRIPTOTEKET_ACTION" not in env


def test_runner_env_without_files_or_inputs() -> None:
    env = runner_env(
        entrypoint="main", manifest_files=[], inputs={}, action=None, collections_socket=None
    )

    assert env["SKRIPTOTEKET_INPUT_MANIFEST"] == '{"files":[]}'
    assert env["SKRIPTOTEKET_INPUTS"] == "{}"


def test_runner_env_for_an_action_run_carries_the_payload() -> None:
    payload: dict[str, Any] = {
        "action_id": "confirm",
        "input": {"kommentar": "Klart ✓"},
        "state": {"step": 2, "rader": [1, 2]},
    }

    env = runner_env(
        entrypoint="run_tool",
        manifest_files=MANIFEST,
        inputs={},
        action=payload,
        collections_socket=None,
    )

    assert json.loads(env["SKRIPTOTEKET_ACTION"]) == payload
    assert "Klart ✓" in env["SKRIPTOTEKET_ACTION"]  # ensure_ascii=False, as the original
    assert " " not in env["SKRIPTOTEKET_ACTION"].replace("Klart ✓", "")  # compact
    assert env["SKRIPTOTEKET_INPUTS"] == "{}"
    assert "SKRIPTOTEKET_INPUT_PATH" not in env
    assert not any("action.json" in value for value in env.values())


def test_runner_env_refuses_form_inputs_on_an_action_run() -> None:
    with pytest.raises(ValueError, match="action"):
        runner_env(
            entrypoint="run_tool",
            manifest_files=[],
            inputs={"x": 1},
            action={"action_id": "a", "input": {}, "state": {}},
            collections_socket=None,
        )


def test_runner_env_names_the_collections_socket() -> None:
    env = runner_env(
        entrypoint="run_tool",
        manifest_files=[],
        inputs={},
        action=None,
        collections_socket="/work/.collections.sock",
    )

    assert env["SKRIPTOTEKET_COLLECTIONS_SOCKET"] == "/work/.collections.sock"
    assert sorted(env) == sorted(
        [
            "SKRIPTOTEKET_SCRIPT_PATH",
            "SKRIPTOTEKET_ENTRYPOINT",
            "SKRIPTOTEKET_INPUT_DIR",
            "SKRIPTOTEKET_INPUT_MANIFEST",
            "SKRIPTOTEKET_INPUTS",
            "SKRIPTOTEKET_MEMORY_PATH",
            "SKRIPTOTEKET_OUTPUT_DIR",
            "SKRIPTOTEKET_RESULT_PATH",
            "SKRIPTOTEKET_COLLECTIONS_SOCKET",
        ]
    )


# --- filenames --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("elever.csv", "elever.csv"),
        ("  Betyg VT25.xlsx \n", "Betyg VT25.xlsx"),
        ("action.json", "action.json"),
        ("..hidden..", "..hidden.."),
        ("åäö.txt", "åäö.txt"),
        ("x" * 255, "x" * 255),
    ],
)
def test_sanitize_filename_accepts_bare_names(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "dir/file.csv",
        "/etc/passwd",
        "..\\evil",
        "a\\b",
        "..",
        ".",
        "../x",
        "a\x00b",
        "x" * 256,
        "å" * 200,  # 200 characters but 400 bytes: too long for a Linux file name
        "bad\udcffname",
    ],
)
def test_sanitize_filename_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ValidationFailed):
        sanitize_filename(name)


def test_unique_filenames_pass() -> None:
    check_unique_filenames(["a.csv", "A.csv", "b.csv"])


def test_duplicate_filenames_after_sanitisation_are_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_unique_filenames(["a.csv", " a.csv", "b.csv", "a.csv ", "b.csv"])

    assert caught.value.message == (
        "Duplicate input filenames after sanitization; rename files locally."
    )
    assert caught.value.details == {"duplicates": ["a.csv", "b.csv"]}


# --- syntax pre-flight ------------------------------------------------------------------------


def test_valid_source_has_no_syntax_summary() -> None:
    assert syntax_error_summary(SOURCE) is None


def test_syntax_summary_names_line_column_and_points_at_it() -> None:
    source = "def run_tool(input_dir, output_dir):\n    return {'a': 1\n\nx = = 2\n"

    summary = syntax_error_summary("import os\n\nif True:\n    x = = 2\n")

    assert summary == "SyntaxError: invalid syntax (line 4, col 9)\n    x = = 2\n        ^"
    assert syntax_error_summary(source) is not None


def test_syntax_summary_caret_follows_tabs() -> None:
    summary = syntax_error_summary("if True:\n\tx = = 2\n")

    assert summary is not None
    heading, line, caret = summary.split("\n")
    assert heading == "SyntaxError: invalid syntax (line 2, col 6)"
    assert line == "\tx = = 2"
    assert caret == "\t    ^"


def test_syntax_summary_shows_a_window_of_a_very_long_line() -> None:
    summary = syntax_error_summary("x = [" + "1, " * 5000 + "= 2]\n")

    assert summary is not None
    _, line, caret = summary.split("\n")
    assert len(line) <= 240
    assert line[len(caret) - 1] == "="


def test_syntax_summary_reports_null_bytes() -> None:
    summary = syntax_error_summary("x = 1\x00\n")

    assert summary is not None
    assert summary.startswith("SyntaxError:")
    assert "null bytes" in summary


def test_syntax_check_never_runs_the_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    assert (
        syntax_error_summary(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n") is None
    )
    assert not marker.exists()


def test_syntax_warnings_are_not_errors_even_under_w_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        assert syntax_error_summary("import re\nPATTERN = re.compile('\\d+')\n") is None


# --- truncate_utf8 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_bytes", "expected"),
    [
        ("hello", 10, "hello"),
        ("hello", 5, "hello"),
        ("hello", 4, "hell"),
        ("hello", 0, ""),
        ("åäö", 6, "åäö"),
        ("åäö", 5, "åä"),
        ("åäö", 3, "å"),
        ("åäö", 1, ""),
        ("a😀b", 4, "a"),
        ("a😀b", 5, "a😀"),
    ],
)
def test_truncate_utf8_cuts_on_a_character_boundary(
    text: str, max_bytes: int, expected: str
) -> None:
    assert truncate_utf8(text, max_bytes) == expected


def test_truncate_utf8_never_exceeds_the_limit_at_any_cut() -> None:
    text = "Åsa 😀 läser € och ✓ ok"
    for limit in range(len(text.encode()) + 2):
        cut = truncate_utf8(text, limit)
        assert len(cut.encode()) <= limit
        assert text.startswith(cut)
        assert len(text[: len(cut) + 1].encode()) > limit or cut == text
