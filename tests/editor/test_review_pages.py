"""The review queue and the review screen through Django's client: only global admins and
superusers get them (everyone else the 404 page), oldest first, the empty state, the diff's
base, the evidence, and the decisions (publish; request changes with a required message)."""

import json
import re
import uuid

import pytest

from apps.projects.models import ProjectRole
from apps.tools import services
from apps.tools.models import ToolVersion, VersionState
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.review import in_review

pytestmark = pytest.mark.django_db

QUEUE = "/review/"


@pytest.fixture
def author():
    return UserFactory(email="author@example.com", contributor=True)


@pytest.fixture
def admin():
    return UserFactory(email="reviewer@example.com", admin=True)


@pytest.fixture
def world(author):
    project = make_project({author: ProjectRole.OWNER}, name="Grading")
    return in_review(author, project=project, usage_instructions="How to use it")


def review_url(version):
    return f"/review/{version.pk}"


def page_data(response):
    found = re.search(
        r'<script id="review-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(found.group(1))


@pytest.mark.parametrize("role", ["user", "contributor"])
def test_non_admins_get_the_404_page_for_the_queue_and_the_screen(role, world, author):
    someone = author if role == "contributor" else UserFactory()
    client = client_for(someone)
    for url in (QUEUE, review_url(world.version)):
        response = client.get(url)
        assert response.status_code == 404
        assert "This page does not exist, or you do not have access to it." in (
            response.content.decode()
        )
    missing = client.get(f"/review/{uuid.uuid4()}")
    assert missing.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_queue_lists_versions_in_review_oldest_first(admin, author):
    first = in_review(author, preview=False)
    second = in_review(author, preview=False)
    services.update_metadata(tool=second.tool, actor=admin, title="Second tool")
    response = client_for(admin).get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(str(first.version.pk)) < html.index(str(second.version.pk))
    assert "author@example.com" in html
    assert f'href="/review/{first.version.pk}"' in html


def test_the_queue_leaves_out_scheduled_projects(admin, author):
    world = in_review(author, preview=False)
    world.tool.project.deletion_scheduled_at = world.version.created_at
    world.tool.project.save(update_fields=["deletion_scheduled_at"])
    response = client_for(admin).get(QUEUE)
    assert str(world.version.pk) not in response.content.decode()
    assert "Nothing to review" in response.content.decode()


def test_an_empty_queue_says_so_and_admins_have_the_link(admin):
    response = client_for(admin).get(QUEUE)
    html = response.content.decode()
    assert 'id="review-queue-empty"' in html
    assert '<a href="/review/">Review</a>' in html


def test_the_navigation_link_is_only_for_admins(author):
    html = client_for(author).get("/projects/").content.decode()
    assert '<a href="/review/">Review</a>' not in html


def test_the_screen_compares_with_the_active_version(admin, author, world):
    published = services.publish_version(version=world.version, actor=admin)
    world.tool.refresh_from_db()
    draft = services.create_draft(
        tool=world.tool,
        actor=author,
        content=services.ContentEdit(usage_instructions="Changed"),
        derived_from=published,
    )
    world.tool.refresh_from_db()
    version = services.submit_for_review(version=draft, actor=author)
    response = client_for(admin).get(review_url(version))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Compared with the active version (version {published.version_number})" in html
    data = page_data(response)
    assert data["base"]["usage_instructions"] == "How to use it"
    assert data["under_review"]["usage_instructions"] == "Changed"
    assert data["labels"] == {
        "before": f"v{published.version_number}",
        "after": f"v{version.version_number}",
    }
    assert data["urls"]["review_run"] == f"/api/v1/editor/tool-versions/{version.pk}/review-run"


def test_without_an_active_version_the_screen_compares_with_the_last_reviewed(admin, world):
    sent_back = world.version
    draft = services.request_changes(version=sent_back, actor=admin, message="More")
    world.tool.refresh_from_db()
    again = services.submit_for_review(version=draft, actor=world.author)
    response = client_for(admin).get(review_url(again))
    assert f"version {sent_back.version_number}, the last version reviewed" in (
        response.content.decode()
    )
    assert page_data(response)["base"]["source_code"] == sent_back.source_code


def test_a_first_version_is_compared_with_nothing(admin, world):
    response = client_for(admin).get(review_url(world.version))
    assert "Compared with nothing" in response.content.decode()
    assert page_data(response)["base"] is None


def test_the_screen_shows_the_authors_preview_as_evidence(admin, world):
    html = client_for(admin).get(review_url(world.version)).content.decode()
    assert f'data-run-id="{world.preview.pk}"' in html
    assert f'href="/runs/{world.preview.pk}"' in html
    assert "author@example.com" in html


def test_without_previews_the_evidence_says_so(admin, author):
    world = in_review(author, preview=False)
    html = client_for(admin).get(review_url(world.version)).content.decode()
    assert 'id="evidence-empty"' in html


def test_an_admin_opens_the_authors_preview_run_details(admin, world):
    response = client_for(admin).get(f"/runs/{world.preview.pk}")
    assert response.status_code == 200


def test_a_version_no_longer_in_review_goes_back_to_the_queue(admin, world):
    services.publish_version(version=world.version, actor=admin)
    response = client_for(admin).get(review_url(world.version), follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    assert "is no longer in review" in response.content.decode()


def test_publishing_from_the_screen(admin, world):
    response = client_for(admin).post(
        review_url(world.version), {"decision": "publish", "message": ""}, follow=True
    )
    assert response.redirect_chain[-1][0] == QUEUE
    assert "Published version" in response.content.decode()
    world.tool.refresh_from_db()
    world.version.refresh_from_db()
    assert world.version.state == VersionState.ARCHIVED
    assert (world.version.reviewed_by, world.version.published_by) == (admin, admin)
    assert world.tool.active_version.derived_from == world.version


def test_requesting_changes_needs_a_message(admin, world):
    response = client_for(admin).post(
        review_url(world.version), {"decision": "request_changes", "message": "   "}
    )
    assert response.status_code == 422
    assert "Say what should change" in response.content.decode()
    world.version.refresh_from_db()
    assert world.version.state == VersionState.IN_REVIEW


def test_requesting_changes_from_the_screen(admin, world):
    response = client_for(admin).post(
        review_url(world.version),
        {"decision": "request_changes", "message": "Please add tests"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == QUEUE
    assert "Changes requested" in response.content.decode()
    world.tool.refresh_from_db()
    draft = world.tool.draft_head
    assert (draft.change_summary, draft.created_by) == ("Please add tests", world.author)
    world.version.refresh_from_db()
    assert (world.version.state, world.version.reviewed_by) == (VersionState.ARCHIVED, admin)


def test_an_unknown_decision_is_refused(admin, world):
    response = client_for(admin).post(review_url(world.version), {"decision": "maybe"})
    assert response.status_code == 422
    assert ToolVersion.objects.get(pk=world.version.pk).state == VersionState.IN_REVIEW


def test_the_editor_shows_the_reviewers_message_until_the_next_submit(admin, world):
    services.request_changes(version=world.version, actor=admin, message="Please add tests")
    html = client_for(world.author).get(f"/tools/{world.tool.pk}/edit").content.decode()
    assert 'id="changes-requested"' in html
    assert "Changes requested by reviewer@example.com" in html
    assert "Please add tests" in html
    world.tool.refresh_from_db()
    services.submit_for_review(version=world.tool.draft_head, actor=world.author)
    html = client_for(world.author).get(f"/tools/{world.tool.pk}/edit").content.decode()
    assert 'id="changes-requested"' not in html
