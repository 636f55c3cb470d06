"""The tool settings page `/tools/<id>/settings` through Django's client: who sees it, each form
and the service it calls, errors at the field with the input kept, admin-only forms, and no 5xx
for bad input."""

import re
import uuid

import pytest

from apps.projects.models import ProjectRole
from apps.tools import access
from apps.tools.models import Category, MaintainerChange, Profession, Tool
from tests.clients import client_for
from tests.factories import UserFactory, make_project
from tests.factories.tools import make_draft, make_publishable, make_tool

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice):
    return {
        "maintainer": alice,
        "editor": UserFactory(email="eddie@example.com", contributor=True),
        "viewer": UserFactory(email="vera@example.com", contributor=True),
        "admin": UserFactory(email="root@example.com", admin=True),
        "superuser": UserFactory(email="su@example.com", superuser=True),
        "outsider": UserFactory(email="otto@example.com", contributor=True),
    }


@pytest.fixture
def tool(people):
    project = make_project(
        {
            people["maintainer"]: ProjectRole.OWNER,
            people["editor"]: ProjectRole.EDITOR,
            people["viewer"]: ProjectRole.VIEWER,
        }
    )
    tool = make_tool(owner=people["maintainer"], project=project, title="Reading list")
    make_draft(tool, people["maintainer"])
    tool.refresh_from_db()
    return tool


@pytest.fixture
def taxonomy(db):
    return {
        "teacher": Profession.objects.create(slug="teacher", label="Teacher"),
        "librarian": Profession.objects.create(slug="librarian", label="Librarian"),
        "grading": Category.objects.create(slug="grading", label="Grading"),
        "planning": Category.objects.create(slug="planning", label="Planning"),
    }


def main_of(response):
    return re.search(r"<main>(.*)</main>", response.content.decode(), re.S).group(1)


def url(tool):
    return f"/tools/{tool.pk}/settings"


def post(client, tool, form, **data):
    return client.post(url(tool), {"form": form, **data})


def admin_client(people):
    return client_for(people["admin"])


# --- Who sees the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("maintainer", 200),
        ("admin", 200),
        ("superuser", 200),
        ("editor", 404),  # a project editor who does not maintain the tool
        ("viewer", 404),
        ("outsider", 404),
    ],
)
def test_maintainers_and_admins_see_the_page_everyone_else_the_same_404(tool, people, who, status):
    response = client_for(people[who]).get(url(tool))
    assert response.status_code == status
    if status == 404:
        missing = client_for(people[who]).get(f"/tools/{uuid.uuid4()}/settings")
        assert missing.status_code == 404
        # The page's main part (the top bar carries a fresh CSRF token).
        assert main_of(response) == main_of(missing)
        assert "This page does not exist" in main_of(response)


def test_signed_out_visitors_are_sent_to_sign_in(tool, client):
    response = client.get(url(tool))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_page_shows_every_section_with_its_anchor_and_the_slug_rules(tool, people, taxonomy):
    html = admin_client(people).get(url(tool)).content.decode()
    for anchor in ("slug", "taxonomy", "professions", "categories", "maintainers", "publishing"):
        assert f'id="{anchor}"' in html
    assert "joined by single hyphens" in html
    assert 'id="slug-preview"' in html
    assert "Teacher" in html and "Planning" in html
    assert "alice@example.com" in html


def test_a_maintainer_sets_slug_and_taxonomy_of_an_unpublished_tool_and_only_sees_the_rest(
    tool, people, taxonomy
):
    html = client_for(people["maintainer"]).get(url(tool)).content.decode()
    assert 'id="admin-only-note"' in html
    assert 'id="slug-form"' in html
    assert '<fieldset id="professions" >' in html
    for form_id in ("maintainer-add-form", "publish-form"):
        assert f'id="{form_id}"' not in html
    assert "Remove alice@example.com" not in html
    client = client_for(people["maintainer"])
    assert post(client, tool, "slug", slug="reading-list").status_code == 302
    teacher = str(taxonomy["teacher"].pk)
    assert post(client, tool, "taxonomy", professions=[teacher]).status_code == 302
    fresh = Tool.objects.get(pk=tool.pk)
    assert fresh.slug == "reading-list"
    assert list(fresh.professions.values_list("pk", flat=True)) == [taxonomy["teacher"].pk]


