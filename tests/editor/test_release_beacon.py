"""`POST /api/v1/editor/tools/{id}/draft-lock/release`: what the editor's navigator.sendBeacon
sends on leave — a form with `draft_head_id` and `csrfmiddlewaretoken`, session cookie attached."""

import pytest
from django.test import Client

from apps.locks import services as locks
from apps.locks.models import DraftLock, DraftLockEvent
from apps.projects.access import assign_role
from apps.projects.models import ProjectRole
from apps.tools import services
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def tool(alice):
    tool = make_tool(owner=alice, title="Book list")
    make_draft(tool, alice)
    tool.refresh_from_db()
    return tool


def browser_for(user):
    """A client that checks CSRF like a browser session does, with its token from a page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/projects/")  # sets the csrftoken cookie
    return client, client.cookies["csrftoken"].value


def hold(tool, user):
    return locks.acquire(
        tool_id=tool.pk,
        draft_head_id=tool.draft_head_id,
        actor_id=user.pk,
        force=False,
        is_admin=False,
    )


def release_url(tool):
    return f"/api/v1/editor/tools/{tool.pk}/draft-lock/release"


def holder_of(tool):
    return DraftLock.objects.get(tool=tool).holder_id


def test_the_holder_releases_with_a_multipart_form(alice, tool):
    hold(tool, alice)
    client, csrf = browser_for(alice)
    response = client.post(
        release_url(tool), {"draft_head_id": str(tool.draft_head_id), "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"tool_id": str(tool.pk)}
    assert holder_of(tool) is None
    event = DraftLockEvent.objects.filter(tool=tool).latest("id")
    assert (event.action, event.actor_id) == (DraftLockEvent.Action.RELEASED, alice.pk)


def test_an_urlencoded_form_works_too(alice, tool):
    hold(tool, alice)
    client, csrf = browser_for(alice)
    response = client.post(
        release_url(tool),
        f"draft_head_id={tool.draft_head_id}&csrfmiddlewaretoken={csrf}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert holder_of(tool) is None


def test_without_the_csrf_token_nothing_is_released(alice, tool):
    hold(tool, alice)
    client, _ = browser_for(alice)
    response = client.post(release_url(tool), {"draft_head_id": str(tool.draft_head_id)})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert holder_of(tool) == alice.pk


def test_another_maintainer_cannot_release_the_holders_lock(alice, tool):
    bob = UserFactory(email="bob.b@example.com", contributor=True)
    assign_role(user=bob, project=tool.project, role=ProjectRole.EDITOR)
    services.assign_maintainer(tool=tool, actor=UserFactory(admin=True), email=bob.email)
    hold(tool, alice)
    client, csrf = browser_for(bob)
    response = client.post(
        release_url(tool), {"draft_head_id": str(tool.draft_head_id), "csrfmiddlewaretoken": csrf}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "DRAFT_LOCK_HELD")
    assert holder_of(tool) == alice.pk


def test_a_beacon_from_a_page_on_an_old_head_leaves_the_moved_lock_alone(alice, tool):
    old_head = tool.draft_head_id
    token = hold(tool, alice).token
    new_head = services.save_draft(
        version=tool.draft_head,
        actor=alice,
        content=services.ContentEdit(source_code="x = 2\n"),
        change_summary="",
        expected_parent_version_id=old_head,
        lock_token=token,
    )
    client, csrf = browser_for(alice)
    response = client.post(
        release_url(tool), {"draft_head_id": str(old_head), "csrfmiddlewaretoken": csrf}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (409, "NOT_DRAFT_HEAD")
    lock = DraftLock.objects.get(tool=tool)
    assert (lock.holder_id, lock.draft_head_id) == (alice.pk, new_head.pk)


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"draft_head_id": "nope"}, 400)])
def test_a_missing_or_malformed_head_is_a_bad_request(alice, tool, body, status):
    hold(tool, alice)
    client, csrf = browser_for(alice)
    response = client.post(release_url(tool), {**body, "csrfmiddlewaretoken": csrf})
    assert response.status_code == status
    assert holder_of(tool) == alice.pk


def test_strangers_and_anonymous_beacons_change_nothing(alice, tool):
    hold(tool, alice)
    outsider, csrf = browser_for(UserFactory(contributor=True))
    body = {"draft_head_id": str(tool.draft_head_id), "csrfmiddlewaretoken": csrf}
    assert outsider.post(release_url(tool), body).status_code == 404
    assert Client().post(release_url(tool), body).status_code == 401
    assert holder_of(tool) == alice.pk
