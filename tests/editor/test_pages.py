"""The editor pages through Django's client: who gets the editor page, its boot document, and the
project's tool list (state badges, editor links, the New tool form)."""

import json
import re

import pytest
from django.test import Client

from apps.locks import services as locks
from apps.projects.models import ProjectRole
from apps.tools import services
from apps.tools.models import Tool, VersionState
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice):
    """alice owns the project and maintains the tool; the others by their relation to it."""
    return {
        "maintainer": alice,
        "editor": UserFactory(email="eddie@example.com", contributor=True),
        "viewer": UserFactory(email="vera@example.com", contributor=True),
        "plain_editor": UserFactory(email="paul@example.com"),
        "admin": UserFactory(email="root@example.com", admin=True),
        "outsider": UserFactory(email="otto@example.com", contributor=True),
    }


@pytest.fixture
def project(people):
    return make_project(
        {
            people["maintainer"]: ProjectRole.OWNER,
            people["editor"]: ProjectRole.EDITOR,
            people["viewer"]: ProjectRole.VIEWER,
            people["plain_editor"]: ProjectRole.EDITOR,
        },
        name="Reading club",
    )


@pytest.fixture
def tool(project, people):
    tool = make_tool(owner=people["maintainer"], project=project, title="Book list")
    make_draft(tool, people["maintainer"])
    tool.refresh_from_db()
    return tool


def edit_url(tool):
    return f"/tools/{tool.pk}/edit"


def boot_of(response):
    match = re.search(
        r'<script id="editor-boot" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page has no editor-boot document"
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("maintainer", 200),
        ("admin", 200),  # global admins edit every tool, member or not
        ("editor", 403),  # a project editor who does not maintain the tool
        ("viewer", 403),
        ("plain_editor", 403),
        ("outsider", 404),  # cannot see the tool at all: the same page as a missing tool
    ],
)
def test_the_editor_page_is_for_maintainers_and_admins(people, tool, persona, status):
    response = client_for(people[persona]).get(edit_url(tool))
    assert response.status_code == status
    if status == 403:
        assert "Forbidden" in response.content.decode()
        assert "editor-boot" not in response.content.decode()
    if status == 404:
        assert "Book list" not in response.content.decode()


def test_a_missing_tool_is_a_404_page_and_anonymous_users_sign_in_first(people, tool):
    missing = client_for(people["maintainer"]).get(
        "/tools/00000000-0000-0000-0000-000000000000/edit"
    )
    assert missing.status_code == 404
    anonymous = Client().get(edit_url(tool))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")


def test_the_page_carries_the_boot_document_and_loads_the_editor_scripts(people, tool):
    response = client_for(people["maintainer"]).get(edit_url(tool))
    html = response.content.decode()
    boot = boot_of(response)
    assert boot["tool_id"] == str(tool.pk)
    assert boot["user"] == {
        "id": people["maintainer"].pk,
        "email": "alice@example.com",
        "is_admin": False,
    }
    assert boot["heartbeat_ms"] == 60_000
    assert boot["poll_ms"] == 1500
    assert boot["lock_poll_ms"] <= 5000  # a displaced holder hears of a takeover within 10 s
    assert boot["csrf_token"]
    assert boot["urls"]["boot"] == f"/api/v1/editor/tools/{tool.pk}"
    assert boot["urls"]["lock_release"] == f"/api/v1/editor/tools/{tool.pk}/draft-lock/release"
    assert boot["urls"]["tool_versions"] == "/api/v1/editor/tool-versions/"
    # One ES module per page; it imports the rest (no classic scripts sharing globals).
    assert re.findall(r"<script\b[^>]*\bsrc=\"/static/([^\"]+)\"", html) == [
        "js/editor/editor-page.js"
    ]
    assert '<script type="module" src="/static/js/editor/editor-page.js">' in html
    assert '<section class="card" id="sandbox-panel">' in html
    for dom_id in (
        "lock-badge",
        "source-editor",
        "entrypoint",
        "input-schema-editor",
        "settings-schema-editor",
        "schema-problems",
        "usage-instructions",
        "save-button",
        "submit-review-button",
        "version-list",
        "editor-messages",
        "restore-buffer-button",
        "takeover-button",
    ):
        assert f'id="{dom_id}"' in html, dom_id


def test_metadata_is_editable_only_for_admins(people, tool):
    maintainer = client_for(people["maintainer"]).get(edit_url(tool)).content.decode()
    admin = client_for(people["admin"]).get(edit_url(tool)).content.decode()
    assert re.search(r'id="title"[^>]*readonly', maintainer)
    assert 'id="metadata-save"' not in maintainer
    assert not re.search(r'id="title"[^>]*readonly', admin)
    assert 'id="metadata-save"' in admin
    assert boot_of(client_for(people["admin"]).get(edit_url(tool)))["user"]["is_admin"] is True


