"""Tool and version services: the workflow, draft head, slug, publishing and maintainers."""

import pytest
from django.db import IntegrityError

from apps.core.exceptions import ValidationFailed
from apps.locks.exceptions import DraftLockHeld
from apps.locks.models import DraftLock
from apps.projects.exceptions import ContributorRequired
from apps.tools import services
from apps.tools.exceptions import (
    AdminRequired,
    DraftHeadMoved,
    InvalidSlug,
    MaintainerRuleViolated,
    PublishRequirementsMissing,
    SuperuserRequired,
    WrongVersionState,
)
from apps.tools.models import MaintainerChange, ToolMaintainer, ToolVersion, VersionState
from tests.factories import UserFactory
from tests.factories.tools import SOURCE, make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True)


@pytest.fixture
def admin():
    return UserFactory(admin=True)


@pytest.fixture
def tool(author):
    return make_tool(owner=author)


def lock(tool, user):
    tool.refresh_from_db()
    return services.acquire_draft_lock(tool=tool, actor=user, draft_head_id=tool.draft_head_id)


def edit(tool, user, **content):
    tool.refresh_from_db()
    head = tool.draft_head
    return services.save_draft(
        version=head,
        actor=user,
        expected_parent_version_id=head.pk,
        content=services.ContentEdit(**content),
    )


def reviewed(tool, author):
    make_draft(tool, author)
    make_publishable(tool)
    tool.refresh_from_db()
    return services.submit_for_review(version=tool.draft_head, actor=author, review_note="ready")


def test_a_new_tool_has_a_placeholder_slug_and_its_creator_maintains_it(tool, author):
    assert tool.slug == f"draft-{tool.pk}"
    assert (tool.is_published, tool.versions.count(), tool.draft_head_id) == (False, 0, None)
    assert ToolMaintainer.objects.filter(content_object=tool, user=author).exists()
    assert MaintainerChange.objects.get(tool=tool).action == "assigned"


def test_plain_users_cannot_create_tools(author):
    with pytest.raises(ContributorRequired):
        make_tool(owner=UserFactory())


def test_the_first_draft_needs_no_lock_and_becomes_the_head(tool, author):
    draft = make_draft(tool, author)
    tool.refresh_from_db()
    assert (draft.state, draft.version_number, tool.draft_head_id) == (
        VersionState.DRAFT,
        1,
        draft.pk,
    )
    assert draft.input_schema == [] and draft.settings_schema is None


def test_saving_unchanged_content_writes_nothing(tool, author):
    draft = make_draft(tool, author)
    lock(tool, author)
    assert edit(tool, author, source_code=SOURCE) == draft
    assert tool.versions.count() == 1


def test_every_content_field_counts_as_a_change(tool, author):
    make_draft(tool, author)
    lock(tool, author)
    for change in (
        {"usage_instructions": "Read me"},
        {"settings_schema": [{"kind": "string", "name": "a", "label": "A"}]},
    ):
        before = tool.versions.count()
        edit(tool, author, **change)
        assert tool.versions.count() == before + 1


def test_a_save_derives_from_the_head_and_supersedes_it(tool, author):
    first = make_draft(tool, author)
    lock(tool, author)
    second = edit(tool, author, source_code="x = 2")
    first.refresh_from_db()
    assert (second.derived_from_id, second.version_number, first.state) == (
        first.pk,
        2,
        VersionState.SUPERSEDED,
    )
    with pytest.raises(DraftHeadMoved):
        services.save_draft(
            version=first,
            actor=author,
            expected_parent_version_id=first.pk,
            content=services.ContentEdit(source_code="y"),
        )


def test_invalid_schemas_are_refused_on_save(tool, author):
    make_draft(tool, author)
    lock(tool, author)
    with pytest.raises(ValidationFailed):
        edit(
            tool,
            author,
            input_schema=[{"kind": "file", "name": "f", "label": "F", "min": 1, "max": 99}],
        )
    with pytest.raises(ValidationFailed):
        edit(tool, author, source_code="")


def test_submitting_needs_a_real_slug_and_taxonomy(tool, author):
    draft = make_draft(tool, author)
    with pytest.raises(PublishRequirementsMissing) as caught:
        services.submit_for_review(version=draft, actor=author)
    assert len(caught.value.details["missing"]) == 3


def test_submitting_moves_the_head_to_review_and_frees_the_lock(tool, author):
    lock_owner_draft = make_draft(tool, author)
    lock(tool, author)
    make_publishable(tool)
    version = services.submit_for_review(version=lock_owner_draft, actor=author)
    tool.refresh_from_db()
    assert (version.state, tool.draft_head_id) == (VersionState.IN_REVIEW, None)
    assert DraftLock.objects.get(tool=tool).holder is None


def test_submitting_while_someone_else_holds_the_lock_is_refused(tool, author):
    draft = make_draft(tool, author)
    other = UserFactory(contributor=True)
    services.assign_maintainer(tool=tool, actor=UserFactory(admin=True), email=other.email)
    lock(tool, other)
    make_publishable(tool)
    with pytest.raises(DraftLockHeld):
        services.submit_for_review(version=draft, actor=author)


