"""The same user in two windows, and the reason of an admin's takeover: the services and the API.

A window opens with `new_token` (a new acquisition even when the user already holds the lock),
heartbeats with the `lock_token` it holds, and releases on leave with that token; so the newest
window holds the lock and every older one learns its token is stale."""

import pytest
from django.test import Client

from apps.core.exceptions import ValidationFailed
from apps.locks.exceptions import DraftLockHeld, DraftLockStaleToken
from apps.locks.models import DraftLock, DraftLockEvent
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.tools import access, services
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def admin():
    return UserFactory(admin=True, email="admin@example.com")


@pytest.fixture
def tool(author):
    tool = make_tool(owner=author)
    make_draft(tool, author)
    tool.refresh_from_db()
    return tool


def acquire(tool, user, **kwargs):
    tool.refresh_from_db()
    return services.acquire_draft_lock(
        tool=tool, actor=user, draft_head_id=str(tool.draft_head_id), **kwargs
    )


def events(tool):
    return list(
        DraftLockEvent.objects.filter(tool=tool)
        .order_by("id")
        .values_list("action", "actor_id", "previous_holder_id", "token")
    )


# --- Services -------------------------------------------------------------------------------------


def test_a_second_window_takes_the_lock_over_with_a_new_token(tool, author):
    first = acquire(tool, author, new_token=True)
    second = acquire(tool, author, new_token=True)
    assert (second.holder_id, second.token) == (author.pk, first.token + 1)
    # One `acquired` event per window; the second names the user as the previous holder.
    assert events(tool) == [
        ("acquired", author.pk, None, first.token),
        ("acquired", author.pk, author.pk, second.token),
    ]


def test_the_first_windows_heartbeat_is_refused_as_stale_and_changes_nothing(tool, author):
    first = acquire(tool, author, new_token=True)
    second = acquire(tool, author, new_token=True)
    with pytest.raises(DraftLockStaleToken) as caught:
        acquire(tool, author, lock_token=first.token)
    assert caught.value.details["holder"] == author.pk
    assert caught.value.details["sent"] == first.token
    # The refusal does not hand out the current token.
    assert "lock_token" not in caught.value.details
    lock = DraftLock.objects.get(tool=tool)
    assert (lock.holder_id, lock.token) == (author.pk, second.token)
    assert len(events(tool)) == 2


def test_the_current_windows_heartbeat_keeps_its_token_and_writes_no_event(tool, author):
    acquire(tool, author, new_token=True)
    second = acquire(tool, author, new_token=True)
    again = acquire(tool, author, lock_token=second.token)
    assert again.token == second.token
    assert len(events(tool)) == 2


def test_the_first_windows_save_is_refused_with_the_stale_token(tool, author):
    first = acquire(tool, author, new_token=True)
    acquire(tool, author, new_token=True)
    tool.refresh_from_db()
    with pytest.raises(DraftLockStaleToken):
        services.save_draft(
            version=tool.draft_head,
            actor=author,
            expected_parent_version_id=tool.draft_head_id,
            content=services.ContentEdit(source_code="changed = 1\n"),
            lock_token=first.token,
        )
    assert tool.versions.count() == 1


def test_the_first_windows_leave_beacon_does_not_free_the_second_windows_lock(tool, author):
    first = acquire(tool, author, new_token=True)
    second = acquire(tool, author, new_token=True)
    with pytest.raises(DraftLockStaleToken):
        services.release_draft_lock(tool=tool, actor=author, lock_token=first.token)
    assert DraftLock.objects.get(tool=tool).holder_id == author.pk
    services.release_draft_lock(tool=tool, actor=author, lock_token=second.token)
    assert DraftLock.objects.get(tool=tool).holder_id is None


def test_without_the_new_fields_a_repeated_acquire_stays_a_refresh(tool, author):
    first = acquire(tool, author)
    again = acquire(tool, author)
    assert again.token == first.token
    assert [event[0] for event in events(tool)] == ["acquired"]


def test_lock_token_and_new_token_together_are_refused(tool, author):
    first = acquire(tool, author)
    with pytest.raises(ValidationFailed):
        acquire(tool, author, lock_token=first.token, new_token=True)


def test_new_token_never_takes_someone_elses_live_lock(tool, author):
    other = UserFactory(contributor=True)
    access.assign_maintainer(user=other, tool=tool)
    acquire(tool, author)
    with pytest.raises(DraftLockHeld):
        acquire(tool, other, new_token=True)


def test_the_displaced_author_is_given_the_admins_reason(tool, author, admin):
    first = acquire(tool, author, new_token=True)
    taken = acquire(tool, admin, force=True, reason="Fixing a broken release")
    assert taken.takeover_for(admin.pk)["reason"] == "Fixing a broken release"
    with pytest.raises(DraftLockHeld) as caught:
        acquire(tool, author, lock_token=first.token)
    takeover = caught.value.details["takeover"]
    assert (takeover["by_user_id"], takeover["from_user_id"], takeover["reason"]) == (
        admin.pk,
        author.pk,
        "Fixing a broken release",
    )
    assert takeover["taken_at"]


