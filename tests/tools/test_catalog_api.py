"""Metadata, slug, taxonomy, maintainers and tool publishing through HTTP: admin actions, but
the slug and taxonomy of an unpublished tool are its maintainers' to set too."""

import pytest

from apps.projects import access as projects_access
from apps.projects.models import ProjectRole
from apps.tools import services
from apps.tools.models import Category, MaintainerChange, Profession
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(contributor=True)


@pytest.fixture
def tool(owner):
    return make_tool(owner=owner)


@pytest.fixture
def admin(tool):
    admin = UserFactory(admin=True)
    projects_access.assign_role(user=admin, project=tool.project, role=ProjectRole.ADMIN)
    return admin


def url(tool, suffix):
    return f"/api/v1/editor/tools/{tool.pk}/{suffix}"


def test_metadata_and_slug_are_admin_actions(tool, owner, admin, api_client_for):
    maintainer = api_client_for(owner)
    assert (
        maintainer.patch(url(tool, "metadata"), {"title": "New"}).json()["error"]["code"]
        == "ADMIN_REQUIRED"
    )
    client = api_client_for(admin)
    body = client.patch(url(tool, "metadata"), {"title": " Renamed ", "summary": "Short"}).json()
    assert (body["title"], body["summary"]) == ("Renamed", "Short")
    assert client.patch(url(tool, "metadata"), {"title": "Only title"}).json()["summary"] == "Short"
    assert (
        client.patch(url(tool, "slug"), {"slug": "Reading-List"}).json()["slug"] == "reading-list"
    )
    bad = client.patch(url(tool, "slug"), {"slug": "no spaces"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "INVALID_SLUG")


def test_maintainers_set_slug_and_taxonomy_until_the_tool_is_published(
    tool, owner, admin, api_client_for
):
    teacher = Profession.objects.create(slug="teacher", label="Teacher")
    maintainer = api_client_for(owner)
    assert maintainer.patch(url(tool, "slug"), {"slug": "seating"}).json()["slug"] == "seating"
    body = {"profession_ids": [teacher.pk], "category_ids": []}
    answer = maintainer.patch(url(tool, "taxonomy"), body, format="json")
    assert answer.json()["profession_ids"] == [teacher.pk]
    outsider = api_client_for(UserFactory(contributor=True))
    assert outsider.patch(url(tool, "slug"), {"slug": "mine"}).status_code == 404
    type(tool).objects.filter(pk=tool.pk).update(is_published=True)
    refused = maintainer.patch(url(tool, "taxonomy"), body, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "ADMIN_REQUIRED")
    assert (
        api_client_for(admin).patch(url(tool, "taxonomy"), body, format="json").status_code == 200
    )


def test_taxonomy_round_trip_and_unknown_ids(tool, admin, api_client_for):
    teacher = Profession.objects.create(slug="teacher", label="Teacher")
    grading = Category.objects.create(slug="grading", label="Grading")
    client = api_client_for(admin)
    body = {"profession_ids": [teacher.pk], "category_ids": [grading.pk]}
    assert client.patch(url(tool, "taxonomy"), body, format="json").json()["category_ids"] == [
        grading.pk
    ]
    assert client.get(url(tool, "taxonomy")).json()["profession_ids"] == [teacher.pk]
    unknown = client.patch(
        url(tool, "taxonomy"), {"profession_ids": [999], "category_ids": []}, format="json"
    )
    assert unknown.status_code == 422


@pytest.mark.parametrize("bad", [["x"], [None], [True, 1]])
def test_a_bad_list_item_is_a_422_naming_its_position(tool, admin, api_client_for, bad):
    body = {"profession_ids": bad, "category_ids": []}
    response = api_client_for(admin).patch(url(tool, "taxonomy"), body, format="json")
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert "0" in fields["profession_ids"]


def test_maintainers_are_listed_added_and_removed_with_audit(tool, owner, admin, api_client_for):
    helper = UserFactory(contributor=True, email="helper@example.com")
    client = api_client_for(admin)
    listed = client.post(
        url(tool, "maintainers"), {"email": "Helper@Example.com", "reason": "joins"}
    ).json()
    assert listed["owner_user_id"] == owner.pk
    assert {m["email"] for m in listed["maintainers"]} == {owner.email, "helper@example.com"}
    assert client.post(url(tool, "maintainers"), {"email": UserFactory().email}).status_code == 422
    removed = client.delete(url(tool, f"maintainers/{helper.pk}"))
    assert [m["email"] for m in removed.json()["maintainers"]] == [owner.email]
    assert (
        client.delete(url(tool, f"maintainers/{owner.pk}")).json()["error"]["code"]
        == "SUPERUSER_REQUIRED"
    )
    assert client.delete(url(tool, "maintainers/abc")).status_code == 400
    assert MaintainerChange.objects.filter(tool=tool, user=helper).count() == 2


def test_publishing_the_tool_needs_an_active_version(tool, owner, admin, api_client_for):
    client = api_client_for(admin)
    refused = client.post(url(tool, "publish"))
    assert refused.status_code == 422
    make_draft(tool, owner)
    tool.refresh_from_db()
    tool.professions.add(Profession.objects.create(slug="t", label="T"))
    tool.categories.add(Category.objects.create(slug="c", label="C"))
    services.update_slug(tool=tool, actor=admin, slug="ready")
    version = services.submit_for_review(version=tool.draft_head, actor=owner)
    services.publish_version(version=version, actor=admin)
    assert client.post(url(tool, "publish")).json()["is_published"] is True
    assert client.post(url(tool, "depublish")).json()["is_published"] is False
