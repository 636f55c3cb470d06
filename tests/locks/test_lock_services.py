"""Draft locks through the tools services: ownership, takeover, expiry, tokens, audit, races."""

from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from apps.core.exceptions import ValidationFailed
from apps.locks import services as locks
from apps.locks.exceptions import (
    DraftLockExpired,
    DraftLockHeld,
    DraftLockRequired,
    DraftLockStaleToken,
    ForceRequiresAdmin,
    NotDraftHead,
)
from apps.locks.models import DraftLock, DraftLockEvent
from apps.tools import access, services
from apps.tools.exceptions import DraftHeadMoved, ToolEditDenied
from apps.tools.models import Tool, VersionState
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.factories.tools import SOURCE, make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def tool(author):
    tool = make_tool(owner=author)
    make_draft(tool, author)
    tool.refresh_from_db()
    return tool


@pytest.fixture
def other(tool):
    user = UserFactory(contributor=True, email="other@example.com")
    access.assign_maintainer(user=user, tool=tool)
    return user


@pytest.fixture
def admin():
    return UserFactory(admin=True, email="admin@example.com")


def acquire(tool, user, **kwargs):
    tool.refresh_from_db()
    return services.acquire_draft_lock(
        tool=tool, actor=user, draft_head_id=tool.draft_head_id, **kwargs
    )


def save(tool, user, source="changed", **kwargs):
    tool.refresh_from_db()
    head = tool.draft_head
    return services.save_draft(
        version=head,
        actor=user,
        expected_parent_version_id=head.pk,
        content=services.ContentEdit(source_code=source),
        **kwargs,
    )


def events(tool):
    return list(
        DraftLockEvent.objects.filter(tool=tool).order_by("id").values_list("action", flat=True)
    )


def expire(tool):
    DraftLock.objects.filter(tool=tool).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_maintainer_acquires_and_gets_a_token(tool, author):
    state = acquire(tool, author)
    assert (state.holder_id, state.draft_head_id, state.token, state.live) == (
        author.pk,
        tool.draft_head_id,
        1,
        True,
    )
    assert events(tool) == ["acquired"]


def test_a_heartbeat_refreshes_without_a_new_token_or_event(tool, author):
    first = acquire(tool, author)
    again = acquire(tool, author)
    assert again.token == first.token
    assert again.expires_at >= first.expires_at
    assert events(tool) == ["acquired"]


def test_a_non_maintainer_contributor_cannot_acquire(tool):
    with pytest.raises(ToolEditDenied):
        acquire(tool, UserFactory(contributor=True))
    assert not DraftLock.objects.exists()


def test_acquiring_on_a_version_that_is_not_the_head_is_refused(tool, author):
    old_head = tool.draft_head_id
    acquire(tool, author)
    save(tool, author)
    with pytest.raises(NotDraftHead):
        services.acquire_draft_lock(tool=tool, actor=author, draft_head_id=old_head)


def test_a_live_lock_is_held_against_others_with_details(tool, author, other):
    acquire(tool, author)
    with pytest.raises(DraftLockHeld) as caught:
        acquire(tool, other)
    assert caught.value.details["holder"] == author.pk
    assert "expires_at" in caught.value.details


def test_force_needs_admin_and_a_reason(tool, author, other, admin):
    acquire(tool, author)
    with pytest.raises(ForceRequiresAdmin):
        acquire(tool, other, force=True, reason="please")
    with pytest.raises(ValidationFailed):
        acquire(tool, admin, force=True, reason="  ")


def test_forced_takeover_writes_one_event_and_the_displaced_holder_cannot_save(tool, author, admin):
    first = acquire(tool, author)
    taken = acquire(tool, admin, force=True, reason="author is away")
    assert (taken.holder_id, taken.token) == (admin.pk, first.token + 1)
    forced = DraftLockEvent.objects.get(tool=tool, action="forced")
    assert (forced.actor, forced.previous_holder_id, forced.reason) == (
        admin,
        author.pk,
        "author is away",
    )
    with pytest.raises(DraftLockHeld) as caught:
        save(tool, author)
    assert caught.value.details["holder"] == admin.pk
    assert tool.versions.count() == 1