def test_the_reason_is_kept_across_the_admins_heartbeats_and_goes_with_the_holding(
    tool, author, admin
):
    acquire(tool, author)
    taken = acquire(tool, admin, force=True, reason="away")
    again = acquire(tool, admin, lock_token=taken.token)
    assert again.takeover_for(author.pk)["reason"] == "away"
    services.release_draft_lock(tool=tool, actor=admin)
    after = acquire(tool, author)
    assert after.forced_by_id is None
    assert after.takeover_for(author.pk) is None


def test_the_reason_is_not_shown_to_a_third_maintainer(tool, author, admin):
    third = UserFactory(contributor=True)
    access.assign_maintainer(user=third, tool=tool)
    acquire(tool, author)
    taken = acquire(tool, admin, force=True, reason="private note")
    assert taken.takeover_for(third.pk) is None
    with pytest.raises(DraftLockHeld) as caught:
        acquire(tool, third)
    assert caught.value.details["takeover"] is None


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def clients(tool, author, admin, api_client_for):
    projects_access.assign_role(user=author, project=tool.project, role=ProjectRole.EDITOR)
    return api_client_for(author), api_client_for(admin)


def post_lock(client, tool, **body):
    return client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock",
        {"draft_head_id": str(tool.draft_head_id), **body},
        format="json",
    )


def test_api_two_windows_then_the_old_heartbeat_is_a_409(tool, clients):
    author_client, _ = clients
    first = post_lock(author_client, tool, new_token=True).json()
    second = post_lock(author_client, tool, new_token=True).json()
    assert second["is_owner"] is True
    assert second["lock_token"] == first["lock_token"] + 1
    stale = post_lock(author_client, tool, lock_token=first["lock_token"])
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "DRAFT_LOCK_STALE_TOKEN"
    fresh = post_lock(author_client, tool, lock_token=second["lock_token"])
    assert (fresh.status_code, fresh.json()["lock_token"]) == (200, second["lock_token"])


@pytest.mark.parametrize(
    "body",
    [
        {"lock_token": 0},
        {"lock_token": "1"},
        {"lock_token": 2**63},
        {"new_token": "yes"},
        {"lock_token": 1, "new_token": True},
    ],
)
def test_api_bad_lock_fields_are_422(tool, clients, body):
    author_client, _ = clients
    response = post_lock(author_client, tool, **body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_api_the_boot_document_carries_the_takeover_reason_to_the_displaced_author(
    tool, clients, author, admin, api_client_for
):
    author_client, admin_client = clients
    post_lock(author_client, tool, new_token=True)
    forced = post_lock(admin_client, tool, force=True, reason="Urgent fix before the exam")
    assert forced.json()["takeover"]["reason"] == "Urgent fix before the exam"
    lock = author_client.get(f"/api/v1/editor/tools/{tool.pk}").json()["draft_lock"]
    assert lock["is_owner"] is False
    assert lock["takeover"] == {
        "by_user_id": admin.pk,
        "from_user_id": author.pk,
        "reason": "Urgent fix before the exam",
        "taken_at": lock["takeover"]["taken_at"],
    }
    refused = post_lock(author_client, tool, lock_token=1)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["takeover"]["reason"] == "Urgent fix before the exam"


def test_api_an_unforced_lock_has_no_takeover(tool, clients):
    author_client, _ = clients
    assert post_lock(author_client, tool).json()["takeover"] is None


def test_api_release_with_a_stale_token_is_refused(tool, clients):
    author_client, _ = clients
    first = post_lock(author_client, tool, new_token=True).json()
    post_lock(author_client, tool, new_token=True)
    url = f"/api/v1/editor/tools/{tool.pk}/draft-lock?lock_token={first['lock_token']}"
    response = author_client.delete(url)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DRAFT_LOCK_STALE_TOKEN"
    assert DraftLock.objects.get(tool=tool).holder_id is not None


def test_the_leave_beacon_with_a_stale_token_frees_nothing(tool, author):
    first = acquire(tool, author, new_token=True)
    acquire(tool, author, new_token=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    client.get("/projects/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock/release",
        {
            "draft_head_id": str(tool.draft_head_id),
            "lock_token": str(first.token),
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert response.status_code == 409
    assert DraftLock.objects.get(tool=tool).holder_id == author.pk


def test_the_openapi_schema_documents_the_new_lock_fields(anon_client):
    schemas = anon_client.get("/api/schema/?format=json").json()["components"]["schemas"]
    assert {"lock_token", "new_token"} <= set(schemas["LockRequestRequest"]["properties"])
    assert "takeover" in schemas["Lock"]["properties"]
    assert {"by_user_id", "from_user_id", "reason", "taken_at"} == set(
        schemas["LockTakeover"]["properties"]
    )
