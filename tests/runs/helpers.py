"""Shared set-up of the runs pipeline tests: run folders of their own, published tools in a
chosen project, and runs queued through the services (executed with tests.factories.runs.execute).
"""

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.accounts.models import User
from apps.projects.models import Project
from apps.runs import services as run_services
from apps.runs import session_files
from apps.runs.models import ToolRun
from apps.sandbox import services as sandbox_services
from apps.tools.models import Tool
from tests.factories.runs import (
    ECHO_SOURCE,
    EditorWorld,
    editor_world,
    published_tool,
    snapshot_payload,
)

# Not the uid range of tests/runs/test_backends.py: another pytest process may use that one.
TEST_UID_BASE = 50000 + (os.getpid() % 1000) * 8
TEST_UID_SLOTS = 4


@dataclass(frozen=True)
class RunDirs:
    work: Path  # SANDBOX_WORK_ROOT: one folder per running run
    files: Path  # RUN_FILES_ROOT: input spools, artifacts, session files


def new_work_root() -> Path:
    # Not pytest's tmp_path: that sits under a 0700 folder the sandbox uid cannot pass.
    root = Path(tempfile.mkdtemp(prefix="skt-pipeline-", dir="/tmp"))
    root.chmod(0o711)
    return root


@contextmanager
def isolated_run_dirs(settings: Any) -> Iterator[RunDirs]:
    """Point SANDBOX_WORK_ROOT and RUN_FILES_ROOT at fresh folders for one test."""
    work = new_work_root()
    files = Path(tempfile.mkdtemp(prefix="skt-run-files-", dir="/tmp"))
    settings.SANDBOX_WORK_ROOT = work
    use_run_files_root(settings, files)
    settings.SANDBOX_UID_BASE = TEST_UID_BASE
    settings.SANDBOX_UID_SLOTS = TEST_UID_SLOTS
    try:
        yield RunDirs(work=work, files=files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(files, ignore_errors=True)


def use_run_files_root(settings: Any, root: Path) -> None:
    """Keep run files in a FileSystemStorage at `root` (STORAGES["runfiles"] was made from
    RUN_FILES_ROOT when the settings were read)."""
    settings.RUN_FILES_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "runfiles": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root), "allow_overwrite": True},
        },
    }


def stored_names(folder: Path) -> list[str]:
    """The files of a run folder in a filesystem run files storage, without its age mark."""
    return sorted(p.name for p in folder.iterdir() if p.name != session_files.STORED_MARK)


def age_run_folder(folder: Path, seconds: float) -> None:
    """Make a run folder in a filesystem run files storage look `seconds` old to the sweeps."""
    then = time.time() - seconds
    for path in (folder, folder / session_files.STORED_MARK):
        if path.exists():
            os.utime(path, (then, then))


def run_folders(work: Path) -> list[str]:
    """Run folders in the work root (the backend's own dot-folders, slot locks and runner
    files, are not runs)."""
    return sorted(entry.name for entry in work.iterdir() if not entry.name.startswith("."))


def published(author: User, source: str = ECHO_SOURCE, **content: Any) -> Tool:
    """A published tool in a fresh project `author` owns."""
    return published_tool(author, source, **content)


def published_in(project: Project | None, author: User, source: str, **content: Any) -> Tool:
    """A published tool of `project` (None: a fresh one) whose active version runs `source`."""
    return published_tool(author, source, project=project, **content)


def editor_world_in(project: Project, author: User, source: str = ECHO_SOURCE) -> EditorWorld:
    """A tool of `project` whose draft head `author` (a member) has locked."""
    return editor_world(author, source, project=project)


def queue_production_run(
    tool: Tool, user: User, inputs: dict[str, Any] | None = None, **request: Any
) -> ToolRun:
    """A queued production run of the tool's active version, made by the service."""
    return run_services.run_published_tool(
        tool=tool,
        actor=user,
        request=run_services.ProductionRunRequest(
            inputs=inputs or {}, uploads=request.pop("uploads", []), **request
        ),
    )


def queue_preview(world: EditorWorld, source: str, **snapshot: Any) -> ToolRun:
    """A queued sandbox preview of unsaved `source` on the world's draft head."""
    run, _ = sandbox_services.run_sandbox_preview(
        version=world.head,
        actor=world.author,
        request=sandbox_services.PreviewRequest(
            snapshot=snapshot_payload(source, **snapshot),
            inputs={},
            uploads=[],
            lock_token=world.lock_token,
        ),
    )
    return run


def messages(run: ToolRun) -> list[str]:
    """The messages of the run's notice outputs, in order."""
    outputs = (run.ui_payload or {}).get("outputs", [])
    return [item.get("message", "") for item in outputs if item.get("kind") == "notice"]
