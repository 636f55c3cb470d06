"""A reviewer's sandbox preview of a version in review, and the evidence lookup: the sandbox
runs whose snapshot held exactly the content under review."""

import pytest

from apps.core.exceptions import ValidationFailed
from apps.runs.models import RunContext, RunStatus
from apps.sandbox import queries, services
from apps.sandbox.models import SandboxSnapshot
from apps.tools import services as tools
from apps.tools.exceptions import AdminRequired, WrongVersionState
from apps.tools.models import VersionState
from tests.factories import UserFactory
from tests.factories.review import in_review
from tests.factories.runs import editor_world, execute, snapshot_payload

pytestmark = pytest.mark.django_db

SOURCE = "def run_tool(input_dir, output_dir):\n    return 'under review'\n"
FORM = [{"kind": "string", "name": "who", "label": "Who"}]


@pytest.fixture
def author():
    return UserFactory(contributor=True)


@pytest.fixture
def admin():
    return UserFactory(admin=True)


def test_a_snapshot_hashes_its_content_as_a_version_does(author):
    world = in_review(author, SOURCE, input_schema=FORM, usage_instructions="  Read me  ")
    snapshot = SandboxSnapshot.objects.get(pk=world.preview.snapshot_id)
    assert snapshot.content_hash == world.version.content_hash


def test_a_snapshot_of_other_content_hashes_differently(author):
    world = editor_world(author, SOURCE)
    _run, snapshot = services.run_sandbox_preview(
        version=world.head,
        actor=author,
        request=services.PreviewRequest(
            snapshot=snapshot_payload(SOURCE, usage_instructions="changed"), inputs={}, uploads=[]
        ),
    )
    assert snapshot.content_hash != world.head.content_hash


def test_the_evidence_is_the_previews_of_exactly_the_content_under_review(author, admin):
    world = in_review(author, SOURCE)
    edit = tools.ContentEdit(source_code="x = 1")
    tools.create_draft(tool=world.tool, actor=author, content=edit)
    world.tool.refresh_from_db()
    head = world.tool.draft_head
    tools.acquire_draft_lock(tool=world.tool, actor=author, draft_head_id=str(head.pk))
    services.run_sandbox_preview(
        version=head,
        actor=author,
        request=services.PreviewRequest(snapshot=snapshot_payload("x = 1"), inputs={}, uploads=[]),
    )
    evidence = list(queries.preview_runs_with_content(world.version))
    assert evidence == [world.preview]
    assert evidence[0].requested_by == author


def test_the_same_content_in_another_tool_is_not_evidence(author):
    world = in_review(author, SOURCE, preview=False)
    in_review(author, SOURCE)  # another tool, the same text, previewed
    assert list(queries.preview_runs_with_content(world.version)) == []


def test_a_reviewer_runs_exactly_the_content_under_review_without_a_lock(author, admin):
    world = in_review(author, SOURCE, input_schema=FORM)
    run, snapshot = services.run_review_preview(
        version=world.version, actor=admin, inputs={"who": "Ada"}, uploads=[]
    )
    assert snapshot.source_code == SOURCE
    assert snapshot.draft_head == world.version
    assert snapshot.created_by == admin
    assert snapshot.content_hash == world.version.content_hash
    assert (run.context, run.requested_by, run.version) == (
        RunContext.SANDBOX,
        admin,
        world.version,
    )
    assert run.input_values == {"who": "Ada"}
    done = execute(run.pk)
    assert done.status == RunStatus.SUCCEEDED, done.stderr
    assert set(queries.preview_runs_with_content(world.version)) == {world.preview, run}
    world.version.refresh_from_db()
    assert world.version.state == VersionState.IN_REVIEW


def test_a_review_preview_needs_an_admin(author):
    world = in_review(author, SOURCE)
    with pytest.raises(AdminRequired):
        services.run_review_preview(version=world.version, actor=author, inputs={}, uploads=[])


def test_a_review_preview_needs_a_version_in_review(author, admin):
    world = in_review(author, SOURCE)
    tools.publish_version(version=world.version, actor=admin)
    with pytest.raises(WrongVersionState):
        services.run_review_preview(version=world.version, actor=admin, inputs={}, uploads=[])


def test_a_review_preview_checks_the_inputs_against_the_versions_form(author, admin):
    number = [{"kind": "integer", "name": "n", "label": "N"}]
    world = in_review(author, SOURCE, input_schema=number, preview=False)
    with pytest.raises(ValidationFailed):
        services.run_review_preview(
            version=world.version, actor=admin, inputs={"n": "many"}, uploads=[]
        )
    assert SandboxSnapshot.objects.count() == 0
