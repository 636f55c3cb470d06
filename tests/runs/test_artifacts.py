import errno
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from apps.runs.runner.artifacts import (
    ArtifactViolation,
    artifact_file,
    artifact_id_for,
    collect_artifacts,
)

MAX = 10_000_000


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "output"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def dest_dir(tmp_path: Path) -> Path:
    return tmp_path / "artifacts" / "run-1"


def _files_under(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def _collect(output_dir: Path, dest_dir: Path, **limits: int) -> list[dict[str, Any]]:
    return collect_artifacts(
        output_dir=output_dir,
        dest_dir=dest_dir,
        max_files=limits.get("max_files", 1000),
        max_bytes=limits.get("max_bytes", MAX),
    )


def _assert_violation_and_nothing_kept(output_dir: Path, dest_dir: Path, tmp_path: Path) -> str:
    before = _files_under(tmp_path)
    with pytest.raises(ArtifactViolation) as caught:
        _collect(output_dir, dest_dir)
    assert _files_under(dest_dir) == []
    assert _files_under(tmp_path) == before  # nothing copied anywhere else either
    return str(caught.value)


def test_files_in_nested_folders_are_copied_and_listed_by_path(
    output_dir: Path, dest_dir: Path
) -> None:
    (output_dir / "sub" / "deeper").mkdir(parents=True)
    (output_dir / "report.csv").write_text("a,b\n1,2\n")
    (output_dir / "sub" / "deeper" / "Data Set.json").write_text("{}")
    (output_dir / "sub" / "empty").mkdir()
    (output_dir / "åäö.txt").write_bytes(b"\xc3\xa5")

    manifest = _collect(output_dir, dest_dir)

    assert manifest == [
        {"artifact_id": "output_report_csv", "path": "output/report.csv", "bytes": 8},
        {
            "artifact_id": "output_sub_deeper_data_set_json",
            "path": "output/sub/deeper/Data Set.json",
            "bytes": 2,
        },
        {"artifact_id": "output_txt", "path": "output/åäö.txt", "bytes": 2},
    ]
    assert (dest_dir / "output" / "report.csv").read_text() == "a,b\n1,2\n"
    assert (dest_dir / "output" / "sub" / "deeper" / "Data Set.json").read_text() == "{}"
    assert (dest_dir / "output" / "åäö.txt").read_bytes() == b"\xc3\xa5"


def test_colliding_ids_get_numbered_suffixes(output_dir: Path, dest_dir: Path) -> None:
    for name in ("a-b.txt", "a_b.txt", "a b.txt"):
        (output_dir / name).write_text(name)

    manifest = _collect(output_dir, dest_dir)

    assert [(item["path"], item["artifact_id"]) for item in manifest] == [
        ("output/a b.txt", "output_a_b_txt"),
        ("output/a-b.txt", "output_a_b_txt_2"),
        ("output/a_b.txt", "output_a_b_txt_3"),
    ]


def test_artifact_id_rule() -> None:
    taken: set[str] = set()

    assert artifact_id_for("output/Report (Final).CSV", taken) == "output_report_final_csv"
    assert artifact_id_for("output/report-final.csv", taken) == "output_report_final_csv_2"
    assert artifact_id_for("__!!__", taken) == "artifact"
    assert artifact_id_for("***", taken) == "artifact_2"
    assert taken == {
        "output_report_final_csv",
        "output_report_final_csv_2",
        "artifact",
        "artifact_2",
    }


def test_empty_output_gives_no_artifacts(output_dir: Path, dest_dir: Path) -> None:
    (output_dir / "only" / "folders").mkdir(parents=True)

    assert _collect(output_dir, dest_dir) == []
    assert not (dest_dir / "output").exists()


def test_missing_output_gives_no_artifacts(tmp_path: Path, dest_dir: Path) -> None:
    assert _collect(tmp_path / "nope", dest_dir) == []


def test_leftovers_of_an_interrupted_attempt_are_replaced(output_dir: Path, dest_dir: Path) -> None:
    (dest_dir / "output").mkdir(parents=True)
    (dest_dir / "output" / "stale.txt").write_text("old")
    (output_dir / "new.txt").write_text("new")

    manifest = _collect(output_dir, dest_dir)

    assert [item["path"] for item in manifest] == ["output/new.txt"]
    assert _files_under(dest_dir) == ["output/new.txt"]


@pytest.mark.parametrize("where", ["", "a", "a/b/c"])
def test_symlink_to_a_host_file_anywhere_is_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path, where: str
) -> None:
    folder = output_dir / where
    folder.mkdir(parents=True, exist_ok=True)
    (output_dir / "0-first.txt").write_text("copied before the link is met")
    (folder / "z-passwd").symlink_to("/etc/passwd")

    message = _assert_violation_and_nothing_kept(output_dir, dest_dir, tmp_path)

    assert "symlink" in message


