"""Sandbox pages through Django's client: the Sandboxes section and "New sandbox" form on the
project page, the banner, the merge page (plan, selection, refusals) and the merge records."""

import re

import pytest
from django.test import Client

from apps.kvcollections import services as collections
from apps.kvcollections.models import Collection, CollectionItem
from apps.locks import services as locks
from apps.projects.access import assign_role
from apps.projects.models import Project, ProjectRole
from apps.sandbox_projects import services
from apps.sandbox_projects.models import MergeRecord
from apps.tools import services as tools
from apps.tools.models import Tool
from tests.clients import client_for
from tests.factories import CollectionFactory, UserFactory, make_project
from tests.factories.projects import make_role_world
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db

PERSONAS = ("owner", "admin", "editor", "viewer", "outsider", "anonymous")
BANNER = (
    "New collections are created empty in the target. Items are never copied. "
    "Collections are never deleted by a merge."
)


@pytest.fixture
def world(alice):
    """A parent with one collection (with items) and one tool; a sandbox made by alice in which
    the tool changed, a collection was added and a tool was created; then a collection that only
    the parent has."""
    people, parent = make_role_world(alice, name="Field notes")
    grades = collections.create_collection(project=parent, name="grades")
    collections.put_items(collection=grades, items=[("anna", "5"), ("bert", "3")])
    grader = make_tool(owner=alice, project=parent, title="Grader")
    make_draft(grader, alice)
    grader.refresh_from_db()
    sandbox = services.provision_sandbox(parent=parent, actor=alice, name="Try-out")
    collections.create_collection(project=sandbox, name="scores")
    collections.create_collection(project=sandbox, name="drafts")
    change_copy(Tool.objects.get(project=sandbox, origin=grader), alice)
    make_draft(make_tool(owner=alice, project=sandbox, title="Quiz"), alice)
    # Made without the sync signal: the sandbox has not caught up with it.
    CollectionFactory(project=parent, name="attendance")
    return {"people": people, "parent": parent, "sandbox": sandbox, "grader": grader}


def change_copy(copy, actor):
    tools.acquire_draft_lock(tool=copy, actor=actor, draft_head_id=str(copy.draft_head_id))
    tools.save_draft(
        version=copy.draft_head,
        actor=actor,
        expected_parent_version_id=copy.draft_head_id,
        content=tools.ContentEdit(source_code="def run_tool(i, o):\n    return 'changed'\n"),
    )


def client_as(persona, world):
    client = Client()
    if persona != "anonymous":
        client.force_login(world["people"][persona])
    return client


def project_url(project):
    return f"/projects/{project.pk}/"


def create_url(project):
    return f"/projects/{project.pk}/sandboxes/new"


def merge_url(project, target=None):
    return f"/projects/{project.pk}/merge" + (f"?target={target.pk}" if target else "")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def html_of(response):
    return response.content.decode()


def plan_post(world, **overrides):
    """The merge form as the page submits it with every box left ticked."""
    plan = services.plan_merge(
        source=world["sandbox"], target=world["parent"], actor=world["people"]["owner"]
    )
    data = {
        "target": str(world["parent"].pk),
        "collections": plan.collections_to_add,
        "tools": [str(c.source.pk) for c in plan.tools_to_propose if not c.lock_holder_id],
    }
    return {**data, **overrides}


def parent_names(world):
    return set(Collection.objects.filter(project=world["parent"]).values_list("name", flat=True))


# --- The project page: Sandboxes section and the New sandbox form -------------------------------