def test_a_maintainers_editor_page_carries_no_other_users_email(people, tool):
    """Only the user's own email: the lock holder's comes with the lock, from the JSON API."""
    co_maintainer = UserFactory(email="carl@example.com", contributor=True)
    services.assign_maintainer(tool=tool, actor=people["admin"], email=co_maintainer.email)
    html = client_for(people["maintainer"]).get(edit_url(tool)).content.decode()
    assert "alice@example.com" in html
    for other in ("root@example.com", "carl@example.com"):
        assert other not in html
    assert "people" not in boot_of(client_for(people["maintainer"]).get(edit_url(tool)))


@pytest.mark.parametrize(("raw", "expected"), [("200", 200), ("abc", 1500), ("5", 100)])
def test_tests_may_shorten_the_sandbox_polling_interval(people, tool, raw, expected):
    response = client_for(people["maintainer"]).get(f"{edit_url(tool)}?poll_ms={raw}")
    assert boot_of(response)["poll_ms"] == expected


def list_url(project):
    return f"/projects/{project.pk}/tools"


def row(html, tool):
    match = re.search(rf'<tr data-tool-id="{tool.pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {tool.title}"
    return match.group(1)


def badges(html, tool):
    return re.findall(r'data-badge="([a-z-]+)"', row(html, tool))


def test_the_tool_list_shows_each_tools_state(people, project, tool):
    maintainer = people["maintainer"]
    empty = make_tool(owner=maintainer, project=project, title="Empty")
    reviewed = make_tool(owner=maintainer, project=project, title="Reviewed")
    make_publishable(reviewed)
    services.submit_for_review(version=make_draft(reviewed, maintainer), actor=maintainer)
    live = make_tool(owner=maintainer, project=project, title="Live")
    make_publishable(live)
    first = make_draft(live, maintainer)
    services.submit_for_review(version=first, actor=maintainer)
    services.publish_version(version=first, actor=people["admin"])
    services.publish_tool(tool=live, actor=people["admin"])
    locks.acquire(
        tool_id=tool.pk,
        draft_head_id=tool.draft_head_id,
        actor_id=maintainer.pk,
        force=False,
        is_admin=False,
    )

    response = client_for(people["viewer"]).get(list_url(project))
    html = response.content.decode()
    assert response.status_code == 200
    assert badges(html, empty) == ["no-code"]
    assert badges(html, tool) == ["draft", "locked"]
    assert "draft v1" in row(html, tool)
    assert "being edited by alice@example.com" in row(html, tool)
    assert badges(html, reviewed) == ["in-review"]
    assert badges(html, live) == ["published", "active"]
    assert Tool.objects.get(pk=live.pk).active_version.state == VersionState.ACTIVE


def test_only_editable_tools_link_to_the_editor(people, project, tool):
    href = f'href="/tools/{tool.pk}/edit"'
    assert href in client_for(people["maintainer"]).get(list_url(project)).content.decode()
    assert href not in client_for(people["editor"]).get(list_url(project)).content.decode()


def test_the_tool_list_is_for_members(people, project):
    assert client_for(people["outsider"]).get(list_url(project)).status_code == 404
    assert Client().get(list_url(project)).status_code == 302


def test_the_project_page_links_the_tool_list(people, project):
    html = client_for(people["viewer"]).get(f"/projects/{project.pk}/").content.decode()
    assert f'href="{list_url(project)}"' in html


def test_new_tool_creates_a_tool_and_opens_the_editor(people, project):
    client = client_for(people["editor"])
    assert 'id="new-tool"' in client.get(list_url(project)).content.decode()
    response = client.post(list_url(project), {"title": "  Seating plan ", "summary": "Rooms"})
    tool = Tool.objects.get(project=project, title="Seating plan")
    assert response.status_code == 302
    assert response["Location"] == f"/tools/{tool.pk}/edit"
    assert tool.summary == "Rooms"
    assert tool.slug == f"draft-{tool.pk}"
    assert client.get(response["Location"]).status_code == 200  # the creator maintains it


def test_a_blank_title_is_shown_as_a_form_error(people, project):
    response = client_for(people["editor"]).post(list_url(project), {"title": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Tool.objects.filter(project=project).exists()


@pytest.mark.parametrize("persona", ["viewer", "plain_editor"])
def test_new_tool_needs_the_editor_role_and_the_contributor_role(people, project, persona):
    client = client_for(people[persona])
    assert 'id="new-tool"' not in client.get(list_url(project)).content.decode()
    response = client.post(list_url(project), {"title": "Sneaky"})
    assert response.status_code == 403
    assert not Tool.objects.filter(title="Sneaky").exists()
