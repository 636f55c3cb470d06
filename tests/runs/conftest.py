"""Fixtures of the real sandbox backends, shared by the backend, abuse and pipeline tests.

Every behaviour a tool can observe is tested against both backends (`runner`, `each_backend`).
Without a Docker engine the docker cases skip with one reason (summarised in one line by
tests/conftest.py); with REQUIRE_DOCKER=1 (.ci/run) they fail instead.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.runs.exceptions import RunnerUnavailable
from apps.runs.runner.backends import BwrapRunner, DockerRunner, SandboxRunner
from tests.runs.test_backends import new_work_root, use_work_root

BACKENDS = ["bwrap", "docker"]
DOCKER_SKIP_REASON = "docker backend unavailable"


def docker_runner() -> DockerRunner:
    """A DockerRunner whose engine and image answer; else skip (fail under REQUIRE_DOCKER=1)."""
    runner = DockerRunner()
    try:
        runner.check_available()
    except RunnerUnavailable as error:
        reason = f"{DOCKER_SKIP_REASON}: {error.message}"
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail(f"REQUIRE_DOCKER=1 and the {reason}", pytrace=False)
        pytest.skip(reason)
    return runner


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


@pytest.fixture(params=BACKENDS)
def runner(request: pytest.FixtureRequest, work_root: Path) -> SandboxRunner:
    """Each backend in turn, ready to run."""
    if request.param == "docker":
        return docker_runner()
    backend = BwrapRunner()
    backend.check_available()
    return backend


@pytest.fixture(params=BACKENDS)
def each_backend(request: pytest.FixtureRequest, settings: Any) -> str:
    """Runs executed by the pipeline (settings.SANDBOX_RUNNER) use each backend in turn."""
    settings.SANDBOX_RUNNER = request.param
    if request.param == "docker":
        docker_runner()
    return str(request.param)
