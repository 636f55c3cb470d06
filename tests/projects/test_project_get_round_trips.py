"""GET /api/v1/projects/{id} with a Bearer token is one SQL statement and one Redis call, and the
credential and membership rules still hold on that path at once (issue 15)."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.projects import access as project_access
from apps.projects import services as project_services
from apps.projects.models import ProjectRole
from tests.factories import ApiTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(bob):
    return ApiTokenFactory(user=bob)


def bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def path(project):
    return f"/api/v1/projects/{project.pk}"


def test_a_project_get_is_one_sql_statement(project, token):
    client = bearer(token.secret)
    client.get(path(project))  # the first use records last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path(project))
    assert response.status_code == 200
    assert response.json()["id"] == str(project.pk)
    assert response.json()["role"] == "editor"
    assert len(queries.captured_queries) == 1, queries.captured_queries


def test_an_unknown_project_is_one_statement_and_404(token):
    client = bearer(token.secret)
    client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert len(queries.captured_queries) == 1


def test_a_malformed_id_is_still_400_and_bad_tokens_still_401_first(project, token):
    assert bearer(token.secret).get("/api/v1/projects/nope").status_code == 400
    assert bearer(token.secret + "x").get("/api/v1/projects/nope").status_code == 401
    assert bearer(token.secret + "x").get(path(project)).status_code == 401


def test_revocation_takes_effect_at_once(project, token):
    client = bearer(token.secret)
    assert client.get(path(project)).status_code == 200
    account_services.revoke_api_token(token=token)
    assert client.get(path(project)).status_code == 401


def test_deactivation_takes_effect_at_once(project, token, bob):
    client = bearer(token.secret)
    assert client.get(path(project)).status_code == 200
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert client.get(path(project)).status_code == 401


@pytest.mark.parametrize("shift", [timedelta(hours=-2), timedelta(hours=2)])
def test_expiry_is_decided_by_the_database_clock(project, token, shift):
    client = bearer(token.secret)
    for interval, status in (("1 hour", 200), ("-1 second", 401)):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_apitoken SET expires_at = now() + %s::interval WHERE id = %s",
                [interval, token.pk],
            )
        with time_machine.travel(timezone.now() + shift):
            assert client.get(path(project)).status_code == status


def test_membership_changes_take_effect_at_once(project, token, bob):
    client = bearer(token.secret)
    project_access.assign_role(user=bob, project=project, role=ProjectRole.ADMIN)
    assert client.get(path(project)).json()["role"] == "admin"
    project_access.revoke_role(user=bob, project=project)
    assert client.get(path(project)).status_code == 404


def test_a_project_scheduled_for_deletion_is_404(project, alice):
    client = bearer(ApiTokenFactory(user=alice).secret)
    project_services.schedule_project_deletion(project=project, actor=alice)
    assert client.get(path(project)).status_code == 404


def test_run_tokens_are_still_refused(project, alice):
    _, secret = account_services.create_run_token(
        user=alice,
        project_id=project.pk,
        project_role="owner",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert bearer(secret).get(path(project)).status_code == 401


def test_an_outsider_gets_404(project):
    outsider = ApiTokenFactory(user=UserFactory())
    assert bearer(outsider.secret).get(path(project)).status_code == 404
