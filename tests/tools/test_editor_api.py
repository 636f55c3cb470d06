"""The editor API through HTTP: tools of a project, boot, locks, drafts, review workflow."""

import pytest

from apps.locks.models import DraftLock, DraftLockEvent
from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.tools import access
from apps.tools.models import Tool, ToolVersion, VersionState
from tests.factories import UserFactory, make_project
from tests.factories.tools import SOURCE, make_publishable

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def project(author):
    return make_project({author: ProjectRole.OWNER})


@pytest.fixture
def client(author, api_client_for):
    return api_client_for(author)


@pytest.fixture
def tool(client, project):
    body = client.post(f"/api/v1/projects/{project.pk}/tools", {"title": "Reading list"}).json()
    return Tool.objects.get(pk=body["id"])


def first_draft(client, tool, **content):
    response = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft", {"source_code": SOURCE, **content}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["version_id"]


def acquire(client, tool, head, **extra):
    return client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock",
        {"draft_head_id": head, **extra},
        format="json",
    )


def save(client, version_id, parent=None, headers=None, **content):
    body = {"expected_parent_version_id": parent or version_id, **content}
    return client.post(
        f"/api/v1/editor/tool-versions/{version_id}/save", body, format="json", **(headers or {})
    )


def test_creating_a_tool_gives_a_placeholder_slug_and_no_versions(client, project, author):
    response = client.post(
        f"/api/v1/projects/{project.pk}/tools", {"title": "Reading list", "summary": "For classes"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == f"draft-{body['id']}"
    assert (body["title"], body["summary"], body["draft_head_id"], body["active_version_id"]) == (
        "Reading list",
        "For classes",
        None,
        None,
    )
    assert access.is_maintainer(user=author, tool=Tool.objects.get(pk=body["id"]))
    listed = client.get(f"/api/v1/projects/{project.pk}/tools").json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]


@pytest.mark.parametrize(
    ("role", "global_role", "status"),
    [("viewer", "contributor", 403), ("editor", "user", 403), ("editor", "contributor", 201)],
)
def test_creating_tools_needs_project_editor_and_global_contributor(
    project, api_client_for, role, global_role, status
):
    user = UserFactory(role=global_role)
    projects_access.assign_role(user=user, project=project, role=ProjectRole(role))
    assert (
        api_client_for(user)
        .post(f"/api/v1/projects/{project.pk}/tools", {"title": "T"})
        .status_code
        == status
    )


def test_outsiders_see_neither_the_projects_tools_nor_the_editor(tool, api_client_for):
    outsider = api_client_for(UserFactory(contributor=True))
    assert outsider.get(f"/api/v1/projects/{tool.project_id}/tools").status_code == 404
    assert outsider.get(f"/api/v1/editor/tools/{tool.pk}").status_code == 404


def test_a_project_member_who_is_not_a_maintainer_cannot_open_the_editor(tool, api_client_for):
    member = UserFactory(contributor=True)
    projects_access.assign_role(user=member, project=tool.project, role=ProjectRole.EDITOR)
    response = api_client_for(member).get(f"/api/v1/editor/tools/{tool.pk}")
    assert response.status_code == 403


def test_boot_of_a_new_tool_offers_the_starter_template(client, tool):
    body = client.get(f"/api/v1/editor/tools/{tool.pk}").json()
    assert (body["save_mode"], body["draft_head_id"], body["draft_lock"], body["versions"]) == (
        "create_draft",
        None,
        None,
        [],
    )
    assert "def run_tool" in body["source_code"]


def test_the_full_edit_flow_with_a_lock(client, tool, author):
    head = first_draft(client, tool, usage_instructions="Upload a list")
    lock = acquire(client, tool, head).json()
    assert (
        lock["is_owner"],
        lock["locked_by_user_id"],
        lock["lock_token"],
        lock["draft_head_id"],
    ) == (True, author.pk, 1, head)
    boot = client.get(f"/api/v1/editor/tools/{tool.pk}").json()
    assert boot["draft_lock"]["is_owner"] and boot["save_mode"] == "snapshot"
    saved = save(
        client, head, source_code=SOURCE + "# v2\n", headers={"HTTP_X_DRAFT_LOCK_TOKEN": "1"}
    )
    assert saved.status_code == 200, saved.content
    new_head = saved.json()["version_id"]
    assert DraftLock.objects.get(tool=tool).draft_head_id == ToolVersion.objects.get(pk=new_head).pk
    same = save(client, new_head, source_code=SOURCE + "# v2\n")
    assert same.json()["version_id"] == new_head  # unchanged content: no new version
    old = save(client, head, source_code="x = 1")
    assert old.json()["error"]["code"] == "DRAFT_HEAD_MOVED"


def test_lock_error_codes_over_http(client, tool, api_client_for):
    head = first_draft(client, tool)
    other = UserFactory(contributor=True)
    projects_access.assign_role(user=other, project=tool.project, role=ProjectRole.EDITOR)
    access.assign_maintainer(user=other, tool=tool)
    other_client = api_client_for(other)
    assert save(client, head, source_code="x = 1").json()["error"]["code"] == "DRAFT_LOCK_REQUIRED"
    acquire(client, tool, head)
    held = acquire(other_client, tool, head)
    assert held.status_code == 403
    assert held.json()["error"]["code"] == "DRAFT_LOCK_HELD"
    assert set(held.json()["error"]["details"]) == {
        "holder",
        "holder_email",
        "expires_at",
        "takeover",
    }
    forced = acquire(other_client, tool, head, force=True, reason="away")
    assert forced.json()["error"]["code"] == "FORCE_REQUIRES_ADMIN"
    stale = save(client, head, source_code="x = 2", headers={"HTTP_X_DRAFT_LOCK_TOKEN": "7"})
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "DRAFT_LOCK_STALE_TOKEN")
    bad = save(client, head, source_code="x = 2", headers={"HTTP_X_DRAFT_LOCK_TOKEN": "abc"})
    assert bad.status_code == 400
    wrong_head = acquire(client, tool, "00000000-0000-0000-0000-000000000000")
    assert (wrong_head.status_code, wrong_head.json()["error"]["code"]) == (409, "NOT_DRAFT_HEAD")


