"""The tools admin: read-only pages, and actions that go through the tools services."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.projects.models import ProjectRole
from apps.sandbox_projects import services as sandboxes
from apps.tools import services
from apps.tools.models import MaintainerChange, Tool, ToolVersion, VersionState
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db

TOOLS = "/admin/tools/tool/"
VERSIONS = "/admin/tools/toolversion/"


@pytest.fixture
def superuser():
    return UserFactory(superuser=True, email="root@example.com")


@pytest.fixture
def superuser_client(superuser):
    return client_for(superuser)


@pytest.fixture
def admin_user():
    return UserFactory(admin=True, email="admin@example.com")


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def tool(author):
    tool = make_publishable(make_tool(owner=author, title="Grade helper"))
    make_draft(tool, author)
    tool.refresh_from_db()
    return tool


def submit(tool, author):
    tool.refresh_from_db()
    return services.submit_for_review(version=tool.draft_head, actor=author)


@pytest.fixture
def published_tool(tool, author, superuser):
    """v1 reviewed and archived, v2 its ACTIVE copy; the tool itself not yet published."""
    services.publish_version(version=submit(tool, author), actor=superuser)
    tool.refresh_from_db()
    return tool


def run_action(client, url, action, objects):
    return client.post(
        url,
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects]},
        follow=True,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def version(tool, number):
    return ToolVersion.objects.get(tool=tool, version_number=number)


@pytest.mark.parametrize(
    "url",
    [
        TOOLS,
        VERSIONS,
        "/admin/tools/maintainerchange/",
        "/admin/tools/profession/",
        "/admin/tools/profession/add/",
        "/admin/tools/category/",
        "/admin/tools/category/add/",
        f"{TOOLS}?is_published__exact=0&draft_head__isempty=1",
        f"{VERSIONS}?state__exact=archived",
        f"{TOOLS}?q=grade",
    ],
)
def test_tools_admin_lists_load(superuser_client, published_tool, url):
    assert superuser_client.get(url).status_code == 200


def test_tools_admin_change_pages_load(superuser_client, published_tool, author):
    change = MaintainerChange.objects.get(tool=published_tool)
    profession = published_tool.professions.get()
    category = published_tool.categories.get()
    for url in (
        f"{TOOLS}{published_tool.pk}/change/",
        f"{VERSIONS}{version(published_tool, 1).pk}/change/",
        f"{VERSIONS}{version(published_tool, 2).pk}/change/",
        f"/admin/tools/maintainerchange/{change.pk}/change/",
        f"/admin/tools/profession/{profession.pk}/change/",
        f"/admin/tools/category/{category.pk}/change/",
    ):
        assert superuser_client.get(url).status_code == 200, url


def test_the_tool_page_lists_versions_and_maintainers(superuser_client, published_tool, author):
    html = superuser_client.get(f"{TOOLS}{published_tool.pk}/change/").content.decode()
    assert f"{VERSIONS}{version(published_tool, 2).pk}/change/" in html
    assert author.email in html
    assert f"{VERSIONS}?tool__id__exact={published_tool.pk}" in html


def test_the_tools_list_queries_do_not_grow_with_rows(
    superuser_client, author, django_assert_max_num_queries
):
    make_draft(make_tool(owner=author), author)
    with django_assert_max_num_queries(20) as captured:
        superuser_client.get(TOOLS)
    few = len(captured.captured_queries)
    for _ in range(3):
        make_draft(make_tool(owner=author), author)
    with django_assert_max_num_queries(few):
        superuser_client.get(TOOLS)


def test_tools_and_versions_cannot_be_added_changed_or_deleted(superuser_client, published_tool):
    head = version(published_tool, 1)
    for url in (
        f"{TOOLS}add/",
        f"{TOOLS}{published_tool.pk}/delete/",
        f"{VERSIONS}add/",
        f"{VERSIONS}{head.pk}/delete/",
        "/admin/tools/maintainerchange/add/",
    ):
        assert superuser_client.get(url).status_code == 403, url
    response = superuser_client.post(
        f"{TOOLS}{published_tool.pk}/change/", {"title": "Renamed", "is_published": "on"}
    )
    assert response.status_code == 403
    published_tool.refresh_from_db()
    assert (published_tool.title, published_tool.is_published) == ("Grade helper", False)
    assert "delete_selected" not in superuser_client.get(TOOLS).content.decode()


def test_an_admin_who_is_not_superuser_can_use_the_tools_admin(admin_client, published_tool):
    assert admin_client.get(TOOLS).status_code == 200
    assert admin_client.get(f"{TOOLS}{published_tool.pk}/change/").status_code == 200
    assert admin_client.get(VERSIONS).status_code == 200
    response = run_action(admin_client, TOOLS, "publish", [published_tool])
    assert messages_of(response) == ["Published tools: 1."]


def test_non_staff_users_are_sent_to_the_admin_login(author, tool):
    for url in (TOOLS, f"{TOOLS}{tool.pk}/change/", VERSIONS):
        response = client_for(author).get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_publish_tool_publishes_through_the_service(superuser_client, published_tool):
    response = run_action(superuser_client, TOOLS, "publish", [published_tool])
    assert messages_of(response) == ["Published tools: 1."]
    published_tool.refresh_from_db()
    assert published_tool.is_published


def test_publish_tool_shows_each_domain_error(superuser_client, published_tool, author):
    unready = make_tool(owner=author, title="Unready")
    published_tool.categories.clear()
    response = run_action(superuser_client, TOOLS, "publish", [published_tool, unready])
    assert sorted(messages_of(response)) == [
        "Grade helper: Choose at least one category.",
        "Unready: The tool has no active version to publish.",
    ]
    assert not Tool.objects.filter(is_published=True).exists()


def test_depublish_tool_depublishes(superuser_client, published_tool, superuser):
    services.publish_tool(tool=published_tool, actor=superuser)
    response = run_action(superuser_client, TOOLS, "depublish", [published_tool])
    assert messages_of(response) == ["Depublished tools: 1."]
    published_tool.refresh_from_db()
    assert not published_tool.is_published


def test_publish_version_activates_a_copy_of_the_reviewed_version(
    admin_client, tool, author, admin_user
):
    reviewed = submit(tool, author)
    response = run_action(admin_client, VERSIONS, "publish_version", [reviewed])
    assert messages_of(response) == ["Published versions: 1."]
    tool.refresh_from_db()
    reviewed.refresh_from_db()
    assert reviewed.state == VersionState.ARCHIVED
    assert tool.active_version.derived_from == reviewed
    assert tool.active_version.published_by == admin_user


def test_publish_version_refuses_a_version_not_in_review(admin_client, tool):
    head = tool.draft_head
    response = run_action(admin_client, VERSIONS, "publish_version", [head])
    assert messages_of(response) == ["Grade helper v1: The version must be in_review, not draft."]
    tool.refresh_from_db()
    assert tool.active_version is None
    assert tool.draft_head == head


def test_request_changes_gives_the_author_a_new_head(admin_client, tool, author):
    reviewed = submit(tool, author)
    response = run_action(admin_client, VERSIONS, "request_changes", [reviewed])
    assert messages_of(response) == ["Sent back for changes: 1."]
    tool.refresh_from_db()
    reviewed.refresh_from_db()
    assert reviewed.state == VersionState.ARCHIVED
    assert tool.draft_head.derived_from == reviewed
    assert tool.draft_head.created_by == author
    assert tool.draft_head.source_code == reviewed.source_code


def test_request_changes_refuses_an_active_version(admin_client, published_tool):
    active = published_tool.active_version
    response = run_action(admin_client, VERSIONS, "request_changes", [active])
    assert messages_of(response) == ["Grade helper v2: The version must be in_review, not active."]
    assert ToolVersion.objects.filter(tool=published_tool).count() == 2


def test_a_superuser_rolls_back_to_an_archived_version(superuser_client, published_tool):
    archived = version(published_tool, 1)
    response = run_action(superuser_client, VERSIONS, "rollback", [archived])
    assert messages_of(response) == ["Rolled back: 1."]
    published_tool.refresh_from_db()
    assert published_tool.active_version.version_number == 3
    assert published_tool.active_version.derived_from == archived
    assert version(published_tool, 2).state == VersionState.ARCHIVED


def test_rollback_needs_exactly_one_version(superuser_client, published_tool):
    both = [version(published_tool, 1), version(published_tool, 2)]
    response = run_action(superuser_client, VERSIONS, "rollback", both)
    assert messages_of(response) == ["Select exactly one version to roll back to."]
    assert ToolVersion.objects.filter(tool=published_tool).count() == 2


def test_rollback_refuses_a_version_that_is_not_archived(superuser_client, published_tool):
    response = run_action(superuser_client, VERSIONS, "rollback", [version(published_tool, 2)])
    assert messages_of(response) == ["Grade helper v2: The version must be archived, not active."]


def test_rollback_is_neither_offered_to_nor_allowed_for_an_admin(
    admin_client, superuser_client, published_tool
):
    assert 'value="rollback"' in superuser_client.get(VERSIONS).content.decode()
    assert 'value="rollback"' not in admin_client.get(VERSIONS).content.decode()
    response = run_action(admin_client, VERSIONS, "rollback", [version(published_tool, 1)])
    assert messages_of(response) == ["No action selected."]
    published_tool.refresh_from_db()
    assert published_tool.active_version.version_number == 2
    assert ToolVersion.objects.filter(tool=published_tool).count() == 2


# --- Tool versions: the project column and filters ------------------------------------------------


def test_the_versions_list_names_the_project_and_filters_sandbox_copies(
    superuser_client, author, django_assert_max_num_queries
):
    project = make_project({author: ProjectRole.OWNER}, name="Field notes")
    make_draft(make_tool(owner=author, project=project, title="Grader"), author)
    sandbox = sandboxes.provision_sandbox(parent=project, actor=author, name="Try-out")

    html = superuser_client.get(VERSIONS).content.decode()
    assert re.search(r'<th scope="col" class="sortable column-project">', html)
    assert '<td class="field-project">Field notes</td>' in html
    assert '<td class="field-project">Try-out</td>' in html

    def listed(**query):
        return list(superuser_client.get(VERSIONS, query).context["cl"].result_list)

    copies, originals = listed(sandbox_copy="yes"), listed(sandbox_copy="no")
    assert [version.tool.project_id for version in copies] == [sandbox.pk]
    assert [version.tool.project_id for version in originals] == [project.pk]
    assert listed(tool__project__id__exact=str(sandbox.pk)) == copies


def test_the_versions_list_reads_no_project_per_row(superuser_client, author):
    project = make_project({author: ProjectRole.OWNER}, name="Field notes")
    make_draft(make_tool(owner=author, project=project, title="T0"), author)
    with CaptureQueriesContext(connection) as few:
        superuser_client.get(VERSIONS)
    for number in range(1, 6):
        other = make_project({author: ProjectRole.OWNER}, name=f"Project {number}")
        make_draft(make_tool(owner=author, project=other, title=f"T{number}"), author)
    with CaptureQueriesContext(connection) as many:
        superuser_client.get(VERSIONS)
    # The project filter lists the projects with versions: one query, however many.
    assert len(many.captured_queries) == len(few.captured_queries)
