"""Sandbox settings through HTTP: resolve and save per user + draft head + (unsaved) schema,
the values reach the next preview, never production, and carry over a save of the draft."""

import pytest

from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.runs.models import ToolSession
from apps.runs.services import sandbox_settings_context, schema_version
from apps.sandbox.services import carry_over_sandbox_settings
from apps.tools import access as tools_access
from apps.tools import services as tools
from tests.factories import UserFactory
from tests.factories.runs import (
    ECHO_SOURCE,
    echoed,
    editor_world,
    error_of,
    lock_header,
    preview_and_execute,
    version_url,
)
from tests.factories.tools import make_publishable

pytestmark = pytest.mark.django_db

THEME = {"kind": "string", "name": "theme_color", "label": "Theme"}
SIZE = {"kind": "integer", "name": "size", "label": "Size"}
DARK = {"kind": "boolean", "name": "dark", "label": "Dark"}
SCHEMA = [THEME, SIZE, DARK]


@pytest.fixture
def world(alice):
    return editor_world(alice, settings_schema=SCHEMA)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def resolve(client, version, schema=SCHEMA, lock_token=None):
    return client.post(
        version_url(version, "sandbox-settings/resolve"),
        {"settings_schema": schema},
        format="json",
        **lock_header(lock_token),
    )


def save(client, version, values, rev=0, schema=SCHEMA, lock_token=None):
    return client.put(
        version_url(version, "sandbox-settings"),
        {"settings_schema": schema, "expected_state_rev": rev, "values": values},
        format="json",
        **lock_header(lock_token),
    )


def sandbox_sessions():
    return ToolSession.objects.filter(context__startswith="sandbox-settings:")


def test_resolve_starts_empty_at_revision_zero(world, client):
    response = resolve(client, world.head)
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "tool_id": str(world.tool.pk),
        "schema_version": schema_version(SCHEMA),
        "settings_schema": SCHEMA,
        "values": {},
        "state_rev": 0,
        "draft_head_id": str(world.head.pk),
    }
    assert len(response.json()["schema_version"]) == 64
    session = sandbox_sessions().get()
    assert session.context == sandbox_settings_context(world.head.pk, SCHEMA)
    assert len(session.context) == 49
    assert session.user_id == world.author.pk


@pytest.mark.parametrize("schema", [None, [], "missing"])
def test_a_schema_is_required(world, client, schema):
    for response in (
        client.post(
            version_url(world.head, "sandbox-settings/resolve"),
            {} if schema == "missing" else {"settings_schema": schema},
            format="json",
        ),
        save(client, world.head, {}, schema=None if schema == "missing" else schema),
    ):
        error = error_of(response, 422, "VALIDATION_ERROR")
        assert error["message"] == "settings_schema is required"
    assert not sandbox_sessions().exists()


@pytest.mark.parametrize(
    ("schema", "words"),
    [([THEME, THEME], "duplicate field names"), ("theme", "array or null"), ([{"kind": "x"}], "")],
)
def test_an_invalid_schema_names_its_problem(world, client, schema, words):
    error = error_of(resolve(client, world.head, schema), 422, "VALIDATION_ERROR")
    assert words in error["message"]
    assert error["details"]["issues"][0]["schema"] == "settings_schema"
    assert not sandbox_sessions().exists()


def test_save_normalises_and_moves_the_revision(world, client):
    response = save(client, world.head, {"theme_color": "  blue ", "size": "12", "dark": "yes"})
    assert response.status_code == 200, response.json()
    body = response.json()
    # Settings text is kept as typed (behaviour §3.4); numbers and booleans are coerced.
    expected = {"theme_color": "  blue ", "size": 12, "dark": True}
    assert (body["values"], body["state_rev"]) == (expected, 1)
    again = resolve(client, world.head).json()
    assert (again["values"], again["state_rev"]) == (body["values"], 1)
    blanked = save(client, world.head, {"theme_color": "", "size": None}, rev=1).json()
    assert (blanked["values"], blanked["state_rev"]) == ({}, 2)


