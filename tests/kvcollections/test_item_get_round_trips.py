"""Item GET on /collections/ costs one SQL statement and one Redis call, and the credential
rules still hold on that path at once (issue 15: "one round trip where one is enough")."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from redis.connection import AbstractConnection
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.accounts.models import ApiToken
from apps.core.redis import redis_client
from apps.kvcollections import services
from apps.projects.models import ProjectRole
from tests.factories import ApiTokenFactory, CollectionFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return UserFactory(email="reader@example.com")


@pytest.fixture
def books(reader):
    project = make_project({reader: ProjectRole.VIEWER}, name="Library")
    collection = CollectionFactory(project=project, name="books")
    services.put_item(collection=collection, key="dune", value="spice")
    return collection


@pytest.fixture
def token(reader):
    return ApiTokenFactory(user=reader)


def bearer(secret):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def run_token(collection, user, role="viewer"):
    _, secret = account_services.create_run_token(
        user=user,
        project_id=collection.project_id,
        project_role=role,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    return secret


def statements(client, path, **headers):
    """The answer to GET `path` and the SQL statements it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_item_get_is_one_sql_statement(books, token, version):
    client = bearer(token.secret)
    path = (
        "/collections/books/dune"
        if version == "1"
        else f"/collections/{books.project_id}/books/dune"
    )
    client.get(path, HTTP_X_API_VERSION=version)  # the first use records last_used_at
    response, sql = statements(client, path, HTTP_X_API_VERSION=version)
    assert response.status_code == 200
    assert response.json()["value"] == "spice"
    assert len(sql) == 1, sql


def test_a_run_tokens_item_get_is_one_sql_statement(books, reader):
    client = bearer(run_token(books, reader))
    client.get("/collections/books/dune")
    response, sql = statements(client, "/collections/books/dune")
    assert response.json()["value"] == "spice"
    assert len(sql) == 1, sql


@pytest.mark.parametrize(
    ("path", "status"),
    [("/collections/books/nobody", 204), ("/collections/films/dune", 404)],
)
def test_a_missing_item_or_collection_is_also_one_statement(books, token, path, status):
    client = bearer(token.secret)
    client.get(path)
    response, sql = statements(client, path)
    assert response.status_code == status
    assert len(sql) == 1, sql


def test_use_is_still_recorded_at_most_once_a_minute(books, token):
    client = bearer(token.secret)
    _, first = statements(client, "/collections/books/dune")
    assert len(first) == 2  # the read, and the first use written
    token.refresh_from_db()
    assert token.last_used_at is not None
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        _, later = statements(client, "/collections/books/dune")
    assert len(later) == 2


def test_the_throttle_is_one_redis_command_sent_before_the_statement_once_the_token_is_known(
    books, token, monkeypatch
):
    calls = []
    real_send = AbstractConnection.send_command
    monkeypatch.setattr(
        AbstractConnection,
        "send_command",
        lambda conn, *args, **kwargs: calls.append(args[0]) or real_send(conn, *args, **kwargs),
    )

    def record_sql(execute, sql, params, many, context):
        calls.append("SQL")
        return execute(sql, params, many, context)

    client = bearer(token.secret)
    with connection.execute_wrapper(record_sql):
        for _ in range(3):
            assert client.get("/collections/books/dune").status_code == 200
    # The first read learns whose token it is (and records its use); later ones overlap.
    assert calls == ["SQL", "SQL", "EVALSHA", "EVALSHA", "SQL", "EVALSHA", "SQL"]


def test_the_throttle_loads_its_script_into_a_server_that_lacks_it_and_counts(
    books, token, settings
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "anon": "2/min"},
    }
    redis_client().script_flush()  # as after a Redis restart
    client = bearer(token.secret)
    statuses = [client.get("/collections/books/dune").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    (key,) = redis_client().keys(f"throttle:user:{token.user_id}:*")
    assert 0 < redis_client().ttl(key) <= 60  # the window's key expires with the window


def test_the_item_get_answers_while_redis_is_down(books, token, redis_down):
    assert bearer(token.secret).get("/collections/books/dune").status_code == 200


# --- The credential rules on the one-statement path -------------------------------------------


def test_revocation_takes_effect_at_once(books, token):
    client = bearer(token.secret)
    assert client.get("/collections/books/dune").status_code == 200
    account_services.revoke_api_token(token=token)
    response = client.get("/collections/books/dune")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_a_revoked_run_token_stops_at_once(books, reader):
    secret = run_token(books, reader)
    client = bearer(secret)
    assert client.get("/collections/books/dune").status_code == 200
    ApiToken.objects.filter(kind="run", user=reader).update(revoked_at=timezone.now())
    assert client.get("/collections/books/dune").status_code == 401


def test_deactivation_takes_effect_at_once(books, token, reader):
    client = bearer(token.secret)
    assert client.get("/collections/books/dune").status_code == 200
    reader.is_active = False
    reader.save(update_fields=["is_active"])
    assert client.get("/collections/books/dune").status_code == 401


def set_expiry_by_database_clock(token, interval):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_apitoken SET expires_at = now() + %s::interval WHERE id = %s",
            [interval, token.pk],
        )


@pytest.mark.parametrize("shift", [timedelta(hours=-2), timedelta(hours=2)])
def test_expiry_is_decided_by_the_database_clock(books, token, shift):
    client = bearer(token.secret)
    set_expiry_by_database_clock(token, "1 hour")
    with time_machine.travel(timezone.now() + shift):  # the app server's clock says otherwise
        assert client.get("/collections/books/dune").status_code == 200
    set_expiry_by_database_clock(token, "-1 second")
    with time_machine.travel(timezone.now() + shift):
        assert client.get("/collections/books/dune").status_code == 401


def test_losing_the_membership_takes_effect_at_once(books, token, reader):
    client = bearer(token.secret)
    assert client.get("/collections/books/dune").status_code == 200
    books.project.memberships.filter(user=reader).delete()
    assert client.get("/collections/books/dune").status_code == 404


def test_a_member_without_read_rights_on_a_run_token_is_403(books, reader):
    client = bearer(run_token(books, reader, role=""))
    response = client.get("/collections/books/dune")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_a_name_in_two_projects_is_409_on_the_one_statement_path(books, token, reader):
    other = make_project({reader: ProjectRole.VIEWER}, name="Other")
    CollectionFactory(project=other, name="books")
    response = bearer(token.secret).get("/collections/books/dune")
    assert response.status_code == 409
    assert response.json()["code"] == "AMBIGUOUS_COLLECTION"


def test_query_parameters_are_still_refused_after_resolution(books, token):
    response = bearer(token.secret).get("/collections/books/dune?limit=1")
    assert response.status_code == 400