def test_symlink_to_a_folder_is_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path
) -> None:
    (output_dir / "etc").symlink_to("/etc", target_is_directory=True)

    _assert_violation_and_nothing_kept(output_dir, dest_dir, tmp_path)


def test_output_folder_replaced_by_a_symlink_is_a_violation(tmp_path: Path, dest_dir: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "key").write_text("secret")
    output = tmp_path / "output"
    output.symlink_to(secrets, target_is_directory=True)

    with pytest.raises(ArtifactViolation):
        _collect(output, dest_dir)
    assert _files_under(dest_dir) == []


def test_output_replaced_by_a_file_is_a_violation(tmp_path: Path, dest_dir: Path) -> None:
    output = tmp_path / "output"
    output.write_text("not a folder")

    with pytest.raises(ArtifactViolation):
        _collect(output, dest_dir)


def test_fifo_is_a_violation_without_hanging(
    output_dir: Path, dest_dir: Path, tmp_path: Path
) -> None:
    os.mkfifo(output_dir / "pipe")
    outcome: dict[str, BaseException] = {}

    def work() -> None:
        try:
            _collect(output_dir, dest_dir)
        except ArtifactViolation as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(5)

    assert not thread.is_alive()
    assert "FIFO" in str(outcome["error"])
    assert _files_under(dest_dir) == []


def test_socket_is_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(output_dir)  # AF_UNIX paths are limited to ~108 bytes; bind a short one
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind("sock")
        message = _assert_violation_and_nothing_kept(output_dir, dest_dir, tmp_path)
    finally:
        server.close()

    assert "socket" in message


@pytest.mark.parametrize(
    "name", [b"back\\slash.txt", b"new\nline.txt", b"bad-\xff-utf8.txt", b"tab\t.txt"]
)
def test_unsafe_names_are_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path, name: bytes
) -> None:
    with open(os.path.join(os.fsencode(output_dir), name), "wb") as handle:
        handle.write(b"x")

    _assert_violation_and_nothing_kept(output_dir, dest_dir, tmp_path)


def test_unsafe_folder_name_is_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path
) -> None:
    folder = os.path.join(os.fsencode(output_dir), b"\xfe\xff")
    os.mkdir(folder)
    with open(os.path.join(folder, b"ok.txt"), "wb") as handle:
        handle.write(b"x")

    _assert_violation_and_nothing_kept(output_dir, dest_dir, tmp_path)


