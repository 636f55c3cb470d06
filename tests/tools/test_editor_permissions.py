"""Reference §5.1 role matrix for the editor endpoints, through HTTP."""

import pytest

from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.tools import access, services
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db

PERSONAS = ("user", "contributor", "maintainer", "admin", "superuser")


@pytest.fixture
def world():
    owner = UserFactory(contributor=True)
    tool = make_tool(owner=owner)
    people = {
        "user": UserFactory(),
        "contributor": UserFactory(contributor=True),
        "maintainer": UserFactory(contributor=True),
        "admin": UserFactory(admin=True),
        "superuser": UserFactory(superuser=True),
    }
    for user in people.values():
        projects_access.assign_role(user=user, project=tool.project, role=ProjectRole.EDITOR)
    access.assign_maintainer(user=people["maintainer"], tool=tool)
    make_draft(tool, owner)
    tool.refresh_from_db()
    return {"tool": tool, "people": people, "owner": owner}


def expect(persona, allowed):
    return 200 if persona in allowed else 403


EDIT = {"maintainer", "admin", "superuser"}


@pytest.mark.parametrize("persona", PERSONAS)
def test_boot_lock_and_schema_validation_need_edit_permission(world, persona, api_client_for):
    client, tool = api_client_for(world["people"][persona]), world["tool"]
    assert client.get(f"/api/v1/editor/tools/{tool.pk}").status_code == expect(persona, EDIT)
    lock = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock",
        {"draft_head_id": str(tool.draft_head_id)},
        format="json",
    )
    assert lock.status_code == expect(persona, EDIT)
    schemas = client.post(
        f"/api/v1/editor/tools/{tool.pk}/validate-schemas", {"input_schema": []}, format="json"
    )
    assert schemas.status_code == expect(persona, EDIT)


@pytest.mark.parametrize("persona", PERSONAS)
def test_saving_needs_edit_permission_and_the_lock(world, persona, api_client_for):
    user, tool = world["people"][persona], world["tool"]
    client = api_client_for(user)
    if persona in EDIT:
        services.acquire_draft_lock(tool=tool, actor=user, draft_head_id=tool.draft_head_id)
    head = str(tool.draft_head_id)
    body = {"expected_parent_version_id": head, "source_code": f"x = '{persona}'"}
    response = client.post(f"/api/v1/editor/tool-versions/{head}/save", body, format="json")
    assert response.status_code == expect(persona, EDIT), response.content


@pytest.mark.parametrize("persona", PERSONAS)
def test_publishing_and_requesting_changes_are_for_admins(world, persona, api_client_for):
    tool, owner = world["tool"], world["owner"]
    make_publishable(tool)
    in_review = services.submit_for_review(version=tool.draft_head, actor=owner)
    client = api_client_for(world["people"][persona])
    publish = client.post(f"/api/v1/editor/tool-versions/{in_review.pk}/publish")
    assert publish.status_code == expect(persona, {"admin", "superuser"})


@pytest.mark.parametrize("persona", PERSONAS)
def test_rollback_is_for_superusers(world, persona, api_client_for):
    tool, owner, admin = world["tool"], world["owner"], world["people"]["admin"]
    make_publishable(tool)
    first = services.submit_for_review(version=tool.draft_head, actor=owner)
    services.publish_version(version=first, actor=admin)
    make_draft(tool, owner)
    tool.refresh_from_db()
    services.publish_version(
        version=services.submit_for_review(version=tool.draft_head, actor=owner), actor=admin
    )
    response = api_client_for(world["people"][persona]).post(
        f"/api/v1/editor/tool-versions/{first.pk}/rollback"
    )
    assert response.status_code == expect(persona, {"superuser"})


def test_a_maintainer_who_leaves_the_project_loses_the_editor(world, api_client_for):
    maintainer, tool = world["people"]["maintainer"], world["tool"]
    projects_access.revoke_role(user=maintainer, project=tool.project)
    assert api_client_for(maintainer).get(f"/api/v1/editor/tools/{tool.pk}").status_code == 404
