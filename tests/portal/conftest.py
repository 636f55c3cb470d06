"""The catalog's world (tests.factories.catalog.make_catalog_world): two schools, their people
and tools."""

import pytest

from tests.factories.catalog import CatalogWorld, make_catalog_world


@pytest.fixture
def world(db: None) -> CatalogWorld:
    return make_catalog_world()
