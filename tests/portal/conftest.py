"""The portal tests' worlds: the catalog's two schools (tests.factories.catalog), and run folders
of their own for every test (the run pages read kept files and artifacts)."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories.catalog import CatalogWorld, make_catalog_world
from tests.runs.helpers import RunDirs, isolated_run_dirs


@pytest.fixture
def world(db: None) -> CatalogWorld:
    return make_catalog_world()


@pytest.fixture(autouse=True)
def dirs(settings: Any) -> Iterator[RunDirs]:
    with isolated_run_dirs(settings) as found:
        yield found