PAGE_STATUS = {
    "owner": 200,
    "admin": 200,
    "editor": 200,
    "viewer": 200,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_project_page_lists_sandboxes_and_offers_the_form_to_editors_up(persona, world):
    response = client_as(persona, world).get(project_url(world["parent"]))

    assert response.status_code == PAGE_STATUS[persona]
    if response.status_code != 200:
        assert "Try-out" not in html_of(response)
        return
    html = html_of(response)
    row = re.search(r'<tr data-name="Try-out">.*?</tr>', html, re.S).group(0)
    assert f'href="/projects/{world["sandbox"].pk}/"' in row
    assert "alice@example.com" in row
    assert world["sandbox"].created_at.strftime("%Y-%m-%d %H:%M") in row
    assert f"background: {world['sandbox'].colour}" in row
    assert ('id="new-sandbox"' in html) is (persona in ("owner", "admin", "editor"))
    assert f'action="{create_url(world["parent"])}"' in html or persona == "viewer"
    # The parent is no sandbox: no banner there.
    assert BANNER not in html


def test_a_sandbox_the_user_is_not_a_member_of_is_listed_without_a_link(world):
    newcomer = UserFactory(email="nina@example.com")
    assign_role(user=newcomer, project=world["parent"], role=ProjectRole.VIEWER)
    html = html_of(client_for(newcomer).get(project_url(world["parent"])))
    row = re.search(r'<tr data-name="Try-out">.*?</tr>', html, re.S).group(0)
    assert "href" not in row
    assert "(you are not a member)" in row


def test_scheduled_sandboxes_are_not_listed(world):
    Project.objects.filter(pk=world["sandbox"].pk).update(deletion_scheduled_at="2030-01-01T00:00Z")
    html = html_of(client_as("owner", world).get(project_url(world["parent"])))
    assert 'data-name="Try-out"' not in html
    assert "No sandboxes yet." in html


CREATE_STATUS = {
    "owner": 302,
    "admin": 302,
    "editor": 302,
    "viewer": 403,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_new_sandbox_form_by_each_persona(persona, world):
    parent = world["parent"]
    response = client_as(persona, world).post(
        create_url(parent), {"name": "Second", "colour": "#10b981"}
    )

    assert response.status_code == CREATE_STATUS[persona]
    made = Project.objects.filter(parent=parent, name="Second").first()
    if persona in ("owner", "admin", "editor"):
        assert made is not None
        assert response["Location"] == project_url(made)
        assert made.colour == "#10b981"
        assert made.created_by == world["people"][persona]
        # Provisioned by the service: namesakes empty, items left behind.
        copy = Collection.objects.get(project=made, name="grades")
        assert copy.item_count == 0 and not CollectionItem.objects.filter(collection=copy)
        assert Tool.objects.filter(project=made, origin=world["grader"]).exists()
    else:
        assert made is None
    if persona == "viewer":
        assert "This action needs the project role editor or higher." in html_of(response)
    if persona == "anonymous":
        assert response["Location"].startswith("/accounts/login/?next=")


def test_a_new_sandbox_lands_on_its_page_with_the_banner(world):
    client = client_as("editor", world)
    response = client.post(create_url(world["parent"]), {"name": "Mine", "colour": ""}, follow=True)
    made = Project.objects.get(parent=world["parent"], name="Mine")
    assert messages_of(response) == ["Sandbox “Mine” created."]
    assert made.colour == world["parent"].colour
    assert BANNER in html_of(response)


def new_sandbox_form(response):
    return re.search(r'<form[^>]*id="new-sandbox".*?</form>', html_of(response), re.S).group(0)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "Kept name", "colour": "red"}, "colour", "Enter a valid value."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
    ],
)
def test_a_bad_new_sandbox_form_shows_the_error_at_the_field_and_keeps_the_input(
    world, data, field, reason
):
    response = client_as("owner", world).post(create_url(world["parent"]), data)

    assert response.status_code == 400
    assert messages_of(response) == []
    form = new_sandbox_form(response)
    errors = re.search(rf'<ul class="errorlist" id="id_sandbox_{field}_error">(.*?)</ul>', form)
    assert reason in errors.group(1)
    assert f'aria-describedby="id_sandbox_{field}_error"' in form
    assert f'value="{data["name"]}"' in form
    assert Project.objects.filter(parent=world["parent"]).count() == 1


def test_a_taken_sandbox_name_is_shown_at_the_name_with_the_input_kept(world):
    response = client_as("owner", world).post(
        create_url(world["parent"]), {"name": "Try-out", "colour": "#123456"}
    )

    assert response.status_code == 400
    assert messages_of(response) == []
    form = new_sandbox_form(response)
    assert re.search(
        r'id="id_sandbox_name_error"><li>The parent project already has a sandbox with this name.',
        form,
    )
    assert 'value="Try-out"' in form and 'value="#123456"' in form
    # The cursor, and so the browser's scroll, goes to the refused field.
    assert re.search(r'<input type="text" name="name" id="id_sandbox_name"[^>]* autofocus>', form)
    assert Project.objects.filter(parent=world["parent"]).count() == 1


def test_a_sandbox_too_deep_is_shown_above_the_form(world, settings):
    settings.SANDBOX_PROJECT_MAX_DEPTH = 1
    response = client_as("owner", world).post(create_url(world["sandbox"]), {"name": "Deeper"})

    assert response.status_code == 400
    form = new_sandbox_form(response)
    assert 'class="form-errors" role="alert"' in form
    assert "Sandboxes cannot be nested this deep." in form
    assert 'value="Deeper"' in form


