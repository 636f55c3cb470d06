"""The run detail page (/runs/<id>) and its re-run button: private to the requester (and global
admins), the inputs as submitted, kept and removed files, the result's data for the shared
renderer, output streams only for the tool's maintainers and admins."""

import json
import re
import shutil
import uuid

import pytest
from django.test import Client

from apps.projects.models import ProjectRole
from apps.runs import session_files
from apps.runs.models import RunStatus, ToolRun
from apps.tools import services as tool_services
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.runs import editor_world, execute, upload
from tests.runs.helpers import published, queue_preview, queue_production_run

pytestmark = pytest.mark.django_db

SOURCE = """\
import sys
from skriptoteket_toolkit import list_input_files, read_inputs

def run_tool(input_dir, output_dir):
    print("printed for maintainers")
    print("warned on stderr", file=sys.stderr)
    open(output_dir + "/report.txt", "w").write("report")
    names = ",".join(f["name"] for f in list_input_files())
    return {"outputs": [{"kind": "markdown", "markdown": "**done** %s" % names}]}
"""
SCHEMA = [
    {"kind": "string", "name": "name", "label": "Your name"},
    {"kind": "boolean", "name": "loud", "label": "Shout"},
    {
        "kind": "enum",
        "name": "colour",
        "label": "Colour",
        "options": [{"value": "r", "label": "Red"}, {"value": "g", "label": "Green"}],
    },
    {"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 2},
]
FAILING = "def run_tool(input_dir, output_dir):\n    raise RuntimeError('nope')\n"


@pytest.fixture
def people(alice):
    """alice maintains the tool; ursula only runs it; pete is a member who did not run it."""
    ursula = UserFactory(email="ursula@example.com")
    pete = UserFactory(email="pete@example.com")
    project = make_project(
        {alice: ProjectRole.OWNER, ursula: ProjectRole.VIEWER, pete: ProjectRole.VIEWER}
    )
    return {"maintainer": alice, "user": ursula, "member": pete, "project": project}


@pytest.fixture
def tool(people):
    return published(people["maintainer"], SOURCE, input_schema=SCHEMA, project=people["project"])


def finished(tool, user, **request):
    inputs = request.pop("inputs", {"name": "Ada", "loud": True, "colour": "g"})
    request.setdefault("uploads", [upload("notes.txt", b"12345")])
    return execute(queue_production_run(tool, user, inputs, **request).pk)


def page(user, run, status=200, **query):
    response = client_for(user).get(f"/runs/{run.pk}", query)
    assert response.status_code == status
    return response.content.decode()


def main(html):
    return html[html.index("<main>") : html.index("</main>")]


def page_data(html):
    match = re.search(r'<script id="run-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, html
    return json.loads(match[1])


def test_the_requester_sees_status_times_inputs_and_files(people, tool):
    run = finished(tool, people["user"])
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    html = page(people["user"], run)
    assert 'data-status="succeeded"' in html
    assert f'href="/tools/{tool.pk}/run"' in html
    for label, value in (("Your name", "Ada"), ("Shout", "Yes"), ("Colour", "Green")):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html
    assert '<td class="name">notes.txt</td>' in html and "5\xa0bytes" in html
    assert 'data-state="kept"' in html
    assert 'id="rerun-button"' in html
    assert "Requested by" not in html  # their own run


def test_the_page_hands_the_result_to_the_shared_renderer(people, tool):
    run = finished(tool, people["user"])
    html = page(people["user"], run)
    data = page_data(html)
    assert data["status"] == "succeeded" and data["terminal"] is True
    assert data["ui_payload"] == run.ui_payload
    [output] = data["ui_payload"]["outputs"]
    assert output == {"kind": "markdown", "markdown": "**done** notes.txt"}
    [artifact] = data["artifacts"]
    assert artifact["path"] == "output/report.txt"
    assert artifact["download_url"] == f"/api/v1/runs/{run.pk}/artifacts/{artifact['artifact_id']}"
    assert data["poll_url"] == f"/api/v1/runs/{run.pk}"
    assert 'type="module" src="/static/js/portal/run-detail.js"' in html
    assert f'href="{artifact["download_url"]}" download' in html  # links even without script
    # The download link works for the requester with the page's session.
    assert client_for(people["user"]).get(artifact["download_url"]).status_code == 200
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script


def test_everyone_else_gets_the_same_404_page(people, tool, charlie):
    run = finished(tool, people["user"])
    for other in (people["member"], people["maintainer"], charlie):
        missing = page(other, ToolRun(pk=uuid.uuid4()), status=404)
        assert main(page(other, run, status=404)) == main(missing)
    assert client_for(people["user"]).get("/runs/not-a-uuid").status_code == 404
    assert client_for(people["user"]).get(f"/runs/{str(run.pk)[:-1]}").status_code == 404
    anonymous = Client().get(f"/runs/{run.pk}")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_a_global_admin_sees_any_run_with_its_requester_and_streams(people, tool):
    run = finished(tool, people["user"])
    html = page(UserFactory(admin=True), run)
    assert '<dd id="run-requester">ursula@example.com</dd>' in html
    assert "printed for maintainers" in html and "warned on stderr" in html


def test_output_streams_only_for_maintainers_and_admins(people, tool):
    users_run = finished(tool, people["user"])
    html = page(people["user"], users_run)
    assert 'id="run-streams"' not in html
    assert "printed for maintainers" not in html and "warned on stderr" not in html
    assert "stdout" not in json.dumps(page_data(html))
    maintainers_run = finished(tool, people["maintainer"])
    html = page(people["maintainer"], maintainers_run)
    assert 'id="run-streams"' in html
    assert "printed for maintainers" in html and "warned on stderr" in html


def test_the_error_summary_of_a_failed_run(people):
    failing = published(people["maintainer"], FAILING, project=people["project"])
    run = execute(queue_production_run(failing, people["user"]).pk)
    assert run.status == RunStatus.FAILED
    html = page(people["user"], run)
    assert 'id="run-error-summary"' in html and "Tool execution failed (RuntimeError)." in html


def test_removed_files_and_artifacts_are_said_so(people, tool, settings):
    settings.RUN_INPUTS_RETENTION_DAYS = 3
    settings.ARTIFACTS_RETENTION_DAYS = 2
    run = finished(tool, people["user"])
    storage = session_files.storage()
    shutil.rmtree(storage.path(session_files.kept_inputs_dir(run.pk)))
    shutil.rmtree(storage.path(session_files.artifacts_dir(run.pk)))
    html = page(people["user"], run)
    message = "The files of this run were removed after 3 days; run the tool again with new files."
    assert f'data-state="removed">{message}' in html
    assert 'id="rerun-button"' not in html
    assert 'data-code="RUN_FILES_REMOVED"' in html and f'href="/tools/{tool.pk}/run"' in html
    assert "The files this run produced were removed after 2 days." in html
    assert page_data(html)["artifacts"] == []


def test_a_queued_run_is_followed_not_rendered(people, tool):
    run = queue_production_run(tool, people["user"], {"name": "Ada"}, uploads=[upload()])
    html = page(people["user"], run, poll_ms="200")
    assert 'id="run-waiting"' in html and 'id="run-outputs"' not in html
    assert 'id="rerun"' not in html
    assert 'data-state="pending"' in html
    data = page_data(html)
    assert (data["terminal"], data["poll_ms"]) == (False, 200)
    for odd in ("0", "abc", "9" * 50, "\x00", "-5"):
        assert page_data(page(people["user"], run, poll_ms=odd))["poll_ms"] in (100, 1500)


def test_a_sandbox_preview_shows_without_the_rerun_offer(alice):
    world = editor_world(alice)
    run = execute(queue_preview(world, SOURCE).pk)
    html = page(alice, run)
    assert f'href="/tools/{world.tool.pk}/edit"' in html
    assert 'id="rerun"' not in html
    assert page_data(html)["poll_url"] == f"/api/v1/editor/tool-runs/{run.pk}"


# --- POST /runs/<id>/rerun ----------------------------------------------------------------------


def test_rerun_starts_a_new_run_and_opens_its_page(people, tool):
    run = finished(tool, people["user"])
    client = client_for(people["user"])
    response = client.post(f"/runs/{run.pk}/rerun")
    assert response.status_code == 302
    new_run = ToolRun.objects.exclude(pk=run.pk).get(requested_by=people["user"])
    assert response["Location"] == f"/runs/{new_run.pk}"
    assert new_run.input_values == run.input_values
    assert new_run.input_manifest == run.input_manifest
    done = execute(new_run.pk)
    assert done.ui_payload == run.ui_payload
    html = client.get(f"/runs/{done.pk}").content.decode()
    assert "The tool runs again with the same inputs." in html


def test_rerun_refusals_are_messages_on_the_run_page(people, tool, settings):
    run = finished(tool, people["user"])
    client = client_for(people["user"])
    settings.RUN_MAX_CONCURRENT_PER_USER = 0
    response = client.post(f"/runs/{run.pk}/rerun", follow=True)
    assert response.redirect_chain == [(f"/runs/{run.pk}", 302)]
    assert "You have too many runs in progress" in response.content.decode()
    settings.RUN_MAX_CONCURRENT_PER_USER = 4
    tool_services.depublish_tool(tool=tool, actor=UserFactory(admin=True))
    response = client.post(f"/runs/{run.pk}/rerun", follow=True)
    html = response.content.decode()
    assert html.count("This tool is no longer published, so it cannot be run again.") == 2
    assert ToolRun.objects.filter(requested_by=people["user"]).count() == 1


def test_rerun_of_someone_elses_run_is_a_404_and_needs_post_and_csrf(people, tool):
    run = finished(tool, people["user"])
    assert client_for(people["member"]).post(f"/runs/{run.pk}/rerun").status_code == 404
    assert client_for(people["user"]).get(f"/runs/{run.pk}/rerun").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["user"])
    assert strict.post(f"/runs/{run.pk}/rerun").status_code == 403
    assert ToolRun.objects.count() == 1
