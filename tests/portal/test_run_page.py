"""The run page /tools/<id>/run through Django's client: who gets it (the runtime API's rule),
the same 404 page for everything else, what the page carries, and the tool list's Run links."""

import json
import re

import pytest
from django.test import Client

from apps.projects import services as project_services
from apps.projects.models import ProjectRole
from apps.tools import services as tool_services
from apps.tools.models import Tool
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.runs import execute, published_tool
from tests.factories.tools import make_draft, make_tool
from tests.runs.helpers import queue_production_run

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def people(alice):
    return {
        "owner": alice,
        "viewer": UserFactory(email="vera@example.com"),
        "admin": UserFactory(email="root@example.com", admin=True),
        "outsider": UserFactory(email="otto@example.com"),
    }


@pytest.fixture
def project(people):
    members = {people["owner"]: ProjectRole.OWNER, people["viewer"]: ProjectRole.VIEWER}
    return make_project(members, name="Reading club")


def published(owner, project, title, **content):
    tool = published_tool(owner, project=project, **content)
    Tool.objects.filter(pk=tool.pk).update(title=title)
    tool.refresh_from_db()
    return tool


@pytest.fixture
def tool(people, project):
    return published(people["owner"], project, "Book list", usage_instructions="Read **me**")


def run_url(tool_id):
    return f"/tools/{tool_id}/run"


def boot_of(response):
    match = re.search(
        r'<script id="run-page-boot" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "no boot document"
    return json.loads(match.group(1))


def test_a_member_gets_the_run_page_with_title_summary_and_project(people, tool):
    Tool.objects.filter(pk=tool.pk).update(summary="Lists the <books>")
    response = client_for(people["viewer"]).get(run_url(tool.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 id="tool-title">Book list</h1>' in html
    assert "Lists the &lt;books&gt;" in html  # escaped
    assert "Project: Reading club" in html
    assert re.findall(r"<script\b[^>]*\bsrc=\"/static/([^\"]+)\"", html) == [
        "js/portal/run-page.js"
    ]
    assert '<script type="module"' in html
    for dom_id in ("usage-details", "settings-panel", "run-form", "run-button", "run-results"):
        assert f'id="{dom_id}"' in html, dom_id


def test_maintainers_and_admins_see_the_tools_recent_runs_below_and_viewers_do_not(people, tool):
    execute(queue_production_run(tool, people["viewer"]).pk)
    for who in ("owner", "admin"):
        html = client_for(people[who]).get(run_url(tool.pk)).content.decode()
        assert 'id="tool-runs"' in html, who
        assert "vera@example.com" in html, who  # who ran it, for the maintainers
    html = client_for(people["viewer"]).get(run_url(tool.pk)).content.decode()
    assert 'id="tool-runs"' not in html


def test_the_boot_document_names_the_runtime_urls(people, tool):
    boot = boot_of(client_for(people["viewer"]).get(run_url(tool.pk)))
    api = f"/api/v1/tools/{tool.pk}"
    assert boot["tool_id"] == str(tool.pk)
    assert boot["csrf_token"]
    assert boot["poll_ms"] == 1500
    assert boot["session_context"] == "default"
    assert boot["urls"] == {
        "runtime": f"{api}/runtime",
        "run": f"{api}/run",
        "seen": f"{api}/usage-instructions/seen",
        "settings": f"{api}/settings",
        "session": f"{api}/sessions/default",
        "session_files": f"{api}/session-files?context=default",
        "start_action": "/api/v1/start_action",
        "runs": "/api/v1/runs/",
    }


@pytest.mark.parametrize(("raw", "expected"), [("200", 200), ("5", 100), ("x", 1500)])
def test_poll_ms_is_clamped(people, tool, raw, expected):
    boot = boot_of(client_for(people["viewer"]).get(run_url(tool.pk), {"poll_ms": raw}))
    assert boot["poll_ms"] == expected


def test_a_global_admin_who_is_no_member_gets_it_too(people, tool):
    assert client_for(people["admin"]).get(run_url(tool.pk)).status_code == 200


def test_anonymous_users_sign_in_first(tool):
    response = Client().get(run_url(tool.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def not_found_cases(people, project, tool):
    """Each case: (user, tool id) that must get the plain 404 page."""
    owner = people["owner"]
    unpublished = make_tool(owner=owner, project=project, title="Draft only")
    make_draft(unpublished, owner)
    depublished = published(owner, project, "Gone")
    tool_services.depublish_tool(tool=depublished, actor=people["admin"])
    no_active = published(owner, project, "No active")
    Tool.objects.filter(pk=no_active.pk).update(active_version=None)
    doomed = published(owner, None, "Doomed")
    project_services.schedule_project_deletion(project=doomed.project, actor=owner)
    return {
        "unknown id": (people["viewer"], MISSING),
        "unpublished": (people["viewer"], unpublished.pk),
        "depublished": (people["viewer"], depublished.pk),
        "no active version": (people["viewer"], no_active.pk),
        "not a member": (people["outsider"], tool.pk),
        "scheduled for deletion": (owner, doomed.pk),
        "scheduled, as admin": (people["admin"], doomed.pk),
    }


def test_everything_else_is_the_same_404_page(people, project, tool):
    pages = {}
    for case, (user, tool_id) in not_found_cases(people, project, tool).items():
        response = client_for(user).get(run_url(tool_id))
        assert response.status_code == 404, case
        # The page's main part (the top bar names the user and carries a fresh CSRF token).
        main = re.search(r"<main>(.*)</main>", response.content.decode(), re.S)
        assert main, case
        pages[case] = main.group(1)
    assert len(set(pages.values())) == 1, pages.keys()
    assert "This page does not exist, or you do not have access to it." in pages["unknown id"]


@pytest.mark.parametrize(
    "path",
    [
        "/tools/not-a-uuid/run",
        "/tools/00000000-0000-0000-0000-00000000000/run",
        "/tools/%00/run",
        "/tools/" + "9" * 300 + "/run",
        "/tools//run",
    ],
)
def test_bad_ids_are_404_not_5xx(people, path):
    assert client_for(people["viewer"]).get(path).status_code == 404


def test_the_tool_list_gives_everyone_a_run_link_and_maintainers_the_editor(people, project, tool):
    owner = people["owner"]
    draft_only = make_tool(owner=owner, project=project, title="Draft only")
    make_draft(draft_only, owner)
    viewer_html = client_for(people["viewer"]).get(f"/projects/{project.pk}/tools")
    owner_html = client_for(owner).get(f"/projects/{project.pk}/tools")
    viewer, mine = viewer_html.content.decode(), owner_html.content.decode()
    run_link = f'href="/tools/{tool.pk}/run"'
    assert run_link in viewer and run_link in mine
    assert f'href="/tools/{tool.pk}/edit"' not in viewer
    assert f'href="/tools/{tool.pk}/edit"' in mine
    assert f'href="/tools/{draft_only.pk}/run"' not in mine  # not published: nothing to run
    assert "not published yet" in viewer
    assert "maintainers only" not in viewer
