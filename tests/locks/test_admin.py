"""The draft lock admin: read-only lists, and the two overrides that ask for a reason first."""

import pytest

from apps.locks.models import DraftLock, DraftLockEvent
from apps.tools import services
from tests.clients import client_for
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db

LOCKS = "/admin/locks/draftlock/"
EVENTS = "/admin/locks/draftlockevent/"
Action = DraftLockEvent.Action


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def admin_user():
    return UserFactory(admin=True, email="admin@example.com")


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def superuser_client():
    return client_for(UserFactory(superuser=True))


def locked_tool(author, title="Grade helper"):
    """A tool whose draft head `author` holds the lock on (token 1)."""
    tool = make_tool(owner=author, title=title)
    make_draft(tool, author)
    tool.refresh_from_db()
    services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=str(tool.draft_head_id))
    return tool


@pytest.fixture
def tool(author):
    return locked_tool(author)


def lock_of(tool):
    return DraftLock.objects.get(tool=tool)


def new_events(tool):
    return DraftLockEvent.objects.filter(tool=tool).exclude(action=Action.ACQUIRED)


def post_action(client, action, tools, reason=None):
    data = {"action": action, "_selected_action": [str(t.pk) for t in tools]}
    if reason is not None:
        data.update(confirm="Confirm", reason=reason)
    return client.post(LOCKS, data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    "url",
    [
        LOCKS,
        f"{LOCKS}?state=live",
        f"{LOCKS}?state=expired",
        f"{LOCKS}?state=free",
        f"{LOCKS}?q=grade",
        EVENTS,
        f"{EVENTS}?action__exact=acquired",
        f"{EVENTS}?q=author",
    ],
)
def test_lock_admin_lists_load(superuser_client, tool, url):
    assert superuser_client.get(url).status_code == 200


def test_lock_admin_change_pages_load(superuser_client, tool):
    event = DraftLockEvent.objects.get(tool=tool)
    for url in (f"{LOCKS}{tool.pk}/change/", f"{EVENTS}{event.pk}/change/"):
        assert superuser_client.get(url).status_code == 200, url


def test_the_lock_list_shows_the_lock(admin_client, tool, author):
    response = admin_client.get(LOCKS)
    assert response.status_code == 200
    [lock] = response.context["cl"].result_list
    assert (lock.tool, lock.holder, lock.token, lock.is_live) == (tool, author, 1, True)
    html = response.content.decode()
    assert author.email in html
    assert '<td class="field-state">live</td>' in html


def test_locks_and_events_cannot_be_added_changed_or_deleted(superuser_client, tool):
    event = DraftLockEvent.objects.get(tool=tool)
    for url in (
        f"{LOCKS}add/",
        f"{LOCKS}{tool.pk}/delete/",
        f"{EVENTS}add/",
        f"{EVENTS}{event.pk}/delete/",
    ):
        assert superuser_client.get(url).status_code == 403, url
    assert superuser_client.post(f"{LOCKS}{tool.pk}/change/", {"token": 9}).status_code == 403
    assert superuser_client.post(f"{EVENTS}{event.pk}/change/", {"reason": "x"}).status_code == 403
    for url in (LOCKS, EVENTS):
        assert "delete_selected" not in superuser_client.get(url).content.decode()
    assert lock_of(tool).token == 1
    assert DraftLockEvent.objects.count() == 1


def test_non_staff_users_are_sent_to_the_admin_login(author, tool):
    for url in (LOCKS, EVENTS):
        response = client_for(author).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_take_over_first_asks_for_a_reason(admin_client, tool, author):
    response = post_action(admin_client, "take_over", [tool])
    assert response.status_code == 200
    assert "admin/locks/draftlock/reason.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'name="reason"' in html
    assert f'value="{tool.pk}"' in html
    assert f'href="{LOCKS}"' in html  # Cancel
    assert "errornote" not in html
    assert lock_of(tool).holder == author
    assert not new_events(tool).exists()


def test_take_over_refuses_an_empty_reason(admin_client, tool, author):
    response = post_action(admin_client, "take_over", [tool], reason="   ")
    assert response.status_code == 200
    assert "admin/locks/draftlock/reason.html" in [t.name for t in response.templates]
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert "errornote" in response.content.decode()
    lock = lock_of(tool)
    assert (lock.holder, lock.token) == (author, 1)
    assert not new_events(tool).exists()


def test_take_over_with_a_reason_makes_the_admin_the_holder(admin_client, tool, author, admin_user):
    response = post_action(admin_client, "take_over", [tool], reason="  Author is on leave ")
    assert response.redirect_chain == [(LOCKS, 302)]
    assert messages_of(response) == ["Grade helper: you hold the lock now (token 2)."]
    lock = lock_of(tool)
    assert (lock.holder, lock.token, lock.forced_by) == (admin_user, 2, admin_user)
    [event] = new_events(tool)
    assert (event.action, event.actor, event.previous_holder) == (
        Action.FORCED,
        admin_user,
        author,
    )
    assert (event.reason, event.token) == ("Author is on leave", 2)


def test_force_release_frees_the_lock_and_records_who_and_why(
    admin_client, tool, author, admin_user
):
    response = post_action(admin_client, "force_release", [tool], reason="stuck session")
    assert messages_of(response) == [f"Grade helper: released the lock held by {author.email}."]
    lock = lock_of(tool)
    assert (lock.holder, lock.token) == (None, 1)
    [event] = new_events(tool)
    assert (event.action, event.actor, event.previous_holder, event.reason) == (
        Action.ADMIN_RELEASED,
        admin_user,
        author,
        "stuck session",
    )


def test_force_release_of_a_free_lock_changes_nothing(admin_client, tool, author):
    services.release_draft_lock(tool=tool, actor=author)
    response = post_action(admin_client, "force_release", [tool], reason="tidy up")
    assert messages_of(response) == ["Grade helper: the lock was already free."]
    assert list(new_events(tool).values_list("action", flat=True)) == [Action.RELEASED]


def test_take_over_of_a_tool_without_a_draft_head_is_an_error_message(admin_client, author):
    tool = make_publishable(locked_tool(author, title="In review"))
    services.submit_for_review(version=tool.draft_head, actor=author)
    other = locked_tool(author, title="Still drafting")
    response = post_action(admin_client, "take_over", [tool, other], reason="review fix")
    assert response.status_code == 200
    assert sorted(messages_of(response)) == [
        "In review: This version is not the tool's current draft head.",
        "Still drafting: you hold the lock now (token 2).",
    ]
    assert lock_of(tool).holder is None
    assert not new_events(tool).exclude(action=Action.RELEASED).exists()


def test_events_are_listed_newest_first(superuser_client, admin_client, tool):
    post_action(admin_client, "take_over", [tool], reason="first")
    post_action(admin_client, "force_release", [tool], reason="second")  # its own lock now
    response = superuser_client.get(f"{EVENTS}?tool__id__exact={tool.pk}")
    actions = [event.action for event in response.context["cl"].result_list]
    assert actions == [Action.RELEASED, Action.FORCED, Action.ACQUIRED]


def test_the_lists_queries_do_not_grow_with_rows(
    superuser_client, author, django_assert_max_num_queries
):
    locked_tool(author)
    counts = {}
    for url in (LOCKS, EVENTS):
        with django_assert_max_num_queries(20) as captured:
            superuser_client.get(url)
        counts[url] = len(captured.captured_queries)
    for n in range(3):
        locked_tool(author, title=f"Tool {n}")
    for url in (LOCKS, EVENTS):
        with django_assert_max_num_queries(counts[url]):
            superuser_client.get(url)