def test_the_new_sandbox_form_needs_a_post_and_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["people"]["owner"])
    assert client.get(create_url(world["parent"])).status_code == 405
    assert client.post(create_url(world["parent"]), {"name": "NoToken"}).status_code == 403
    assert not Project.objects.filter(name="NoToken").exists()
    page = client.get(project_url(world["parent"]))
    form = re.search(r'<form[^>]*id="new-sandbox".*?</form>', html_of(page), re.S).group(0)
    assert 'name="csrfmiddlewaretoken"' in form


# --- The sandbox page and its collections page -----------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin", "editor", "viewer"])
def test_a_sandbox_page_shows_the_banner_the_parent_and_merge_for_admins(persona, world):
    sandbox, parent = world["sandbox"], world["parent"]
    html = html_of(client_as(persona, world).get(project_url(sandbox)))

    banner = re.search(r'<p[^>]*id="sandbox-banner"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert banner == BANNER
    assert f'<a href="{project_url(parent)}" id="parent-link">Field notes</a>' in html
    assert (f'href="{merge_url(sandbox)}"' in html) is (persona in ("owner", "admin"))


def test_the_sandbox_collections_page_shows_the_banner_and_the_parents_does_not(world):
    client = client_as("viewer", world)
    sandbox_page = client.get(f"/projects/{world['sandbox'].pk}/collections/")
    parent_page = client.get(f"/projects/{world['parent'].pk}/collections/")
    assert BANNER in html_of(sandbox_page)
    assert BANNER not in html_of(parent_page)


# --- The merge page: who, the plan, the target chooser -----------------------------------------

MERGE_STATUS = {
    "owner": 200,
    "admin": 200,
    "editor": 403,
    "viewer": 403,
    "outsider": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_merge_page_answers_each_persona(persona, world):
    client = client_as(persona, world)
    shown = client.get(merge_url(world["sandbox"]))
    posted = client.post(merge_url(world["sandbox"]), plan_post(world))

    assert shown.status_code == MERGE_STATUS[persona]
    assert posted.status_code == (302 if persona in ("owner", "admin") else MERGE_STATUS[persona])
    assert MergeRecord.objects.count() == (1 if persona in ("owner", "admin") else 0)
    if persona in ("editor", "viewer"):
        assert "This action needs the project role admin or higher." in html_of(shown)


def test_the_merge_page_lists_the_plan(world):
    response = client_as("owner", world).get(merge_url(world["sandbox"]))
    html = html_of(response)

    assert BANNER in html
    to_add = re.search(r'id="collections-to-add".*?</section>', html, re.S).group(0)
    assert re.findall(r'name="collections" value="([^"]+)" checked', to_add) == ["drafts", "scores"]
    untouched = re.search(r'id="collections-untouched".*?</section>', html, re.S).group(0)
    assert "<code>attendance</code>" in untouched
    assert "They are kept, with all their items" in untouched
    assert "grades" not in to_add + untouched
    tool_rows = re.findall(r'<tr data-tool="[^"]+">.*?</tr>', html, re.S)
    assert len(tool_rows) == 2
    grader, quiz = tool_rows
    assert "update: a new draft of “Grader”" in grader and "checked" in grader
    assert "Quiz" in quiz and "create: a new tool" in quiz and "checked" in quiz
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Merge into “Field notes”" in html


def test_a_tool_locked_by_someone_else_is_disabled_and_explained(world):
    bob = world["people"]["editor"]
    grader = world["grader"]
    locks.acquire(
        tool_id=grader.pk,
        draft_head_id=grader.draft_head_id,
        actor_id=bob.pk,
        force=False,
        is_admin=False,
    )
    html = html_of(client_as("owner", world).get(merge_url(world["sandbox"])))

    locked_row = re.search(r'<tr data-tool="[^"]+" class="locked">.*?</tr>', html, re.S).group(0)
    assert "Grader" in locked_row
    assert "disabled" in locked_row and "checked" not in locked_row
    assert f"locked by {bob.email}" in locked_row
    assert "a merge that includes it would be refused and write nothing" in html


def test_only_locked_tools_left_offers_no_button(world):
    owner, grader = world["people"]["owner"], world["grader"]
    fresh = services.provision_sandbox(parent=world["parent"], actor=owner, name="Fresh")
    change_copy(Tool.objects.get(project=fresh, origin=grader), owner)
    locks.acquire(
        tool_id=grader.pk,
        draft_head_id=grader.draft_head_id,
        actor_id=world["people"]["editor"].pk,
        force=False,
        is_admin=False,
    )
    html = html_of(client_as("owner", world).get(merge_url(fresh)))
    assert "locked by eddie@example.com" in html
    assert "Nothing can be merged now: every change left is a locked tool." in html
    assert "Merge into “Field notes”" not in html


def test_the_target_chooser_offers_the_parent_and_editable_siblings(world):
    owner = world["people"]["owner"]
    sibling = services.provision_sandbox(parent=world["parent"], actor=owner, name="Sibling")
    read_only = services.provision_sandbox(parent=world["parent"], actor=owner, name="Read-only")
    assign_role(user=owner, project=read_only, role=ProjectRole.VIEWER)

    html = html_of(client_as("owner", world).get(merge_url(world["sandbox"])))
    chooser = re.search(r'<select name="target".*?</select>', html, re.S).group(0)
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', chooser)
    assert options == [
        (str(world["parent"].pk), " selected", "Field notes (parent)"),
        (str(sibling.pk), "", "Sibling (sibling sandbox)"),
    ]


def test_a_sibling_target_shows_the_plan_into_the_sibling(world):
    sibling = services.provision_sandbox(
        parent=world["parent"], actor=world["people"]["owner"], name="Sibling"
    )
    response = client_as("owner", world).get(merge_url(world["sandbox"], target=sibling))
    html = html_of(response)
    assert response.context["target"] == sibling
    assert f'<input type="hidden" name="target" value="{sibling.pk}">' in html
    assert "Merge into “Sibling”" in html


@pytest.mark.parametrize("target", ["unrelated", "viewer-only", "garbage", "itself"])
def test_a_target_that_is_not_allowed_is_a_message_on_the_merge_page(world, target):
    owner = world["people"]["owner"]
    targets = {
        "unrelated": lambda: str(make_project({owner: ProjectRole.OWNER}).pk),
        "viewer-only": lambda: str(
            make_project({owner: ProjectRole.VIEWER}, parent=world["parent"]).pk
        ),
        "garbage": lambda: "not-a-uuid",
        "itself": lambda: str(world["sandbox"].pk),
    }
    response = client_as("owner", world).get(
        f"{merge_url(world['sandbox'])}?target={targets[target]()}"
    )
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("You cannot merge into that project.") or "never into" in message
    assert response.context["plan"] is None
    assert 'id="merge-form"' not in html_of(response)


def test_a_project_that_is_no_sandbox_has_no_merge_page(world):
    assert client_as("owner", world).get(merge_url(world["parent"])).status_code == 404


# --- Merging through the page ------------------------------------------------------------------


def test_merging_the_selection_creates_only_what_was_ticked(world):
    sandbox = world["sandbox"]
    quiz = Tool.objects.get(project=sandbox, title="Quiz")
    data = plan_post(world, collections=["scores"], tools=[str(quiz.pk)])

    response = client_as("admin", world).post(merge_url(sandbox), data, follow=True)

    record = MergeRecord.objects.get()
    assert response.redirect_chain == [(f"/projects/{sandbox.pk}/merges/{record.pk}", 302)]
    assert messages_of(response) == ["“Try-out” merged into “Field notes”."]
    assert record.collections_created == ["scores"]
    assert [entry["source_tool_id"] for entry in record.tools_proposed] == [str(quiz.pk)]
    assert parent_names(world) == {"grades", "attendance", "scores"}
    # Additive: the parent's own collections keep their items; the Grader was not proposed.
    assert Collection.objects.get(project=world["parent"], name="grades").item_count == 2
    world["grader"].refresh_from_db()
    assert "changed" not in world["grader"].draft_head.source_code
    html = html_of(response)
    created = re.search(r'id="created-collections".*?</section>', html, re.S).group(0)
    assert f'href="/projects/{world["parent"].pk}/collections/scores/"' in created
    assert "drafts" not in created
    new_tool = Tool.objects.get(project=world["parent"], title="Quiz")
    assert f'<a href="/tools/{new_tool.pk}/edit">Quiz</a>' in html and "new tool" in html
    assert f"version {new_tool.draft_head.version_number}" in html
    assert f"<code>{record.pk}</code>" in html
    assert f'href="/projects/{world["parent"].pk}/"' in html


def test_merging_everything_writes_every_tool_as_a_draft(world):
    response = client_as("owner", world).post(merge_url(world["sandbox"]), plan_post(world))
    assert response.status_code == 302
    record = MergeRecord.objects.get()
    assert sorted(record.collections_created) == ["drafts", "scores"]
    assert len(record.tools_proposed) == 2
    world["grader"].refresh_from_db()
    assert "changed" in world["grader"].draft_head.source_code


def test_a_locked_tool_in_the_selection_is_refused_as_a_message_and_nothing_is_written(world):
    bob = world["people"]["editor"]
    grader = world["grader"]
    locks.acquire(
        tool_id=grader.pk,
        draft_head_id=grader.draft_head_id,
        actor_id=bob.pk,
        force=False,
        is_admin=False,
    )
    copy = Tool.objects.get(project=world["sandbox"], origin=grader)
    # A page loaded before the lock was taken still has the Grader ticked.
    data = plan_post(world, tools=[str(copy.pk)])

    response = client_as("owner", world).post(merge_url(world["sandbox"]), data)

    assert response.status_code == 200
    assert messages_of(response) == [
        "Another user holds the draft lock of a target tool; nothing was merged."
    ]
    assert 'id="merge-form"' in html_of(response)
    assert not MergeRecord.objects.exists()
    assert parent_names(world) == {"grades", "attendance"}


def test_a_stale_selection_is_a_message_and_nothing_is_written(world):
    data = plan_post(world, collections=["scores", "grades"])
    response = client_as("owner", world).post(merge_url(world["sandbox"]), data)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("The plan changed since the page was loaded; nothing was merged.")
    assert not MergeRecord.objects.exists()


def test_an_empty_selection_is_a_message(world):
    data = plan_post(world, collections=[], tools=[])
    response = client_as("owner", world).post(merge_url(world["sandbox"]), data)
    assert messages_of(response) == ["Nothing is selected, so there is nothing to merge."]
    assert not MergeRecord.objects.exists()


def test_a_target_the_merger_cannot_edit_is_refused_on_post(world):
    assign_role(user=world["people"]["admin"], project=world["parent"], role=ProjectRole.VIEWER)
    response = client_as("admin", world).post(merge_url(world["sandbox"]), plan_post(world))
    assert response.status_code == 200
    assert messages_of(response) == [
        "You cannot merge into that project. This action needs the project role editor or higher."
    ]
    assert not MergeRecord.objects.exists()


def test_nothing_left_to_merge_offers_no_button(world):
    fresh = services.provision_sandbox(
        parent=world["parent"], actor=world["people"]["owner"], name="Fresh"
    )
    html = html_of(client_as("owner", world).get(merge_url(fresh)))
    assert "Nothing to merge" in html
    assert "Merge into “Field notes”" not in html
    assert "None: no tool of this sandbox is new or differs" in html


def test_after_a_merge_the_plan_no_longer_offers_the_collections(world):
    client_as("owner", world).post(merge_url(world["sandbox"]), plan_post(world))
    html = html_of(client_as("owner", world).get(merge_url(world["sandbox"])))
    assert "None: “Field notes” already has every collection of this sandbox." in html
    assert 'name="collections"' not in html


def test_the_merge_form_needs_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["people"]["owner"])
    assert client.post(merge_url(world["sandbox"]), plan_post(world)).status_code == 403
    assert not MergeRecord.objects.exists()


# --- Merge records -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_merge_records_are_shown_to_members_of_either_side(persona, world):
    client_as("owner", world).post(merge_url(world["sandbox"]), plan_post(world))
    record = MergeRecord.objects.get()
    client = client_as(persona, world)
    expected = PAGE_STATUS[persona]
    for project in (world["parent"], world["sandbox"]):
        listing = client.get(f"/projects/{project.pk}/merges/")
        detail = client.get(f"/projects/{project.pk}/merges/{record.pk}")
        assert (listing.status_code, detail.status_code) == (expected, expected)
        if expected == 200:
            assert f'data-record="{record.pk}"' in html_of(listing)
            assert "Merged “Try-out” into “Field notes”" in html_of(detail)


def test_a_record_is_only_found_through_its_own_projects(world):
    client_as("owner", world).post(merge_url(world["sandbox"]), plan_post(world))
    record = MergeRecord.objects.get()
    other = make_project({world["people"]["owner"]: ProjectRole.OWNER})
    client = client_as("owner", world)
    assert client.get(f"/projects/{other.pk}/merges/{record.pk}").status_code == 404
    assert client.get(f"/projects/{other.pk}/merges/not-a-uuid").status_code == 404
    assert "No merges yet." in html_of(client.get(f"/projects/{other.pk}/merges/"))
