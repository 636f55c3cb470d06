"""Names of 120 characters without a space (projects, sandboxes, tools, collections, keys,
emails, token names) wrap or are cut with the full name in a tooltip: no page is wider than the
window, at a desktop width and at a phone's."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from apps.accounts import services as accounts
from apps.kvcollections import services as kv
from apps.projects import services as projects
from apps.projects.models import ProjectRole
from apps.sandbox_projects import services as sandboxes
from apps.tools import access as tools_access
from tests.browser.conftest import draft_tool
from tests.factories import UserFactory, make_project
from tests.factories.catalog import make_catalog_tool, make_production_run

pytestmark = pytest.mark.browser


def long(prefix: str, length: int = 120) -> str:
    return (prefix + "x" * length)[:length]


@pytest.fixture
def world(db):
    person = UserFactory(email=long("longmail") + "@example.com", contributor=True)
    colleague = UserFactory(email=long("colleague") + "@example.org")
    project = make_project(
        {person: ProjectRole.OWNER, colleague: ProjectRole.VIEWER}, name=long("Project")
    )
    tool = make_catalog_tool(project, title=long("Tool"), summary=long("Summary"), owner=person)
    tools_access.assign_maintainer(user=person, tool=tool)  # to see the tool's runs
    draft = draft_tool(person, project, "def run_tool(i, o):\n    return 'ok'\n")
    draft.title = long("Draft")
    draft.save(update_fields=["title"])
    run = make_production_run(tool, person, datetime.now(tz=UTC))
    collection = kv.create_collection(project=project, name=long("collection-").lower())
    kv.put_items(collection=collection, items=[(long("key"), long("value", 300))])
    sandbox = sandboxes.provision_sandbox(parent=project, actor=person, name=long("Sandbox"))
    doomed = make_project({person: ProjectRole.OWNER}, name=long("Doomed"))
    projects.schedule_project_deletion(project=doomed, actor=person)
    accounts.create_api_token(user=person, name=long("Token", 100), expires_in_days=None)
    return {
        "person": person,
        "project": project,
        "tool": tool,
        "draft": draft,
        "run": run,
        "collection": collection,
        "sandbox": sandbox,
    }


def pages(world) -> list[str]:
    project, tool, collection = world["project"], world["tool"], world["collection"]
    return [
        "/projects/",
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/delete",
        "/projects/scheduled/",
        f"/projects/{project.pk}/tools",
        f"/projects/{project.pk}/collections/",
        f"/projects/{project.pk}/collections/{collection.name}/",
        f"/projects/{world['sandbox'].pk}/",
        f"/projects/{world['sandbox'].pk}/merge",
        f"/projects/{project.pk}/merges/",
        "/tools/",
        f"/tools/{tool.pk}/run",
        f"/tools/{tool.pk}/runs",
        "/runs/",
        f"/runs/{world['run'].pk}",
        "/accounts/tokens/",
        f"/tools/{world['draft'].pk}/edit",
    ]


# The elements sticking out past the window's right edge (the innermost ones), to name the culprit.
WIDEST = """() => [...document.querySelectorAll("body *")]
    .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
    .filter((node) => ![...node.children].some(
        (child) => child.getBoundingClientRect().right > window.innerWidth + 1))
    .slice(0, 3)
    .map((node) => `<${node.tagName.toLowerCase()} class="${node.className}">`
        + ` ${node.textContent.trim().slice(0, 30)}`)"""

# Elements whose text is cut with an ellipsis but who carry no `title` with the full text.
CUT_WITHOUT_TITLE = """() => [...document.querySelectorAll("body *")]
    .filter((node) => getComputedStyle(node).textOverflow === "ellipsis")
    .filter((node) => node.scrollWidth > node.clientWidth)
    .filter((node) => !node.title.includes(node.textContent.trim()))
    .map((node) => node.textContent.trim().slice(0, 30))"""


def overflow(page: Page) -> int:
    """How many pixels the document is wider than the window (0: it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize("width", [1280, 390])
def test_long_names_never_widen_a_page(page, live_server, login, screenshot, world, width):
    login(page, live_server, world["person"])
    page.set_viewport_size({"width": width, "height": 800})
    too_wide, cut = {}, {}
    for path in pages(world):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        if overflow(page) > 0:
            too_wide[path] = (overflow(page), page.evaluate(WIDEST))
            screenshot(path.strip("/").replace("/", "_")[:60])
        if page.evaluate(CUT_WITHOUT_TITLE):
            cut[path] = page.evaluate(CUT_WITHOUT_TITLE)
    assert too_wide == {}
    assert cut == {}