def test_the_new_holders_heartbeat_keeps_the_takeover_audit(tool, author, admin):
    acquire(tool, author)
    acquire(tool, admin, force=True, reason="away")
    acquire(tool, admin)
    assert DraftLock.objects.get(tool=tool).forced_by == admin
    assert events(tool) == ["acquired", "forced"]


def test_an_expired_lock_is_free_for_another_maintainer(tool, author, other):
    acquire(tool, author)
    expire(tool)
    state = acquire(tool, other)
    assert (state.holder_id, state.token) == (other.pk, 2)
    assert DraftLock.objects.get(tool=tool).forced_by is None


def test_expiry_exactly_at_expires_at_counts_as_expired(tool, author):
    acquire(tool, author)
    with connection.cursor() as cursor:
        # expires_at = the transaction's now(): the database clock says "not after now" -> expired
        cursor.execute(
            "UPDATE locks_draftlock SET expires_at = now() WHERE tool_id = %s", [tool.pk]
        )
    with pytest.raises(DraftLockExpired):
        save(tool, author)


@pytest.mark.parametrize("shift", [timedelta(hours=1), timedelta(hours=-1)])
def test_the_app_servers_clock_changes_nothing(tool, author, other, shift):
    acquire(tool, author)
    with time_machine.travel(timezone.now() + shift, tick=True):
        with pytest.raises(DraftLockHeld):
            acquire(tool, other)
        saved = save(tool, author)
    assert saved.state == VersionState.DRAFT


def test_a_stale_token_is_refused_and_held_wins_for_a_non_holder(tool, author, admin):
    first = acquire(tool, author)
    with pytest.raises(DraftLockStaleToken):
        save(tool, author, lock_token=first.token + 5)
    acquire(tool, admin, force=True, reason="r")
    with pytest.raises(DraftLockHeld):
        save(tool, author, lock_token=first.token)


def test_protected_writes_need_a_lock(tool, author):
    with pytest.raises(DraftLockRequired):
        save(tool, author)
    with pytest.raises(DraftLockRequired):
        services.create_draft(
            tool=tool, actor=author, content=services.ContentEdit(source_code="x = 1")
        )


def test_release_by_holder_and_by_admin_are_audited(tool, author, other, admin):
    acquire(tool, author)
    with pytest.raises(DraftLockHeld):
        services.release_draft_lock(tool=tool, actor=other)
    services.release_draft_lock(tool=tool, actor=author)
    acquire(tool, other)
    services.release_draft_lock(tool=tool, actor=admin, reason="stuck")
    assert events(tool) == ["acquired", "released", "acquired", "admin_released"]
    assert DraftLock.objects.get(tool=tool).holder is None


def test_the_token_keeps_growing_across_releases(tool, author, other):
    acquire(tool, author)
    services.release_draft_lock(tool=tool, actor=author)
    assert acquire(tool, other).token == 2


def test_every_head_change_moves_the_lock(tool, author, admin):
    from tests.factories.tools import make_publishable

    acquire(tool, author)
    saved = save(tool, author)
    assert DraftLock.objects.get(tool=tool).draft_head_id == saved.pk
    fresh = services.create_draft(
        tool=tool, actor=author, content=services.ContentEdit(source_code="v = 2")
    )
    assert DraftLock.objects.get(tool=tool).draft_head_id == fresh.pk
    assert saved.__class__.objects.get(pk=saved.pk).state == VersionState.SUPERSEDED
    make_publishable(tool)
    services.submit_for_review(version=fresh, actor=author)
    draft = services.request_changes(version=fresh, actor=admin, message="more tests")
    tool.refresh_from_db()
    assert tool.draft_head_id == draft.pk
    assert DraftLock.objects.get(tool=tool).draft_head_id == draft.pk
    assert events(tool).count("moved") >= 3


def test_sweep_frees_expired_locks_once_even_when_run_twice(tool, author):
    acquire(tool, author)
    expire(tool)
    assert locks.sweep_expired_draft_locks() == 1
    assert locks.sweep_expired_draft_locks() == 0
    assert events(tool) == ["acquired", "expired"]


