"""Fixtures of the real bubblewrap backend, shared by the backend and sandbox-abuse tests."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.runs.runner.backends import BwrapRunner
from tests.runs.test_backends import new_work_root, use_work_root


@pytest.fixture(scope="module")
def sandbox_work_root() -> Iterator[Path]:
    root = new_work_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def work_root(settings: Any, sandbox_work_root: Path) -> Path:
    return use_work_root(settings, sandbox_work_root)


@pytest.fixture
def bwrap(work_root: Path) -> BwrapRunner:
    runner = BwrapRunner()
    runner.check_available()
    return runner