def test_once_published_a_maintainer_sees_slug_and_taxonomy_read_only(tool, people, taxonomy):
    Tool.objects.filter(pk=tool.pk).update(is_published=True, slug="fixed")
    client = client_for(people["maintainer"])
    html = client.get(url(tool)).content.decode()
    assert 'id="slug-form"' not in html
    assert '<fieldset id="professions" disabled>' in html
    teacher = str(taxonomy["teacher"].pk)
    response = post(client, tool, "taxonomy", professions=[teacher])
    assert response.status_code == 403
    assert "only global admins" in response.content.decode()
    assert not Tool.objects.get(pk=tool.pk).professions.exists()


@pytest.mark.parametrize(
    ("form", "data"),
    [
        ("maintainer-add", {"email": "eddie@example.com"}),
        ("maintainer-remove", {"user_id": "ALICE"}),
        ("publish", {}),
        ("depublish", {}),
    ],
)
def test_a_maintainer_who_is_not_admin_is_refused_by_the_service_and_nothing_changes(
    tool, people, taxonomy, form, data
):
    data = {
        key: [str(taxonomy["teacher"].pk)]
        if value == ["PROFESSION"]
        else str(people["maintainer"].pk)
        if value == "ALICE"
        else value
        for key, value in data.items()
    }
    response = post(client_for(people["maintainer"]), tool, form, **data)
    assert response.status_code == 403
    assert "admin" in response.content.decode()
    fresh = Tool.objects.get(pk=tool.pk)
    assert (fresh.slug, fresh.is_published) == (tool.slug, False)
    assert not fresh.professions.exists()
    assert access.maintainers_of(fresh).count() == 1


# --- Slug ---------------------------------------------------------------------------------------


def test_an_admin_sets_the_slug_and_is_sent_back_to_its_section(tool, people):
    client = admin_client(people)
    response = post(client, tool, "slug", slug="  Reading-List  ")
    assert response.status_code == 302
    assert response["Location"].endswith(f"{url(tool)}#slug")
    assert Tool.objects.get(pk=tool.pk).slug == "reading-list"
    page = client.get(response["Location"]).content.decode()
    assert "The slug is now “reading-list”." in page


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Bad Slug!", "joined by single hyphens"),
        ("-start", "joined by single hyphens"),
        ("draft-mine", "reserved for new tools"),
        ("x" * 1000, "at most 128 characters"),
        ("bad\x00slug", "Null characters are not allowed."),
        ("", "This field is required."),
        ("é-tool", "joined by single hyphens"),
    ],
)
def test_a_bad_slug_is_told_at_the_field_and_kept_in_it(tool, people, slug, message):
    response = post(admin_client(people), tool, "slug", slug=slug)
    assert response.status_code == 400
    html = response.content.decode()
    slug_section = html[html.index('id="slug"') : html.index('id="taxonomy"')]
    assert message in slug_section
    if slug and "\x00" not in slug and len(slug) <= 128:
        assert f'value="{slug.strip()}"' in slug_section
    assert Tool.objects.get(pk=tool.pk).slug == tool.slug


def test_a_slug_taken_in_the_project_is_told_at_the_field(tool, people):
    other = make_tool(owner=people["maintainer"], project=tool.project, title="Other")
    Tool.objects.filter(pk=other.pk).update(slug="taken")
    response = post(admin_client(people), tool, "slug", slug="taken")
    assert response.status_code == 400
    assert "Another tool of this project already uses this slug." in response.content.decode()
    assert 'value="taken"' in response.content.decode()


def test_the_slug_of_a_published_tool_cannot_change(tool, people):
    Tool.objects.filter(pk=tool.pk).update(is_published=True, slug="fixed")
    html = admin_client(people).get(url(tool)).content.decode()
    assert 'id="slug-form"' not in html
    assert "its slug is fixed" in html
    response = post(admin_client(people), tool, "slug", slug="another")
    assert response.status_code == 400
    assert "cannot change" in response.content.decode()


