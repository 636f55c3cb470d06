"""Signing in, using the pages and signing out do not depend on Redis (SPEC §9: never a 5xx)."""

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory, UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_pages_and_sign_out_work_while_redis_is_down(redis_down, project):
    admin = UserFactory(admin=True)
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"  # each role's landing page (portal.views.catalog.home)
    assert client.get("/")["Location"] == "/projects/"
    for url in ("/projects/", "/tools/", "/accounts/tokens/", "/admin/", "/admin/accounts/user/"):
        assert client.get(url).status_code == 200, url

    # A form post with CSRF, and a message carried in the session to the next page.
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {"username": admin.email, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 302
    csrf = client.cookies["csrftoken"].value  # rotated on sign-in
    token = ApiTokenFactory(user=admin, name="laptop")
    response = client.post(
        f"/accounts/tokens/{token.pk}/revoke", {"csrfmiddlewaretoken": csrf}, follow=True
    )
    assert response.status_code == 200
    assert "Token “laptop” revoked." in response.content.decode()

    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert client.get("/projects/").status_code == 302  # signed out: back to the login page


def test_the_admin_sign_in_works_while_redis_is_down(redis_down):
    admin = UserFactory(admin=True)
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_api_still_answers_bearer_requests_while_redis_is_down(redis_down, api_client_for):
    client = api_client_for(UserFactory(contributor=True))
    assert client.get("/api/v1/projects").status_code == 200


def test_a_project_owners_pages_work_while_redis_is_down(redis_down, alice, project):
    client = Client()
    response = client.post("/accounts/login/", {"username": alice.email, "password": PASSWORD})
    assert response.status_code == 302
    for url in (
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/tools",
        f"/projects/{project.pk}/collections/",
        f"/projects/{project.pk}/merges/",
        "/api/docs/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/api/v1/projects/{project.pk}").status_code == 200  # session + throttle