def test_an_io_error_mid_copy_is_a_violation_and_leaves_nothing(
    output_dir: Path, dest_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (output_dir / "a.txt").write_text("a")
    (output_dir / "b.txt").write_text("b")
    real_write = os.write
    calls: list[int] = []

    def write_then_fill_the_disk(fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write_then_fill_the_disk)

    with pytest.raises(ArtifactViolation, match="could not be copied"):
        _collect(output_dir, dest_dir)
    assert _files_under(dest_dir) == []


def test_file_count_at_the_limit_is_accepted(output_dir: Path, dest_dir: Path) -> None:
    for index in range(3):
        (output_dir / f"{index}.txt").write_text("x")

    assert len(_collect(output_dir, dest_dir, max_files=3)) == 3


def test_file_count_over_the_limit_is_a_violation(
    output_dir: Path, dest_dir: Path, tmp_path: Path
) -> None:
    (output_dir / "sub").mkdir()
    for index in range(2):
        (output_dir / f"{index}.txt").write_text("x")
        (output_dir / "sub" / f"{index}.txt").write_text("x")

    with pytest.raises(ArtifactViolation, match="more than 3 files"):
        _collect(output_dir, dest_dir, max_files=3)
    assert _files_under(dest_dir) == []


def test_total_bytes_at_the_limit_are_accepted(output_dir: Path, dest_dir: Path) -> None:
    (output_dir / "a.bin").write_bytes(b"x" * 6)
    (output_dir / "b.bin").write_bytes(b"x" * 4)

    assert sum(item["bytes"] for item in _collect(output_dir, dest_dir, max_bytes=10)) == 10


def test_total_bytes_over_the_limit_are_a_violation(output_dir: Path, dest_dir: Path) -> None:
    (output_dir / "a.bin").write_bytes(b"x" * 6)
    (output_dir / "b.bin").write_bytes(b"x" * 5)

    with pytest.raises(ArtifactViolation, match="more than 10 bytes"):
        _collect(output_dir, dest_dir, max_bytes=10)
    assert _files_under(dest_dir) == []


def test_too_deep_folders_are_a_violation(output_dir: Path, dest_dir: Path) -> None:
    deep = output_dir.joinpath(*["d"] * 40)
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")

    with pytest.raises(ArtifactViolation, match="deeper"):
        _collect(output_dir, dest_dir)


# --- artifact_file ----------------------------------------------------------------------------


def _in(root: Path) -> dict[str, Any]:
    """artifact_file's arguments for run folders in `root`, a folder of a filesystem storage."""
    return {"storage": FileSystemStorage(location=root.parent), "root": root.name}


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path / "store"
    output = root / "run-1" / "output"
    output.mkdir(parents=True)
    (output / "sub").mkdir()
    (output / "sub" / "report.csv").write_text("a,b\n")
    manifest = [
        {"artifact_id": "output_sub_report_csv", "path": "output/sub/report.csv", "bytes": 4}
    ]
    return root, manifest


def test_artifact_file_returns_the_stored_file_and_its_name(
    stored: tuple[Path, list[dict[str, Any]]],
) -> None:
    root, manifest = stored

    found = artifact_file(
        **_in(root), run_id="run-1", manifest=manifest, artifact_id="output_sub_report_csv"
    )

    assert found == ("store/run-1/output/sub/report.csv", "report.csv")


def test_artifact_file_is_none_for_an_unknown_id(stored: tuple[Path, list[dict[str, Any]]]) -> None:
    root, manifest = stored

    assert artifact_file(**_in(root), run_id="run-1", manifest=manifest, artifact_id="x") is None


def test_artifact_file_is_none_when_the_file_is_gone(
    stored: tuple[Path, list[dict[str, Any]]],
) -> None:
    root, manifest = stored
    (root / "run-1" / "output" / "sub" / "report.csv").unlink()

    assert (
        artifact_file(
            **_in(root),
            run_id="run-1",
            manifest=manifest,
            artifact_id="output_sub_report_csv",
        )
        is None
    )


@pytest.mark.parametrize(
    "path", ["output/../../outside.txt", "../outside.txt", "/etc/passwd", "input/x", "output"]
)
def test_artifact_file_revalidates_a_tampered_manifest_path(tmp_path: Path, path: str) -> None:
    root = tmp_path / "store"
    (root / "run-1" / "output").mkdir(parents=True)
    (root / "outside.txt").write_text("secret")
    (tmp_path / "outside.txt").write_text("secret")
    manifest = [{"artifact_id": "a", "path": path, "bytes": 6}]

    assert artifact_file(**_in(root), run_id="run-1", manifest=manifest, artifact_id="a") is None


@pytest.mark.parametrize("run_id", ["..", ".", "", "run-1/../run-2", "a\x00b"])
def test_artifact_file_rejects_an_unsafe_run_id(
    stored: tuple[Path, list[dict[str, Any]]], run_id: str
) -> None:
    root, manifest = stored

    assert (
        artifact_file(
            **_in(root),
            run_id=run_id,
            manifest=manifest,
            artifact_id="output_sub_report_csv",
        )
        is None
    )


def test_artifact_file_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "run-1" / "output").mkdir(parents=True)
    (root / "run-1" / "output" / "link.txt").symlink_to("/etc/passwd")
    manifest = [{"artifact_id": "a", "path": "output/link.txt", "bytes": 1}]

    assert artifact_file(**_in(root), run_id="run-1", manifest=manifest, artifact_id="a") is None