# --- Professions and categories -------------------------------------------------------------------


def test_an_admin_sets_professions_and_categories(tool, people, taxonomy):
    response = post(
        admin_client(people),
        tool,
        "taxonomy",
        professions=[taxonomy["teacher"].pk, taxonomy["librarian"].pk],
        categories=[taxonomy["planning"].pk],
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#taxonomy")
    fresh = Tool.objects.get(pk=tool.pk)
    assert set(fresh.professions.values_list("slug", flat=True)) == {"teacher", "librarian"}
    assert list(fresh.categories.values_list("slug", flat=True)) == ["planning"]
    html = admin_client(people).get(url(tool)).content.decode()
    assert f'value="{taxonomy["teacher"].pk}" id="id_professions_' in html
    assert html.count("checked") == 3


def test_an_empty_selection_clears_the_taxonomy(tool, people, taxonomy):
    make_publishable(tool)
    assert post(admin_client(people), tool, "taxonomy").status_code == 302
    assert not Tool.objects.get(pk=tool.pk).professions.exists()


@pytest.mark.parametrize("bad", ["999999", "abc", "1\x00", "-1", "9" * 40])
def test_unknown_or_malformed_taxonomy_ids_are_told_at_the_field(tool, people, taxonomy, bad):
    response = post(
        admin_client(people),
        tool,
        "taxonomy",
        professions=[taxonomy["teacher"].pk, bad],
        categories=[taxonomy["grading"].pk],
    )
    assert response.status_code == 400
    html = response.content.decode()
    section = html[html.index('id="professions"') : html.index('id="categories"')]
    assert "errorlist" in section
    # What was ticked stays ticked.
    teacher = re.search(rf'<input[^>]*value="{taxonomy["teacher"].pk}"[^>]*>', section).group(0)
    assert "checked" in teacher
    assert not Tool.objects.get(pk=tool.pk).professions.exists()


# --- Maintainers ----------------------------------------------------------------------------------


def test_an_admin_adds_a_maintainer_by_email_with_an_audited_reason(tool, people):
    response = post(
        admin_client(people),
        tool,
        "maintainer-add",
        email="EDDIE@example.com",
        reason="helps with the reading lists",
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#maintainers")
    assert access.is_maintainer(user=people["editor"], tool=tool)
    change = MaintainerChange.objects.filter(tool=tool).latest("id")
    assert (change.user, change.action, change.performed_by, change.reason) == (
        people["editor"],
        "assigned",
        people["admin"],
        "helps with the reading lists",
    )
    html = admin_client(people).get(url(tool)).content.decode()
    assert "eddie@example.com assigned" in html
    assert "helps with the reading lists" in html


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.com", "No active user has this email address."),
        ("plain@example.com", "Maintainers need the global role contributor or higher."),
        ("su@example.com", "Only a superuser may change"),
        ("not an email", "Enter a valid email address."),
        ("a\x00@example.com", "Null characters are not allowed."),
        ("x" * 300 + "@example.com", "at most 254 characters"),
    ],
)
def test_a_refused_maintainer_is_told_at_the_email_field_and_kept(tool, people, email, message):
    UserFactory(email="plain@example.com")
    response = post(admin_client(people), tool, "maintainer-add", email=email)
    assert response.status_code in (400, 403)
    html = response.content.decode()
    section = html[html.index('id="maintainers"') : html.index('id="publishing"')]
    assert message in section
    if "\x00" not in email and len(email) < 254:
        assert f'value="{email}"' in section
    assert access.maintainers_of(tool).count() == 1


def test_adding_an_existing_maintainer_changes_nothing(tool, people):
    before = MaintainerChange.objects.count()
    response = post(admin_client(people), tool, "maintainer-add", email="alice@example.com")
    assert response.status_code == 302
    assert MaintainerChange.objects.count() == before


