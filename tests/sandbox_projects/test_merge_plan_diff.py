"""The merge page's plan carries, per proposed tool, the target tool's current content and the
sandbox tool's (the page draws their diff), and the merge record links its tools."""

import json
import re

import pytest

from apps.tools.models import Tool
from tests.sandbox_projects.test_pages import client_as, merge_url, plan_post, world  # noqa: F401

pytestmark = pytest.mark.django_db


def plan_diffs(html):
    found = re.search(
        r'<script id="merge-plan-diffs" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


def test_the_plan_has_a_diff_per_proposed_tool(world):  # noqa: F811
    html = client_as("admin", world).get(merge_url(world["sandbox"])).content.decode()
    diffs = plan_diffs(html)
    grader = Tool.objects.get(project=world["sandbox"], origin=world["grader"])
    quiz = Tool.objects.get(project=world["sandbox"], title="Quiz")
    assert set(diffs) == {str(grader.pk), str(quiz.pk)}
    changed = diffs[str(grader.pk)]
    assert changed["before"]["source_code"] == world["grader"].draft_head.source_code
    assert "changed" in changed["after"]["source_code"]
    assert changed["labels"] == {
        "before": f"Field notes v{world['grader'].draft_head.version_number}",
        "after": f"Try-out v{grader.draft_head.version_number}",
    }
    assert diffs[str(quiz.pk)]["before"] is None
    assert f'id="merge-diff-{grader.pk}"' in html
    assert 'src="/static/js/projects/merge-plan.js"' in html


def test_the_merge_record_links_its_tools_to_their_editor(world):  # noqa: F811
    response = client_as("admin", world).post(
        merge_url(world["sandbox"]), plan_post(world), follow=True
    )
    html = response.content.decode()
    grader = world["grader"]
    grader.refresh_from_db()
    assert f'<a href="/tools/{grader.pk}/edit">Grader</a>' in html
    assert f"version {grader.draft_head.version_number}" in html
    assert f'href="/projects/{world["parent"].pk}/collections/scores/"' in html
