"""Run folders of their own for every portal test (the pages read kept files and artifacts)."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.runs.helpers import RunDirs, isolated_run_dirs


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found