def test_the_lock_names_its_holder_to_the_other_editors(client, tool, api_client_for):
    """The editor's lock badge names the holder from these answers (the page has no user list)."""
    head = first_draft(client, tool)
    admin = UserFactory(admin=True, email="root@example.com")
    taken = acquire(api_client_for(admin), tool, head, force=True, reason="urgent fix")
    assert taken.json()["locked_by_email"] == "root@example.com"
    boot = client.get(f"/api/v1/editor/tools/{tool.pk}").json()
    assert boot["draft_lock"]["locked_by_email"] == "root@example.com"
    held = acquire(client, tool, head)
    assert held.json()["error"]["details"]["holder_email"] == "root@example.com"
    api_client_for(admin).delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock")
    assert client.get(f"/api/v1/editor/tools/{tool.pk}").json()["draft_lock"] is None


def test_admin_takeover_needs_a_reason_and_is_audited(client, tool, author, api_client_for):
    head = first_draft(client, tool)
    acquire(client, tool, head)
    admin = api_client_for(UserFactory(admin=True))
    no_reason = acquire(admin, tool, head, force=True)
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    taken = acquire(admin, tool, head, force=True, reason="author on leave")
    assert (taken.status_code, taken.json()["lock_token"]) == (200, 2)
    assert (
        DraftLockEvent.objects.filter(tool=tool, action="forced", reason="author on leave").count()
        == 1
    )
    refused = save(client, head, source_code="mine")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "DRAFT_LOCK_HELD")
    assert refused.json()["error"]["details"]["holder"] == taken.json()["locked_by_user_id"]