def test_stale_revision_is_a_conflict(world, client):
    assert save(client, world.head, {"size": 1}).status_code == 200
    error = error_of(save(client, world.head, {"size": 2}, rev=0), 409, "STATE_REV_CONFLICT")
    assert (error["details"]["expected_state_rev"], error["details"]["current_state_rev"]) == (0, 1)
    assert resolve(client, world.head).json()["values"] == {"size": 1}


@pytest.mark.parametrize(
    ("values", "field"),
    [({"size": "big"}, "size"), ({"size": 1.5}, "size"), ({"dark": "maybe"}, "dark"),
     ({"theme_color": 5}, "theme_color"), ({"theme_color": ["a"]}, "theme_color")],
)  # fmt: skip
def test_invalid_values_name_their_field(world, client, values, field):
    error = error_of(save(client, world.head, values), 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == field
    assert not sandbox_sessions().filter(state_rev__gt=0).exists()


@pytest.mark.parametrize("values", [{"unknown": 1}, [1], "size=1", {"theme_color": "a\x00b"}])
def test_unknown_keys_non_objects_and_nul_are_refused(world, client, values):
    error_of(save(client, world.head, values), 422, "VALIDATION_ERROR")
    assert not sandbox_sessions().filter(state_rev__gt=0).exists()


@pytest.mark.parametrize("rev", [-1, "0", True, None, 0.5])
def test_revision_must_be_a_non_negative_integer(world, client, rev):
    error_of(save(client, world.head, {"size": 1}, rev=rev), 422, "VALIDATION_ERROR")


def test_lock_rules_apply_to_resolve_and_save(world, client, bob, api_client_for):
    stale = world.lock_token + 1
    error_of(resolve(client, world.head, lock_token=stale), 409, "DRAFT_LOCK_STALE_TOKEN")
    error_of(save(client, world.head, {}, lock_token=stale), 409, "DRAFT_LOCK_STALE_TOKEN")
    assert resolve(client, world.head, lock_token=world.lock_token).status_code == 200
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    error_of(resolve(api_client_for(bob), world.head), 403, "FORBIDDEN")
    tools_access.assign_maintainer(user=bob, tool=world.tool)
    held = error_of(resolve(api_client_for(bob), world.head), 403, "DRAFT_LOCK_HELD")
    assert held["details"]["holder"] == world.author.pk
    error_of(save(api_client_for(bob), world.head, {}), 403, "DRAFT_LOCK_HELD")
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    error_of(resolve(client, world.head), 409, "DRAFT_LOCK_REQUIRED")
    error_of(save(client, world.head, {}), 409, "DRAFT_LOCK_REQUIRED")
    outsider = api_client_for(UserFactory(contributor=True))
    error_of(resolve(outsider, world.head), 404, "NOT_FOUND")
    assert sandbox_sessions().count() == 1  # only alice's resolve, while she held the lock


def test_each_user_has_their_own_sandbox_settings(world, client, bob, api_client_for):
    assert save(client, world.head, {"theme_color": "blue"}).status_code == 200
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    tools_access.assign_maintainer(user=bob, tool=world.tool)
    tools.release_draft_lock(tool=world.tool, actor=world.author)
    tools.acquire_draft_lock(tool=world.tool, actor=bob, draft_head_id=str(world.head.pk))
    bobs = resolve(api_client_for(bob), world.head).json()
    assert (bobs["values"], bobs["state_rev"]) == ({}, 0)


def test_saved_values_reach_the_next_preview_of_the_same_schema_only(world, client):
    assert save(client, world.head, {"theme_color": "blue", "size": 3}).status_code == 200
    _, run = preview_and_execute(client, world, ECHO_SOURCE, content={"settings_schema": SCHEMA})
    assert echoed(run) == ({}, {"theme_color": "blue", "size": 3})
    variant = [*SCHEMA, {"kind": "string", "name": "extra", "label": "Extra"}]
    _, run = preview_and_execute(client, world, ECHO_SOURCE, content={"settings_schema": variant})
    assert echoed(run) == ({}, {})
    _, run = preview_and_execute(client, world, ECHO_SOURCE)  # no schema, no settings
    assert echoed(run) == ({}, {})


def test_stored_values_that_no_longer_fit_are_ignored(world, client):
    resolve(client, world.head)
    sandbox_sessions().update(state={"size": "not a number"}, state_rev=4)
    body = resolve(client, world.head).json()
    assert (body["values"], body["state_rev"]) == ({}, 4)


def test_sandbox_settings_never_reach_production_settings(world, client, alice):
    assert save(client, world.head, {"theme_color": "blue"}).status_code == 200
    make_publishable(world.tool)
    review = tools.submit_for_review(version=world.head, actor=alice)
    admin = UserFactory(admin=True)
    tools.publish_version(version=review, actor=admin)
    tools.publish_tool(tool=world.tool, actor=admin)
    production = client.get(f"/api/v1/tools/{world.tool.pk}/settings")
    assert production.status_code == 200, production.json()
    assert (production.json()["values"], production.json()["state_rev"]) == ({}, 0)
    put = client.put(
        f"/api/v1/tools/{world.tool.pk}/settings",
        {"expected_state_rev": 0, "values": {"theme_color": "red"}},
        format="json",
    )
    assert put.status_code == 200, put.json()
    sandbox = ToolSession.objects.get(context=sandbox_settings_context(world.head.pk, SCHEMA))
    assert sandbox.state == {"theme_color": "blue"}
    assert client.get(f"/api/v1/tools/{world.tool.pk}/settings").json()["values"] == {
        "theme_color": "red"
    }


def saved_over(world, version, **content):
    return tools.save_draft(
        version=version,
        actor=world.author,
        expected_parent_version_id=version.pk,
        content=tools.ContentEdit(**content),
    )


def test_values_carry_over_a_save_with_the_same_schema(world, client):
    assert save(client, world.head, {"theme_color": "blue"}).status_code == 200
    new_head = saved_over(world, world.head, source_code=ECHO_SOURCE + "# v2\n")
    carried = resolve(client, new_head).json()
    assert (carried["values"], carried["draft_head_id"]) == (
        {"theme_color": "blue"},
        str(new_head.pk),
    )
    assert carried["state_rev"] == 0
    assert save(client, new_head, {"theme_color": "green"}, rev=0).status_code == 200
    changed = saved_over(world, new_head, settings_schema=[THEME, SIZE])
    assert resolve(client, changed, schema=[THEME, SIZE]).json()["values"] == {}
    # The old head's values stay where they were, under the old head's context.
    old = ToolSession.objects.get(context=sandbox_settings_context(world.head.pk, SCHEMA))
    assert old.state == {"theme_color": "blue"}


def test_values_of_an_unsaved_schema_variant_do_not_carry_over(world, client):
    variant = [THEME]
    assert save(client, world.head, {"theme_color": "blue"}, schema=variant).status_code == 200
    new_head = saved_over(world, world.head, source_code=ECHO_SOURCE + "# v2\n")
    assert resolve(client, new_head).json()["values"] == {}
    assert resolve(client, new_head, schema=variant).json()["values"] == {}


def test_carry_over_copies_every_users_values_once(world, client, bob):
    projects_access.assign_role(user=bob, project=world.tool.project, role=ProjectRole.EDITOR)
    context = sandbox_settings_context(world.head.pk, SCHEMA)
    for user, color in ((world.author, "blue"), (bob, "red")):
        ToolSession.objects.create(
            tool=world.tool, user=user, context=context, state={"theme_color": color}, state_rev=3
        )
    new_head = saved_over(world, world.head, source_code=ECHO_SOURCE + "# v2\n")
    carried = ToolSession.objects.filter(context=sandbox_settings_context(new_head.pk, SCHEMA))
    assert sorted(carried.values_list("state", "state_rev"), key=str) == [
        ({"theme_color": "blue"}, 0),
        ({"theme_color": "red"}, 0),
    ]
    # Running it again (a duplicate signal) neither fails nor duplicates.
    again = carry_over_sandbox_settings(tool=world.tool, old_head=world.head, new_head=new_head)
    assert again == 0
    assert carry_over_sandbox_settings(tool=world.tool, old_head=None, new_head=new_head) == 0
