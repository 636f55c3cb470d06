"""The maintainers' list of a tool's recent runs (/tools/<id>/runs and the _tool_runs.html partial
the run page includes): status counts of the last 7 days, the 10 newest runs with who and when,
links to details only where the viewer may see them, never anyone else's inputs."""

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from apps.portal.views.runs import tool_runs_context
from apps.projects.models import ProjectRole
from apps.runs.models import RunContext, RunStatus
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.portal.helpers import bulk_runs
from tests.runs.helpers import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    ursula = UserFactory(email="ursula@example.com")
    eddie = UserFactory(email="eddie@example.com", contributor=True)
    project = make_project(
        {alice: ProjectRole.OWNER, ursula: ProjectRole.VIEWER, eddie: ProjectRole.EDITOR}
    )
    tool = published(alice, project=project)
    return {"tool": tool, "maintainer": alice, "user": ursula, "editor": eddie}


def url(tool):
    return f"/tools/{tool.pk}/runs"


def test_counts_of_the_last_seven_days_and_the_ten_newest(world):
    tool, alice, ursula = world["tool"], world["maintainer"], world["user"]
    now = timezone.now()
    recent = [now - timedelta(hours=n) for n in range(1, 13)]
    bulk_runs(tool, ursula, recent[:6], input_values={"secret": "ursula's input"})
    bulk_runs(tool, ursula, recent[6:9], status=RunStatus.FAILED)
    bulk_runs(tool, alice, recent[9:11], status=RunStatus.TIMED_OUT)
    bulk_runs(tool, alice, recent[11:], status=RunStatus.RUNNING)
    bulk_runs(tool, ursula, [now - timedelta(days=8)])  # too old to count
    bulk_runs(tool, ursula, [now], context=RunContext.SANDBOX)  # previews are not tool runs
    context = tool_runs_context(tool=tool, user=alice, now=now)
    counts = {item["status"]: item["count"] for item in context["tool_runs_counts"]}
    assert counts == {
        "queued": 0, "running": 1, "succeeded": 6, "failed": 3, "timed_out": 2, "cancelled": 0
    }  # fmt: skip
    assert context["tool_runs_total"] == 12
    newest = context["tool_runs_newest"]
    assert len(newest) == 10
    assert [row["requested_at"] for row in newest] == recent[:10]
    assert [row["who"] for row in newest].count("alice@example.com") == 1


def test_the_page_links_only_runs_the_maintainer_may_open(world):
    tool, alice, ursula = world["tool"], world["maintainer"], world["user"]
    now = timezone.now()
    [theirs] = bulk_runs(tool, ursula, [now - timedelta(minutes=2)], input_values={"x": "private"})
    [own] = bulk_runs(tool, alice, [now - timedelta(minutes=1)])
    html = client_for(alice).get(url(tool)).content.decode()
    assert "ursula@example.com" in html and "alice@example.com" in html
    assert f'href="/runs/{own.pk}"' in html
    assert f'href="/runs/{theirs.pk}"' not in html
    assert "private" not in html
    admin_html = client_for(UserFactory(admin=True)).get(url(tool)).content.decode()
    assert f'href="/runs/{theirs.pk}"' in admin_html and f'href="/runs/{own.pk}"' in admin_html


def test_everyone_but_maintainers_and_admins_gets_404(world, charlie):
    tool = world["tool"]
    for user in (world["user"], world["editor"], charlie):
        assert client_for(user).get(url(tool)).status_code == 404, user.email
    assert client_for(world["maintainer"]).get(url(tool)).status_code == 200
    assert client_for(world["maintainer"]).get("/tools/not-a-uuid/runs").status_code == 404
    response = client_for(world["maintainer"]).get(f"/tools/{tool.pk}x/runs")
    assert response.status_code == 404


def test_the_partial_renders_on_its_own_for_the_run_page(world):
    tool = world["tool"]
    html = render_to_string(
        "portal/_tool_runs.html", tool_runs_context(tool=tool, user=world["maintainer"])
    )
    assert 'id="tool-runs"' in html and "Nobody has run this tool yet." in html
    assert re.search(r'data-status="succeeded">.*Succeeded</span> 0', html)


def test_the_list_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    tool, ursula = world["tool"], world["user"]
    bulk_runs(tool, ursula, [timezone.now() - timedelta(minutes=n) for n in range(1, 30)])
    client = client_for(world["maintainer"])
    # Session, user, tool, maintainer check, counts, newest runs: whatever the number of runs.
    with django_assert_max_num_queries(8):
        assert client.get(url(tool)).status_code == 200