def test_release_answers_with_the_tool_id(client, tool):
    head = first_draft(client, tool)
    acquire(client, tool, head)
    response = client.delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock")
    assert response.json() == {"tool_id": str(tool.pk)}
    assert client.get(f"/api/v1/editor/tools/{tool.pk}").json()["draft_lock"] is None


def test_review_workflow_over_http(client, tool, api_client_for):
    head = first_draft(client, tool)
    acquire(client, tool, head)
    refused = client.post(f"/api/v1/editor/tool-versions/{head}/submit-review", {"text": "ready"})
    assert refused.json()["error"]["code"] == "PUBLISH_REQUIREMENTS"
    make_publishable(tool)
    submitted = client.post(f"/api/v1/editor/tool-versions/{head}/submit-review", {"text": "ready"})
    assert submitted.json()["state"] == VersionState.IN_REVIEW
    assert client.post(f"/api/v1/editor/tool-versions/{head}/publish").status_code == 403
    admin = api_client_for(UserFactory(admin=True))
    published = admin.post(
        f"/api/v1/editor/tool-versions/{head}/publish", {"text": "first release"}
    )
    assert published.json()["state"] == VersionState.ACTIVE
    tool.refresh_from_db()
    assert str(tool.active_version_id) == published.json()["version_id"]
    again = admin.post(f"/api/v1/editor/tool-versions/{head}/publish")
    assert again.json()["error"]["code"] == "WRONG_VERSION_STATE"


def test_validate_schemas_always_answers_200(client, tool):
    url = f"/api/v1/editor/tools/{tool.pk}/validate-schemas"
    ok = client.post(url, {"input_schema": [], "settings_schema": None}, format="json").json()
    assert ok == {"valid": True, "issues": []}
    bad = client.post(
        url,
        {"input_schema": [{"kind": "file", "name": "f", "label": "F", "min": 0, "max": 99}]},
        format="json",
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert any(issue["path"] == "/0/max" for issue in bad.json()["issues"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/editor/tools/nope",
        "/api/v1/editor/tool-versions/nope",
        "/api/v1/editor/tool-versions/00000000-0000-0000-0000-000000000000",
    ],
)
def test_bad_or_unknown_ids_are_4xx(client, path):
    assert client.get(path).status_code in (400, 404)


def test_hostile_draft_bodies_never_produce_a_5xx(client, tool):
    for body in (
        {"source_code": "x\x00"},
        {"source_code": 5},
        {"source_code": ""},
        {"input_schema": "not a list", "source_code": "x"},
        {"derived_from_version_id": "nope", "source_code": "x"},
    ):
        response = client.post(f"/api/v1/editor/tools/{tool.pk}/draft", body, format="json")
        assert 400 <= response.status_code < 500, (body, response.content)


def test_booting_a_version_also_needs_edit_permission(client, tool, api_client_for):
    head = first_draft(client, tool)
    member = UserFactory(contributor=True)
    projects_access.assign_role(user=member, project=tool.project, role=ProjectRole.EDITOR)
    assert api_client_for(member).get(f"/api/v1/editor/tool-versions/{head}").status_code == 403
    body = client.get(f"/api/v1/editor/tool-versions/{head}").json()
    assert (body["selected_version"]["id"], body["save_mode"]) == (head, "snapshot")


def test_a_release_naming_an_old_head_leaves_the_moved_lock_alone(client, tool):
    head = first_draft(client, tool)
    acquire(client, tool, head)
    new_head = save(client, head, source_code="x = 3").json()["version_id"]
    stale = client.delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock?draft_head_id={head}")
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "NOT_DRAFT_HEAD")
    assert DraftLock.objects.get(tool=tool).holder is not None
    current = client.delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock?draft_head_id={new_head}")
    assert current.status_code == 200
    assert DraftLock.objects.get(tool=tool).holder is None
    assert (
        client.delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock?draft_head_id=nope").status_code
        == 400
    )
