"""A draft lock heartbeat refreshes in one UPDATE (after the token check), and every case that
is not a plain refresh of the caller's own live lock still gets its usual answer (issue 15)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.locks.models import DraftLock, DraftLockEvent
from apps.projects import access as projects_access
from apps.projects import services as project_services
from apps.projects.models import ProjectRole
from apps.tools import access
from apps.tools.models import Tool
from tests.factories import ApiTokenFactory, UserFactory, make_project
from tests.factories.tools import SOURCE

pytestmark = pytest.mark.django_db


@pytest.fixture
def author():
    return UserFactory(contributor=True, email="author@example.com")


@pytest.fixture
def project(author):
    return make_project({author: ProjectRole.OWNER})


@pytest.fixture
def token(author):
    return ApiTokenFactory(user=author)


@pytest.fixture
def client(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    return client


@pytest.fixture
def tool(client, project):
    body = client.post(f"/api/v1/projects/{project.pk}/tools", {"title": "Reading list"}).json()
    return Tool.objects.get(pk=body["id"])


@pytest.fixture
def head(client, tool):
    response = client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft", {"source_code": SOURCE}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()["version_id"]


def heartbeat(client, tool, head, **extra):
    return client.post(
        f"/api/v1/editor/tools/{tool.pk}/draft-lock",
        {"draft_head_id": head, **extra},
        format="json",
    )


@pytest.fixture
def held(client, tool, head):
    response = heartbeat(client, tool, head)
    assert response.status_code == 200
    return response.json()


def lock_row(tool):
    return DraftLock.objects.values("holder_id", "token", "expires_at", "acquired_at").get(
        tool=tool
    )


def test_a_heartbeat_is_the_token_check_and_one_update(client, tool, head, held):
    with connection.cursor() as cursor:  # a minute left (the test's transaction fixes now())
        cursor.execute(
            "UPDATE locks_draftlock SET expires_at = now() + interval '1 minute' "
            "WHERE tool_id = %s",
            [tool.pk],
        )
    before, events = lock_row(tool), DraftLockEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = heartbeat(client, tool, head, lock_token=held["lock_token"])
    assert response.status_code == 200
    body = response.json()
    assert (body["is_owner"], body["lock_token"], body["draft_head_id"]) == (
        True,
        held["lock_token"],
        head,
    )
    assert body["locked_by_email"] == "author@example.com"
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == 2, sql  # the token check; the refresh
    assert "UPDATE" in sql[1]
    after = lock_row(tool)
    assert after["expires_at"] > before["expires_at"]
    assert (after["token"], after["acquired_at"]) == (before["token"], before["acquired_at"])
    assert DraftLockEvent.objects.count() == events  # a refresh writes no event


def test_the_refresh_does_not_wait_for_the_wal_flush(client, tool, head, held):
    # The test's transaction spans the request, so the refresh's transaction-local setting is
    # still visible here (in production it ends with the refresh's own autocommit transaction).
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert heartbeat(client, tool, head, lock_token=held["lock_token"]).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"


def test_a_stale_token_is_still_409(client, tool, head, held):
    response = heartbeat(client, tool, head, lock_token=held["lock_token"] + 1)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "DRAFT_LOCK_STALE_TOKEN"


def test_an_old_head_is_still_refused(client, tool, head, held):
    other = "00000000-0000-0000-0000-000000000000"
    response = heartbeat(client, tool, other)
    assert response.status_code == 409
    assert lock_row(tool)["token"] == held["lock_token"]


def test_a_lost_maintainership_is_403_and_refreshes_nothing(client, tool, head, held, author):
    before = lock_row(tool)
    access.revoke_maintainer(user=author, tool=tool)
    response = heartbeat(client, tool, head)
    assert response.status_code == 403
    assert lock_row(tool) == before


def test_a_lowered_global_role_is_403(client, tool, head, held, author):
    account_services.set_user_role(actor=None, user=author, role="user")
    assert heartbeat(client, tool, head).status_code == 403


def test_a_lost_membership_is_404(client, tool, head, held, author, project):
    projects_access.revoke_role(user=author, project=project)
    assert heartbeat(client, tool, head).status_code == 404


def test_a_project_scheduled_for_deletion_is_404(client, tool, head, held, author, project):
    project_services.schedule_project_deletion(project=project, actor=author)
    assert heartbeat(client, tool, head).status_code == 404


def test_an_expired_lock_is_taken_again_with_a_new_token(client, tool, head, held):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE locks_draftlock SET expires_at = now() WHERE tool_id = %s", [tool.pk]
        )
    response = heartbeat(client, tool, head)
    assert response.status_code == 200
    assert response.json()["lock_token"] == held["lock_token"] + 1


def test_someone_elses_lock_is_still_refused_as_held(client, tool, head, held, api_client_for):
    admin = UserFactory(admin=True)
    taken = heartbeat(api_client_for(admin), tool, head, force=True, reason="cover")
    assert taken.status_code == 200
    response = heartbeat(client, tool, head)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "DRAFT_LOCK_HELD"


def test_a_global_admin_holder_refreshes_in_one_update(client, tool, head, held, api_client_for):
    assert client.delete(f"/api/v1/editor/tools/{tool.pk}/draft-lock").status_code == 200
    admin = api_client_for(UserFactory(admin=True))
    mine = heartbeat(admin, tool, head).json()
    with CaptureQueriesContext(connection) as queries:
        response = heartbeat(admin, tool, head, lock_token=mine["lock_token"])
    assert response.status_code == 200
    assert response.json()["lock_token"] == mine["lock_token"]
    assert len(queries.captured_queries) == 2


def test_a_refresh_keeps_the_takeover_record(client, tool, head, held, api_client_for):
    admin = api_client_for(UserFactory(admin=True))
    mine = heartbeat(admin, tool, head, force=True, reason="cover").json()
    response = heartbeat(admin, tool, head, lock_token=mine["lock_token"])
    assert response.status_code == 200
    assert response.json()["takeover"]["reason"] == "cover"
    assert response.json()["lock_token"] == mine["lock_token"]


def test_a_broken_body_for_an_unknown_tool_is_still_404_first(client, head):
    path = "/api/v1/editor/tools/00000000-0000-0000-0000-000000000000/draft-lock"
    response = client.post(path, "{not json", content_type="application/json")
    assert response.status_code == 404


def test_a_broken_body_for_a_known_tool_is_still_400(client, tool, head):
    path = f"/api/v1/editor/tools/{tool.pk}/draft-lock"
    response = client.post(path, "{not json", content_type="application/json")
    assert response.status_code == 400


def _statements(client, tool, head, **extra):
    with CaptureQueriesContext(connection) as queries:
        response = heartbeat(client, tool, head, **extra)
    return response, len(queries.captured_queries)


@pytest.mark.parametrize("extra", [{}, {"lock_token": "held"}], ids=["head only", "with token"])
def test_a_plain_heartbeat_body_takes_the_one_update(client, tool, head, held, extra):
    extra = {"lock_token": held["lock_token"]} if extra else {}
    response, statements = _statements(client, tool, head, **extra)
    assert response.status_code == 200
    assert statements == 2  # the token check and the UPDATE


@pytest.mark.parametrize(
    "extra",
    [
        {"reason": ""},
        {"force": False},
        {"new_token": False},
        {"lock_token": None},
    ],
)
def test_any_other_valid_heartbeat_body_is_still_a_refresh(client, tool, head, held, extra):
    before = lock_row(tool)
    response = heartbeat(client, tool, head, **extra)
    assert response.status_code == 200, response.content
    assert response.json()["lock_token"] == held["lock_token"]
    assert lock_row(tool)["token"] == before["token"]


def test_a_head_id_in_another_uuid_spelling_is_still_a_refresh(client, tool, head, held):
    response = heartbeat(client, tool, head.upper())
    assert response.status_code == 200, response.content
    assert response.json()["lock_token"] == held["lock_token"]


@pytest.mark.parametrize(
    ("lock_token", "status"),
    [(True, 422), ("1", 422), (0, 422), (2**63, 422), (2**63 - 1, 409), (1.0, 422)],
)
def test_a_lock_token_outside_the_plain_form_gets_the_serializers_answer(
    client, tool, head, held, lock_token, status
):
    response = heartbeat(client, tool, head, lock_token=lock_token)
    assert response.status_code == status, response.content