def test_an_admin_removes_a_maintainer_audited(tool, people):
    access.assign_maintainer(user=people["editor"], tool=tool)
    response = post(
        admin_client(people), tool, "maintainer-remove", user_id=str(people["editor"].pk)
    )
    assert response.status_code == 302
    assert not access.is_maintainer(user=people["editor"], tool=tool)
    assert MaintainerChange.objects.filter(tool=tool, action="removed").count() == 1


def test_removing_the_owner_needs_a_superuser(tool, people):
    owner = str(people["maintainer"].pk)
    response = post(admin_client(people), tool, "maintainer-remove", user_id=owner)
    assert response.status_code == 403
    assert "Only a superuser" in response.content.decode()
    assert access.is_maintainer(user=people["maintainer"], tool=tool)
    # The admin's page offers no Remove button for the owner; a superuser's does.
    assert "Remove alice@example.com" not in admin_client(people).get(url(tool)).content.decode()
    superuser = client_for(people["superuser"])
    assert "Remove alice@example.com" in superuser.get(url(tool)).content.decode()
    assert post(superuser, tool, "maintainer-remove", user_id=owner).status_code == 302


@pytest.mark.parametrize("user_id", ["OTTO", "999999", "abc", "0", "1\x00", "9" * 40, ""])
def test_removing_someone_who_is_not_a_maintainer_is_a_clear_error(tool, people, user_id):
    if user_id == "OTTO":
        user_id = str(people["outsider"].pk)
    response = post(admin_client(people), tool, "maintainer-remove", user_id=user_id)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="maintainer-remove-errors"' in html
    assert "errorlist" in html[html.index('id="maintainer-remove-errors"') :]
    assert access.maintainers_of(tool).count() == 1


# --- Publishing -----------------------------------------------------------------------------------


def _with_active_version(tool, admin):
    from apps.tools import services

    make_publishable(tool)
    tool.refresh_from_db()
    version = services.submit_for_review(version=tool.draft_head, actor=admin)
    services.publish_version(version=version, actor=admin)
    tool.refresh_from_db()
    return tool


def test_an_admin_publishes_and_depublishes(tool, people):
    tool = _with_active_version(tool, people["admin"])
    response = post(admin_client(people), tool, "publish")
    assert (response.status_code, response["Location"].endswith("#publishing")) == (302, True)
    assert Tool.objects.get(pk=tool.pk).is_published
    assert "Depublish" in admin_client(people).get(url(tool)).content.decode()
    assert post(admin_client(people), tool, "depublish").status_code == 302
    assert not Tool.objects.get(pk=tool.pk).is_published


def test_publishing_without_an_active_version_is_told_in_its_section(tool, people):
    response = post(admin_client(people), tool, "publish")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The tool has no active version to publish." in html[html.index('id="publishing"') :]
    assert not Tool.objects.get(pk=tool.pk).is_published


# --- Anything else ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["", "nope", "slug\x00", "x" * 1000])
def test_an_unknown_form_changes_nothing(tool, people, form):
    response = client_for(people["admin"]).post(url(tool), {"form": form, "slug": "new"})
    assert response.status_code == 400
    assert Tool.objects.get(pk=tool.pk).slug == tool.slug


@pytest.mark.parametrize("tool_id", ["not-a-uuid", "1", "%00"])
def test_malformed_tool_ids_are_404(people, tool_id):
    assert client_for(people["admin"]).get(f"/tools/{tool_id}/settings").status_code == 404


def test_the_editor_and_the_tool_list_link_to_the_settings(tool, people):
    client = client_for(people["maintainer"])
    assert f'href="{url(tool)}"' in client.get(f"/tools/{tool.pk}/edit").content.decode()
    listing = client.get(f"/projects/{tool.project_id}/tools").content.decode()
    assert f'href="{url(tool)}"' in listing
    # A project editor who does not maintain the tool gets no link to a page they cannot open.
    other = client_for(people["editor"]).get(f"/projects/{tool.project_id}/tools")
    assert f'href="{url(tool)}"' not in other.content.decode()
