"""Project pages through Django's client: the deletion confirmation, the restore page, refused
forms shown at their fields, and the staff's projects page."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.projects import services
from apps.projects.models import Project
from apps.sandbox_projects import services as sandboxes
from tests.clients import client_for
from tests.factories import UserFactory
from tests.factories.projects import make_role_world

pytestmark = pytest.mark.django_db

ROLES = ("admin", "editor", "viewer")


@pytest.fixture
def world(alice):
    people, project = make_role_world(alice, name="Field notes")
    return {"people": people, "project": project}


def client_as(persona, world):
    return client_for(world["people"][persona])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def html_of(response):
    return response.content.decode()


def delete_url(project):
    return f"/projects/{project.pk}/delete"


def restore_url(project):
    return f"/projects/{project.pk}/restore"


def scheduled(project):
    project.refresh_from_db()
    return project.deletion_scheduled_at is not None


# --- Schedule deletion: confirm first ------------------------------------------------------------


def test_the_project_page_links_to_the_confirmation_and_has_no_one_click_delete(world):
    html = html_of(client_as("owner", world).get(f"/projects/{world['project'].pk}/"))
    section = re.search(
        r'<section class="card danger-zone" id="delete-project">.*?</section>', html, re.S
    )
    assert f'href="{delete_url(world["project"])}"' in section.group(0)
    assert "<form" not in section.group(0)


def test_the_confirmation_names_the_project_its_sandboxes_and_the_grace_period(world, settings):
    settings.PROJECT_DELETION_GRACE_DAYS = 7
    owner = world["people"]["owner"]
    sandboxes.provision_sandbox(parent=world["project"], actor=owner, name="Try-out")

    response = client_as("owner", world).get(delete_url(world["project"]))

    assert response.status_code == 200
    html = html_of(response)
    assert "Delete “Field notes”?" in html
    assert "<strong>7 days</strong>" in html
    assert re.search(r'<ul id="doomed-sandboxes"><li>Try-out</li></ul>', html)
    form = re.search(
        r'<form method="post" action="([^"]+)" class="button-row">.*?</form>', html, re.S
    )
    assert form.group(1) == delete_url(world["project"])
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert '<input type="hidden" name="confirm" value="1">' in form.group(0)
    assert not scheduled(world["project"])


def test_a_post_without_the_confirmation_only_shows_the_confirmation(world):
    response = client_as("owner", world).post(delete_url(world["project"]))

    assert response.status_code == 200
    assert "Delete “Field notes”?" in html_of(response)
    assert not scheduled(world["project"])


def test_confirming_schedules_the_deletion_and_opens_the_restore_page(world):
    response = client_as("owner", world).post(
        delete_url(world["project"]), {"confirm": "1"}, follow=True
    )

    assert response.redirect_chain == [("/projects/scheduled/", 302)]
    assert scheduled(world["project"])
    purge = world["project"].deletion_scheduled_at
    assert messages_of(response) == [
        f"“Field notes” is scheduled for deletion and will be purged on "
        f"{purge:%Y-%m-%d %H:%M} UTC. Restore it here until then."
    ]
    assert '<tr data-name="Field notes">' in html_of(response)


@pytest.mark.parametrize("persona", ROLES)
def test_only_owners_reach_the_confirmation_or_schedule(world, persona):
    client = client_as(persona, world)
    page = f"http://testserver/projects/{world['project'].pk}/"

    shown = client.get(delete_url(world["project"]), HTTP_REFERER=page, follow=True)
    posted = client.post(
        delete_url(world["project"]), {"confirm": "1"}, HTTP_REFERER=page, follow=True
    )

    for response in (shown, posted):
        assert response.redirect_chain == [(page, 302)]
        assert messages_of(response) == ["This action needs the project role owner or higher."]
    assert not scheduled(world["project"])


def test_outsiders_and_anonymous_people_get_nothing(world):
    outsider = client_as("outsider", world)
    assert outsider.get(delete_url(world["project"])).status_code == 404
    assert outsider.post(delete_url(world["project"]), {"confirm": "1"}).status_code == 404
    anonymous = Client().post(delete_url(world["project"]), {"confirm": "1"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert not scheduled(world["project"])


def test_scheduling_needs_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["people"]["owner"])
    assert client.post(delete_url(world["project"]), {"confirm": "1"}).status_code == 403
    assert not scheduled(world["project"])


# --- The restore page -----------------------------------------------------------------------------


def schedule(project, actor):
    return services.schedule_project_deletion(project=project, actor=actor)


def test_the_project_list_links_to_the_restore_page_with_a_count(world):
    html = html_of(client_as("owner", world).get("/projects/"))
    assert 'href="/projects/scheduled/"' in html and "(none of yours)" in html

    schedule(world["project"], world["people"]["owner"])
    html = html_of(client_as("owner", world).get("/projects/"))
    assert re.search(
        r'href="/projects/scheduled/">[^<]+</a>\s*<span class="badge off">1</span>', html
    )


def test_owners_see_their_scheduled_projects_with_the_purge_time_and_a_restore_button(world):
    project = schedule(world["project"], world["people"]["owner"])

    html = html_of(client_as("owner", world).get("/projects/scheduled/"))

    row = re.search(r'<tr data-name="Field notes">.*?</tr>', html, re.S).group(0)
    assert f"{project.deletion_scheduled_at:%Y-%m-%d %H:%M}" in row
    assert f'action="{restore_url(project)}"' in row
    assert 'aria-label="Restore Field notes"' in row


@pytest.mark.parametrize("persona", [*ROLES, "outsider"])
def test_other_people_do_not_see_the_scheduled_project(world, persona):
    schedule(world["project"], world["people"]["owner"])
    html = html_of(client_as(persona, world).get("/projects/scheduled/"))
    assert "Field notes" not in html
    assert "None of your projects is scheduled for deletion." in html


def test_restore_brings_the_project_back_and_opens_it(world):
    schedule(world["project"], world["people"]["owner"])

    response = client_as("owner", world).post(restore_url(world["project"]), follow=True)

    assert response.redirect_chain == [(f"/projects/{world['project'].pk}/", 302)]
    assert messages_of(response) == ["“Field notes” is restored."]
    assert not scheduled(world["project"])


@pytest.mark.parametrize("persona", ROLES)
def test_only_owners_restore(world, persona):
    schedule(world["project"], world["people"]["owner"])
    page = "http://testserver/projects/scheduled/"

    response = client_as(persona, world).post(
        restore_url(world["project"]), HTTP_REFERER=page, follow=True
    )

    assert response.redirect_chain == [(page, 302)]
    assert messages_of(response) == ["This action needs the project role owner or higher."]
    assert scheduled(world["project"])


def test_outsiders_get_not_found_when_restoring(world):
    schedule(world["project"], world["people"]["owner"])
    assert client_as("outsider", world).post(restore_url(world["project"])).status_code == 404
    assert scheduled(world["project"])


def test_after_the_grace_period_the_project_is_gone(world, api_client_for):
    owner = world["people"]["owner"]
    schedule(world["project"], owner)
    past = timezone.now() - timedelta(seconds=1)
    Project.objects.filter(pk=world["project"].pk).update(deletion_scheduled_at=past)

    html = html_of(client_as("owner", world).get("/projects/scheduled/"))
    assert "Field notes" not in html
    assert client_as("owner", world).post(restore_url(world["project"])).status_code == 404
    api = api_client_for(owner).post(f"/api/v1/projects/{world['project'].pk}/restore")
    assert api.status_code == 404
    assert scheduled(world["project"])


def test_a_taken_sandbox_name_is_refused_clearly(world):
    owner = world["people"]["owner"]
    sandbox = sandboxes.provision_sandbox(parent=world["project"], actor=owner, name="Try-out")
    schedule(sandbox, owner)
    sandboxes.provision_sandbox(parent=world["project"], actor=owner, name="Try-out")
    page = "http://testserver/projects/scheduled/"

    response = client_as("owner", world).post(restore_url(sandbox), HTTP_REFERER=page, follow=True)

    assert response.redirect_chain == [(page, 302)]
    assert messages_of(response) == [
        "“Try-out” cannot be restored: another live sandbox of the parent project took this name "
        "meanwhile. Rename that sandbox, then restore this one."
    ]
    assert scheduled(sandbox)
    assert '<tr data-name="Try-out">' in html_of(response)


def test_sandboxes_scheduled_with_their_parent_come_back_with_it(world):
    owner = world["people"]["owner"]
    sandbox = sandboxes.provision_sandbox(parent=world["project"], actor=owner, name="Try-out")
    schedule(world["project"], owner)

    html = html_of(client_as("owner", world).get("/projects/scheduled/"))
    row = re.search(r'<tr data-name="Try-out">.*?</tr>', html, re.S).group(0)
    assert "Comes back when “Field notes” is restored." in row
    assert "<form" not in row

    client_as("owner", world).post(restore_url(world["project"]))
    assert not scheduled(sandbox)


def test_a_sandbox_whose_parent_was_scheduled_later_waits_for_the_parent(world):
    owner = world["people"]["owner"]
    sandbox = sandboxes.provision_sandbox(parent=world["project"], actor=owner, name="Try-out")
    schedule(sandbox, owner)
    Project.objects.filter(pk=sandbox.pk).update(
        deletion_scheduled_at=timezone.now() + timedelta(days=3)
    )
    schedule(world["project"], owner)

    html = html_of(client_as("owner", world).get("/projects/scheduled/"))
    row = re.search(r'<tr data-name="Try-out">.*?</tr>', html, re.S).group(0)
    assert "Restore “Field notes” first." in row
    page = "http://testserver/projects/scheduled/"
    response = client_as("owner", world).post(restore_url(sandbox), HTTP_REFERER=page, follow=True)
    assert messages_of(response) == [
        "The parent project is scheduled for deletion; restore it first."
    ]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/projects/not-a-uuid/delete", 404),
        ("post", "/projects/not-a-uuid/restore", 404),
        ("post", "/projects/%00/restore", 404),
        ("get", "/projects/%00/delete", 404),
        ("post", "/projects/00000000-0000-0000-0000-000000000000/restore", 404),
        ("get", "/projects/00000000-0000-0000-0000-000000000000/restore", 405),
        ("get", "/projects/scheduled/?x=%00", 200),
    ],
)
def test_bad_ids_and_nul_bytes_are_never_a_server_error(world, method, path, status):
    response = getattr(client_as("owner", world), method)(path)
    assert response.status_code == status


def test_a_nul_byte_in_the_confirmation_is_only_no_confirmation(world):
    response = client_as("owner", world).post(delete_url(world["project"]), {"confirm": "1\x00"})
    assert response.status_code == 200
    assert not scheduled(world["project"])


# --- Refused forms: errors at the fields, input kept ----------------------------------------------


def member_form(response):
    return re.search(r'<form[^>]*id="add-member".*?</form>', html_of(response), re.S).group(0)


def add_member(world, persona="owner", **data):
    url = f"/projects/{world['project'].pk}/members/add"
    return client_as(persona, world).post(url, data)


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        (
            {"email": "nobody@example.com", "role": "editor"},
            "email",
            "No active user has this email address.",
        ),
        (
            {"email": "vera@example.com", "role": "editor"},
            "email",
            "This user is already a member of the project.",
        ),
        ({"email": "not-an-email", "role": "editor"}, "email", "Enter a valid email address."),
    ],
)
def test_a_refused_member_is_shown_at_the_field_with_the_input_kept(world, data, field, error):
    response = add_member(world, **data)

    assert response.status_code == 400
    assert messages_of(response) == []
    form = member_form(response)
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{error}</li></ul>' in form
    email = re.search(r'<input type="email" name="email"[^>]*>', form).group(0)
    assert f'value="{data["email"]}"' in email
    assert 'aria-invalid="true"' in email and "autofocus" in email
    assert '<option value="editor" selected>' in form


def test_granting_the_owner_role_without_being_owner_is_shown_at_the_role(world):
    UserFactory(email="nina@example.com")
    response = add_member(world, "admin", email="nina@example.com", role="owner")

    assert response.status_code == 400
    form = member_form(response)
    assert "Only an owner can grant, change or remove the owner role." in re.search(
        r'id="id_role_error">(.*?)</ul>', form
    ).group(1)
    assert 'value="nina@example.com"' in form


def test_a_refused_settings_form_keeps_what_was_typed(world):
    url = f"/projects/{world['project'].pk}/"
    data = {"name": "", "description": "New words", "colour": "#123456"}

    response = client_as("owner", world).post(url, data)

    assert response.status_code == 400
    html = html_of(response)
    settings_form = re.search(
        r'<section class="card" id="settings">.*?</section>', html, re.S
    ).group(0)
    assert (
        '<ul class="errorlist" id="id_name_error"><li>This field is required.</li></ul>'
        in settings_form
    )
    assert re.search(r">\s*New words</textarea>", settings_form)
    assert 'value="#123456"' in settings_form
    world["project"].refresh_from_db()
    assert world["project"].description != "New words"


# --- The staff's projects page --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_platform_staff_are_told_what_they_can_do_and_get_the_admin(role):
    staff = UserFactory(**{role: True})

    response = client_for(staff).get("/", follow=True)

    assert response.redirect_chain == [("/projects/", 302)]
    html = html_of(response)
    section = re.search(
        r'<section class="card highlight" id="staff-overview">.*?</section>', html, re.S
    )
    text = section.group(0)
    assert "You are platform staff" in text
    assert "see every live project's tools and runs" in text
    assert 'href="/admin/" id="admin-link"' in text
    assert 'href="/tools/"' in text
    assert "/admin/tools/toolversion/?state__exact=in_review" in text
    assert "/admin/locks/draftlock/" in text
    assert "You are not a member of any project yet." not in html


def test_the_review_queue_is_linked_once_it_exists(monkeypatch):
    from apps.projects import views

    staff = UserFactory(superuser=True)
    html = html_of(client_for(staff).get("/projects/"))
    has_queue = views._review_queue_url() is not None
    assert ('id="review-queue-link"' in html) is has_queue

    monkeypatch.setattr(views, "_review_queue_url", lambda: "/review/")
    html = html_of(client_for(staff).get("/projects/"))
    assert '<a href="/review/" id="review-queue-link">Review queue</a>' in html


def test_people_who_are_not_staff_see_no_staff_section(alice):
    html = html_of(client_for(alice).get("/projects/"))
    assert "staff-overview" not in html
    assert "You are not a member of any project yet." in html
