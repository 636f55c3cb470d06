"""PostgreSQL out of reach: 503 with Retry-After everywhere (API envelope, flat /collections/
body, a plain page), /healthz naming the database, never a 500 or a traceback; and what a write
that failed says about its outcome (apps/core/unavailable.py)."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from apps.core.unavailable import unavailable
from apps.kvcollections import services as collection_services
from apps.projects.models import ProjectRole
from tests.factories import ApiTokenFactory, UserFactory, make_project
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_down() -> Iterator[None]:
    """Every new connection of this process is refused (nothing listens on port 1), as while
    PostgreSQL is down or restarting; the open one is closed first."""
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    connection.close()
    settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        settings_dict["PORT"] = port


@pytest.fixture
def world():
    owner = UserFactory(contributor=True)
    project = make_project({owner: ProjectRole.OWNER})
    collection_services.create_collection(project=project, name="books")
    token = ApiTokenFactory(user=owner)
    return {"owner": owner, "project": project, "auth": f"Bearer {token.secret}"}


def unavailable_client() -> Client:
    return Client(raise_request_exception=False)


def assert_unavailable(response, dependency="database"):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "2"
    assert b"Traceback" not in response.content
    if response["Content-Type"].startswith("application/json"):
        return response.json()
    return response.content.decode()


def test_api_reads_and_writes_answer_503_with_the_envelope(world):
    client = unavailable_client()
    with database_down():
        read = client.get("/api/v1/projects", HTTP_AUTHORIZATION=world["auth"])
        write = client.post(
            "/api/v1/projects",
            {"name": "New"},
            content_type="application/json",
            HTTP_AUTHORIZATION=world["auth"],
        )
    error = assert_unavailable(read)["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["details"] == {"dependency": "database", "retry_after_seconds": 2}
    written = assert_unavailable(write)["error"]
    assert written["details"]["outcome"] == "not_applied"
    assert "Nothing was changed." in written["message"]
    # Back up: the next request is served, nothing restarted.
    assert client.get("/api/v1/projects", HTTP_AUTHORIZATION=world["auth"]).status_code == 200


@pytest.mark.parametrize("version", ["1", "2"])
def test_the_collections_api_answers_a_flat_503(world, version):
    path = "books/k" if version == "1" else f"{world['project'].pk}/books/k"
    client = unavailable_client()
    with database_down():
        response = client.get(
            f"/collections/{path}", HTTP_AUTHORIZATION=world["auth"], HTTP_X_API_VERSION=version
        )
        put = client.put(
            f"/collections/{path}",
            '{"value": "v"}',
            content_type="application/json",
            HTTP_AUTHORIZATION=world["auth"],
            HTTP_X_API_VERSION=version,
        )
    assert assert_unavailable(response) == {
        "error": "The database cannot be reached right now; retry in a moment.",
        "code": "SERVICE_UNAVAILABLE",
        "retry_after_seconds": 2,
    }
    assert assert_unavailable(put)["outcome"] == "not_applied"


def test_pages_answer_a_plain_503_page(world):
    client = unavailable_client()
    client.post("/accounts/login/", {"username": world["owner"].email, "password": PASSWORD})
    with database_down():
        signed_in = client.get("/projects/")
        login_page = unavailable_client().get("/accounts/login/")
        signing_in = unavailable_client().post(
            "/accounts/login/", {"username": world["owner"].email, "password": PASSWORD}
        )
    for response in (signed_in, signing_in):
        assert "Temporarily unavailable" in assert_unavailable(response)
    assert login_page.status_code == 200  # needs no database: shown, the sign-in then says 503


def test_healthz_names_the_database(world):
    with database_down():
        response = unavailable_client().get("/healthz")
    body = assert_unavailable(response)
    assert body["database"].startswith("error: ")
    assert (body["status"], body["redis"]) == ("unavailable", "ok")


def _kill_this_connection() -> None:
    """Terminate this process's database session from another session, as a server restart
    does; the next statement on it fails."""
    pid = connection.connection.info.backend_pid
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _create_after_losing_the_connection(project) -> None:
    with transaction.atomic():
        connection.ensure_connection()
        _kill_this_connection()
        collection_services.create_collection(project=project, name="lost")


def _create_then_lose_the_connection(project) -> None:
    with transaction.atomic():
        collection_services.create_collection(project=project, name="maybe")
        _kill_this_connection()  # the COMMIT is the first statement to find it gone


def _run_into_the_statement_timeout() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")


def test_a_write_that_broke_before_commit_was_not_applied(world):
    with pytest.raises(DatabaseError) as caught:
        _create_after_losing_the_connection(world["project"])
    outage = unavailable(caught.value, method="POST")
    assert (outage.dependency, outage.outcome) == ("database", "not_applied")
    connection.close()


def test_a_write_whose_commit_broke_has_an_unknown_outcome(world):
    with pytest.raises(DatabaseError) as caught:
        _create_then_lose_the_connection(world["project"])
    outage = unavailable(caught.value, method="POST")
    assert (outage.dependency, outage.outcome) == ("database", "unknown")
    connection.close()


def test_a_refused_query_is_not_an_outage(world):
    with pytest.raises(DatabaseError) as caught:
        _run_into_the_statement_timeout()
    assert unavailable(caught.value) is None
