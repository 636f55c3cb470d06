"""`PUT/DELETE /api/v1/tools/{id}/favorite`: idempotent stars for API clients, per user, only on
tools the caller may run (404 otherwise, with the same body as a missing tool)."""

import uuid

import pytest

from apps.tools import services
from apps.tools.models import ToolFavorite
from tests.factories.catalog import CatalogWorld, make_catalog_tool, make_catalog_world
from tests.factories.runs import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> CatalogWorld:
    return make_catalog_world()


def url(tool_id):
    return f"/api/v1/tools/{tool_id}/favorite"


def test_put_stars_and_delete_unstars_idempotently(world, api_client_for):
    client = api_client_for(world.uma)
    tool = world.tools["Gruppgeneratorn"]
    for _ in range(2):
        response = client.put(url(tool.pk))
        assert response.status_code == 200
        assert response.json() == {"tool_id": str(tool.pk), "is_favorite": True}
        assert ToolFavorite.objects.filter(user=world.uma, tool=tool).count() == 1
    for _ in range(2):
        response = client.delete(url(tool.pk))
        assert response.status_code == 200
        assert response.json() == {"tool_id": str(tool.pk), "is_favorite": False}
        assert not ToolFavorite.objects.filter(user=world.uma).exists()


def test_other_users_stars_are_untouched(world, api_client_for):
    tool = world.secret
    services.add_favorite(user=world.otto, tool=tool)
    services.add_favorite(user=world.ada, tool=tool)
    assert api_client_for(world.ada).delete(url(tool.pk)).status_code == 200
    assert list(ToolFavorite.objects.values_list("user__email", flat=True)) == [world.otto.email]


def test_invisible_unpublished_and_missing_tools_are_not_found_alike(world, api_client_for):
    client = api_client_for(world.uma)
    unpublished = make_catalog_tool(world.north, title="Unpublished", published=False)
    bodies = []
    for tool_id in (world.secret.pk, unpublished.pk, uuid.uuid4()):
        for method in (client.put, client.delete):
            error = error_of(method(url(tool_id)), 404, "NOT_FOUND")
            bodies.append(error)
    assert all(body == bodies[0] for body in bodies)
    assert not ToolFavorite.objects.exists()


@pytest.mark.parametrize("tool_id", ["not-a-uuid", "%00", "1" * 300])
def test_a_malformed_tool_id_is_a_400(world, api_client_for, tool_id):
    error_of(api_client_for(world.uma).put(url(tool_id)), 400, "INVALID_ID")


def test_credentials_are_required(world, anon_client):
    error_of(anon_client.put(url(world.secret.pk)), 401)


def test_other_methods_are_not_allowed(world, api_client_for):
    error_of(api_client_for(world.uma).post(url(world.secret.pk)), 405)


def test_the_endpoint_is_in_the_openapi_schema(world, api_client_for):
    schema = api_client_for(world.uma).get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/tools/{tool_id}/favorite"]
    assert set(operations) >= {"put", "delete"}
