"""Stars on the catalog page: `POST /tools/{id}/favorite` with `favorite=1|0` (a form with CSRF,
idempotent, per user), as catalog.js and the page without JavaScript send it."""

import uuid

import pytest
from django.test import Client

from apps.portal.views.catalog import FAVORITES_SHOWN
from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.tools.models import ToolFavorite
from tests.clients import client_for
from tests.factories.catalog import make_catalog_tool, make_many_catalog_tools
from tests.portal.test_catalog import titles

pytestmark = pytest.mark.django_db


def star(client, tool, favorite="1", **extra):
    return client.post(f"/tools/{tool.pk}/favorite", {"favorite": favorite, **extra})


def starred(user):
    return set(ToolFavorite.objects.filter(user=user).values_list("tool__title", flat=True))


def test_starring_and_unstarring_a_tool(world):
    client = client_for(world.uma)
    tool = world.tools["Gruppgeneratorn"]
    response = star(client, tool, next="/tools/?q=grupp")
    assert response.status_code == 302
    assert response["Location"] == "/tools/?q=grupp"
    assert starred(world.uma) == {"Gruppgeneratorn"}
    page = client.get("/tools/")
    assert titles(page, "catalog-favorites") == ["Gruppgeneratorn"]
    assert "“Gruppgeneratorn” added to your favorites." in page.content.decode()

    assert star(client, tool, "0").status_code == 302
    assert starred(world.uma) == set()
    assert titles(client.get("/tools/"), "catalog-favorites") == []


def test_starring_twice_keeps_one_star_and_unstarring_twice_is_fine(world):
    client = client_for(world.uma)
    tool = world.tools["Markdown to Word"]
    for _ in range(2):
        assert star(client, tool).status_code == 302
    assert ToolFavorite.objects.filter(user=world.uma, tool=tool).count() == 1
    for _ in range(2):
        assert star(client, tool, "0").status_code == 302
    assert not ToolFavorite.objects.filter(user=world.uma).exists()


def test_stars_are_per_user(world):
    colleague = world.otto
    assign_role(user=colleague, project=world.north, role=ProjectRole.VIEWER)
    tool = world.tools["Yrkesgeneratorn"]
    star(client_for(colleague), tool)
    assert starred(world.uma) == set()
    assert titles(client_for(world.uma).get("/tools/"), "catalog-favorites") == []
    star(client_for(world.uma), tool)
    star(client_for(world.uma), tool, "0")
    assert starred(colleague) == {"Yrkesgeneratorn"}
    assert titles(client_for(colleague).get("/tools/"), "catalog-favorites") == ["Yrkesgeneratorn"]


def test_the_star_shows_on_every_card_of_the_tool(world):
    client = client_for(world.uma)
    tool = world.tools["Yrkesgeneratorn"]
    star(client, tool)
    html = client.get("/tools/").content.decode()
    cards = html.split(f'data-tool-id="{tool.pk}"')[1:]
    assert len(cards) == 2  # in Favorites and in the list
    for card in cards:
        card = card[: card.index("</li>")]
        assert 'aria-pressed="true"' in card
        assert 'name="favorite" value="0"' in card


def test_catalog_js_gets_json(world):
    tool = world.tools["Gruppgeneratorn"]
    response = client_for(world.uma).post(
        f"/tools/{tool.pk}/favorite", {"favorite": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"tool_id": str(tool.pk), "is_favorite": True}


def test_tools_the_user_cannot_run_cannot_be_starred(world):
    client = client_for(world.uma)
    unpublished = make_catalog_tool(world.north, title="Unpublished", published=False)
    for tool_id in (world.secret.pk, unpublished.pk, uuid.uuid4()):
        assert client.post(f"/tools/{tool_id}/favorite", {"favorite": "1"}).status_code == 404
    assert client.post("/tools/not-a-uuid/favorite", {"favorite": "1"}).status_code == 404
    assert starred(world.uma) == set()


@pytest.mark.parametrize("value", ["", "2", "yes", "1\x00", None])
def test_a_favorite_value_other_than_0_or_1_is_refused(world, value):
    data = {} if value is None else {"favorite": value}
    tool = world.tools["Gruppgeneratorn"]
    response = client_for(world.uma).post(f"/tools/{tool.pk}/favorite", data)
    assert response.status_code == 400
    assert starred(world.uma) == set()


def test_starring_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.uma)
    tool = world.tools["Gruppgeneratorn"]
    assert star(client, tool).status_code == 403
    client.get("/tools/")
    token = client.cookies["csrftoken"].value
    assert star(client, tool, csrfmiddlewaretoken=token).status_code == 302
    assert starred(world.uma) == {"Gruppgeneratorn"}


def test_starring_needs_post_and_a_signed_in_user(world):
    tool = world.tools["Gruppgeneratorn"]
    assert client_for(world.uma).get(f"/tools/{tool.pk}/favorite").status_code == 405
    response = Client().post(f"/tools/{tool.pk}/favorite", {"favorite": "1"})
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", ""])
def test_the_form_never_returns_to_another_site(world, target):
    response = star(client_for(world.uma), world.tools["Gruppgeneratorn"], next=target)
    assert response["Location"] == "/tools/"


def test_many_favorites_link_to_the_favorites_filter(world):
    client = client_for(world.uma)
    for tool in make_many_catalog_tools(world.north, FAVORITES_SHOWN + 1, prefix="Star"):
        star(client, tool)
    html = client.get("/tools/").content.decode()
    assert len(titles(client.get("/tools/"), "catalog-favorites")) == FAVORITES_SHOWN
    assert '<a href="/tools/?favorites=1">All your favorites</a>' in html
    filtered = client.get("/tools/?favorites=1").content.decode()
    assert f"{FAVORITES_SHOWN + 1} tools" in filtered