@pytest.mark.django_db(transaction=True)
def test_two_acquirers_at_once_never_both_own_the_lock():
    for _ in range(50):
        author = UserFactory(contributor=True)
        tool = make_tool(owner=author)
        make_draft(tool, author)
        tool.refresh_from_db()
        rival = UserFactory(contributor=True)
        access.assign_maintainer(user=rival, tool=tool)
        results = run_together(
            partial(
                services.acquire_draft_lock,
                tool=tool,
                actor=author,
                draft_head_id=tool.draft_head_id,
            ),
            partial(
                services.acquire_draft_lock,
                tool=tool,
                actor=rival,
                draft_head_id=tool.draft_head_id,
            ),
        )
        outcomes = sorted(kind for kind, _ in results)
        assert outcomes == ["error", "ok"]
        assert all(isinstance(value, DraftLockHeld) for kind, value in results if kind == "error")
        assert DraftLockEvent.objects.filter(tool=tool).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_save_racing_a_takeover_has_one_outcome_and_loses_nothing():
    for _ in range(20):
        author, admin = UserFactory(contributor=True), UserFactory(admin=True)
        tool = make_tool(owner=author)
        make_draft(tool, author)
        acquire(tool, author)
        # Both name the head as it is now; a takeover that read the head only after the save
        # had committed would be a later, legitimate takeover of the new head, not a race.
        takeover = partial(
            services.acquire_draft_lock,
            tool=Tool.objects.get(pk=tool.pk),
            actor=admin,
            draft_head_id=tool.draft_head_id,
            force=True,
            reason="race",
        )
        results = run_together(partial(save, tool, author, source="racing save"), takeover)
        tool.refresh_from_db()
        lock = DraftLock.objects.get(tool=tool)
        assert lock.draft_head_id == tool.draft_head_id  # the lock is on the real head either way
        saved = [
            value for kind, value in results if kind == "ok" and hasattr(value, "version_number")
        ]
        errors = [type(value) for kind, value in results if kind == "error"]
        if saved:  # the save won: the takeover named a head that no longer was the head
            assert (tool.draft_head_id, lock.holder, errors) == (
                saved[0].pk,
                author,
                [NotDraftHead],
            )
        else:  # the takeover won: the save was refused and wrote nothing
            assert (tool.versions.count(), lock.holder, errors) == (1, admin, [DraftLockHeld])


def test_save_with_an_unexpected_parent_is_refused(tool, author):
    acquire(tool, author)
    tool.refresh_from_db()
    with pytest.raises(DraftHeadMoved):
        services.save_draft(
            version=tool.draft_head,
            actor=author,
            expected_parent_version_id="00000000-0000-0000-0000-000000000000",
            content=services.ContentEdit(source_code=SOURCE + "#"),
        )


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_expire_each_lock_once():
    tools = []
    for _ in range(5):
        author = UserFactory(contributor=True)
        tool = make_tool(owner=author)
        make_draft(tool, author)
        acquire(tool, author)
        expire(tool)
        tools.append(tool)
    results = run_together(locks.sweep_expired_draft_locks, locks.sweep_expired_draft_locks)
    assert sorted(value for _, value in results) in ([0, 5], [1, 4], [2, 3])  # split, never doubled
    for tool in tools:
        assert events(tool) == ["acquired", "expired"]
        assert DraftLock.objects.get(tool=tool).holder is None


def test_an_admin_takes_over_the_lock_on_the_head_and_is_refused_on_a_former_head():
    author, admin = UserFactory(contributor=True), UserFactory(admin=True)
    tool = make_publishable(make_tool(owner=author))
    make_draft(tool, author)
    acquire(tool, author)
    state = locks.take_over_as_admin(tool_id=tool.pk, actor_id=admin.pk, reason="holiday")
    assert (state.holder_id, state.forced_by_id) == (admin.pk, admin.pk)
    event = DraftLockEvent.objects.filter(tool=tool).latest("pk")
    assert (event.action, event.reason) == ("forced", "holiday")
    locks.release_as_admin(tool_id=tool.pk, actor_id=admin.pk, reason="done")
    tool.refresh_from_db()
    services.submit_for_review(version=tool.draft_head, actor=author)
    # The lock row still names the version now in review, which is no longer the head.
    with pytest.raises(NotDraftHead):
        locks.take_over_as_admin(tool_id=tool.pk, actor_id=admin.pk, reason="late")
    assert DraftLock.objects.get(tool=tool).holder_id is None