def test_request_changes_copies_everything_including_usage_instructions(tool, author, admin):
    make_draft(tool, author)
    lock(tool, author)
    edit(tool, author, usage_instructions="How to use it")
    make_publishable(tool)
    tool.refresh_from_db()
    in_review = services.submit_for_review(version=tool.draft_head, actor=author)
    draft = services.request_changes(version=in_review, actor=admin, message="add tests")
    in_review.refresh_from_db()
    assert in_review.state == VersionState.ARCHIVED and in_review.reviewed_by == admin
    assert (draft.usage_instructions, draft.created_by, draft.change_summary) == (
        "How to use it",
        author,
        "add tests",
    )
    assert draft.content_hash == in_review.content_hash


def test_publishing_copies_on_activate_and_keeps_one_active_version(tool, author, admin):
    first = services.publish_version(version=reviewed(tool, author), actor=admin)
    second = services.publish_version(version=reviewed(tool, author), actor=admin)
    tool.refresh_from_db()
    first.refresh_from_db()
    assert (tool.active_version_id, first.state, second.state) == (
        second.pk,
        VersionState.ARCHIVED,
        VersionState.ACTIVE,
    )
    assert ToolVersion.objects.filter(tool=tool, state=VersionState.ACTIVE).count() == 1
    with pytest.raises(IntegrityError):
        ToolVersion.objects.filter(pk=first.pk).update(state=VersionState.ACTIVE)


def test_only_admins_publish_versions_and_only_superusers_roll_back(tool, author, admin):
    in_review = reviewed(tool, author)
    with pytest.raises(AdminRequired):
        services.publish_version(version=in_review, actor=author)
    active = services.publish_version(version=in_review, actor=admin)
    in_review.refresh_from_db()
    with pytest.raises(SuperuserRequired):
        services.rollback_version(version=in_review, actor=admin)
    with pytest.raises(WrongVersionState):
        services.rollback_version(version=active, actor=UserFactory(superuser=True))
    restored = services.rollback_version(version=in_review, actor=UserFactory(superuser=True))
    assert restored.change_summary == f"Rollback from v{in_review.version_number}"


def test_publishing_the_tool_needs_an_active_version_and_is_idempotent(tool, author, admin):
    make_publishable(tool)
    with pytest.raises(ValidationFailed):
        services.publish_tool(tool=tool, actor=admin)
    services.publish_version(version=reviewed(tool, author), actor=admin)
    assert services.publish_tool(tool=tool, actor=admin).is_published
    assert services.publish_tool(tool=tool, actor=admin).is_published
    assert not services.depublish_tool(tool=tool, actor=admin).is_published


@pytest.mark.parametrize("slug", ["", "Has Caps", "a--b", "-a", "a" * 129, "draft-mine", "å"])
def test_bad_slugs_are_refused(tool, admin, slug):
    with pytest.raises(InvalidSlug):
        services.update_slug(tool=tool, actor=admin, slug=slug)


def test_slugs_are_unique_per_project_and_frozen_once_published(tool, author, admin):
    sibling = make_tool(owner=author, project=tool.project)
    services.update_slug(tool=tool, actor=admin, slug="reading-list")
    with pytest.raises(InvalidSlug):
        services.update_slug(tool=sibling, actor=admin, slug="reading-list")
    assert (
        services.update_slug(tool=tool, actor=admin, slug=" Reading-List-2 ").slug
        == "reading-list-2"
    )
    tool.is_published = True
    tool.save(update_fields=["is_published"])
    with pytest.raises(InvalidSlug):
        services.update_slug(tool=tool, actor=admin, slug="new-name")


def test_maintainer_rules(tool, author, admin):
    with pytest.raises(MaintainerRuleViolated):
        services.assign_maintainer(tool=tool, actor=admin, email=UserFactory().email)
    superuser = UserFactory(superuser=True)
    with pytest.raises(SuperuserRequired):
        services.assign_maintainer(tool=tool, actor=admin, email=superuser.email)
    helper = UserFactory(contributor=True)
    services.assign_maintainer(tool=tool, actor=admin, email=helper.email, reason="helps")
    services.assign_maintainer(tool=tool, actor=admin, email=helper.email)
    assert MaintainerChange.objects.filter(tool=tool, user=helper).count() == 1
    with pytest.raises(SuperuserRequired):
        services.remove_maintainer(tool=tool, actor=admin, user=author)
    services.remove_maintainer(tool=tool, actor=admin, user=helper, reason="left")
    with pytest.raises(MaintainerRuleViolated):
        services.remove_maintainer(tool=tool, actor=admin, user=helper)
    assert list(
        MaintainerChange.objects.filter(tool=tool, user=helper).values_list("action", flat=True)
    ) == ["assigned", "removed"]


def test_metadata_edits_are_for_admins(tool, author, admin):
    with pytest.raises(AdminRequired):
        services.update_metadata(tool=tool, actor=author, title="New")
    updated = services.update_metadata(
        tool=tool, actor=admin, title="  New title ", summary="Short"
    )
    assert (updated.title, updated.summary) == ("New title", "Short")
    with pytest.raises(ValidationFailed):
        services.update_metadata(tool=tool, actor=admin, title=" ")
