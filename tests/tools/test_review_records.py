"""Who reviewed what, and when: publish and request changes record the reviewer on the version
in review; the editor's "changes requested" banner reads the newest request until a submit."""

import pytest

from apps.tools import queries, services
from apps.tools.models import VersionState
from tests.factories import UserFactory
from tests.factories.review import in_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True)


@pytest.fixture
def admin():
    return UserFactory(admin=True, email="reviewer@example.com")


def test_publishing_records_the_reviewer_and_the_publisher(author, admin):
    world = in_review(author, preview=False)
    active = services.publish_version(version=world.version, actor=admin)
    world.version.refresh_from_db()
    assert world.version.state == VersionState.ARCHIVED
    assert world.version.reviewed_by == admin == world.version.published_by
    assert world.version.reviewed_at == world.version.published_at is not None
    assert (active.published_by, active.derived_from) == (admin, world.version)
    assert queries.changes_requested(world.tool) is None


def test_requesting_changes_records_the_reviewer_and_gives_the_author_the_message(author, admin):
    world = in_review(author, preview=False)
    draft = services.request_changes(version=world.version, actor=admin, message=" Add tests ")
    world.version.refresh_from_db()
    assert (world.version.reviewed_by, world.version.published_by) == (admin, None)
    assert (draft.created_by, draft.change_summary) == (author, "Add tests")
    feedback = queries.changes_requested(world.tool)
    assert feedback is not None
    assert (feedback.reviewer_email, feedback.message) == ("reviewer@example.com", "Add tests")
    assert feedback.requested_at == world.version.reviewed_at
    assert feedback.version_number == world.version.version_number


def test_the_request_stays_through_saves_and_ends_with_the_next_submit(author, admin):
    world = in_review(author, preview=False)
    draft = services.request_changes(version=world.version, actor=admin, message="Add tests")
    world.tool.refresh_from_db()
    services.acquire_draft_lock(tool=world.tool, actor=author, draft_head_id=str(draft.pk))
    saved = services.save_draft(
        version=draft,
        actor=author,
        expected_parent_version_id=draft.pk,
        content=services.ContentEdit(source_code="def run_tool(i, o):\n    return 'tested'\n"),
        change_summary="tests added",
    )
    assert queries.changes_requested(world.tool).message == "Add tests"
    world.tool.refresh_from_db()
    services.submit_for_review(version=saved, actor=author)
    assert queries.changes_requested(world.tool) is None


def test_a_tool_never_reviewed_has_no_request(author):
    world = in_review(author, preview=False)
    assert queries.changes_requested(world.tool) is None
