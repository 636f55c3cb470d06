"""The /collections/ data API through HTTP: Lightning's controller cases adapted to SPEC §7."""

import base64
import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.kvcollections import services
from apps.kvcollections.models import CollectionItem
from apps.projects import services as project_services
from apps.projects.models import ProjectRole
from tests.factories import ApiTokenFactory, CollectionFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice, bob):
    return {
        "owner": alice,
        "admin": UserFactory(email="ada@example.com"),
        "editor": bob,
        "viewer": UserFactory(email="vera@example.com"),
        "outsider": UserFactory(email="otto@example.com"),
    }


@pytest.fixture
def team(people):
    roles = {"owner": "owner", "admin": "admin", "editor": "editor", "viewer": "viewer"}
    return make_project(
        {people[name]: ProjectRole(role) for name, role in roles.items()}, name="Team"
    )


@pytest.fixture
def books(team):
    return CollectionFactory(project=team, name="books")


@pytest.fixture
def client_as(api_client_for, people):
    def build(persona="owner", version=None):
        client = api_client_for(people[persona])
        if version is not None:
            client.defaults["HTTP_X_API_VERSION"] = version
        return client

    return build


def run_token_client(project, user, expires_in=timedelta(minutes=5), role="owner"):
    _, secret = account_services.create_run_token(
        user=user, project_id=project.pk, project_role=role, expires_at=timezone.now() + expires_in
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def put_items(collection, count, prefix="key-", value="v"):
    services.put_items(
        collection=collection, items=[(f"{prefix}{i:05}", value) for i in range(count)]
    )


def cursor_of(item_id):
    return base64.b64encode(str(item_id).encode()).decode()


def keys(response):
    return [item["key"] for item in response.json()["items"]]


class Streamed:
    """A streamed response read to the end."""

    def __init__(self, response):
        self.response = response
        self.body = b"".join(response.streaming_content)

    def json(self):
        return json.loads(self.body)

    def __getitem__(self, header):
        return self.response[header]

    def __contains__(self, header):
        return header in self.response


def stream(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    assert response.streaming
    return Streamed(response)


def assert_flat_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str)
    return body


# --- Authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer skt_pat_" + "x" * 43, "Bearer a, Bearer b"],
)
def test_missing_or_bad_credentials_are_401(books, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    body = assert_flat_error(client.get("/collections/books"), 401, "UNAUTHENTICATED")
    assert set(body) == {"error", "code"}


def test_credentials_are_checked_before_the_version_header(books):
    response = APIClient().get("/collections/books", HTTP_X_API_VERSION="99")
    assert_flat_error(response, 401, "UNAUTHENTICATED")


def test_a_revoked_personal_token_is_401(books, alice):
    token = ApiTokenFactory(user=alice)
    account_services.revoke_api_token(token=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    assert_flat_error(client.get("/collections/books"), 401, "UNAUTHENTICATED")


def test_run_tokens_read_and_write_their_own_project(books, team, alice):
    client = run_token_client(team, alice)
    assert client.put("/collections/books/k", {"value": "v"}, format="json").json()["upserted"] == 1
    assert stream(client, "/collections/books").json()["items"][0]["key"] == "k"
    response = client.delete("/collections/books?key=*")
    assert response.json() == {"key": "*", "deleted": 1, "error": None}


def test_run_tokens_act_with_the_role_of_their_runs_requester(books, team, alice):
    viewer = run_token_client(team, alice, role="viewer")
    assert viewer.get("/collections/books").status_code == 200
    put = viewer.put("/collections/books/k", {"value": "v"}, format="json")
    assert_flat_error(put, 403, "FORBIDDEN")
    editor = run_token_client(team, alice, role="editor")
    assert editor.put("/collections/books/k", {"value": "v"}, format="json").status_code == 200
    assert_flat_error(editor.delete("/collections/books?key=*"), 403, "FORBIDDEN")
    not_a_member = run_token_client(team, alice, role="")
    assert_flat_error(not_a_member.get("/collections/books"), 403, "FORBIDDEN")


def test_run_tokens_never_reach_another_projects_collection(books, alice):
    other = make_project({alice: ProjectRole.OWNER})
    CollectionFactory(project=other, name="books")
    client = run_token_client(other, alice)
    assert client.get("/collections/books").status_code == 200  # resolves inside its project
    v2 = client.get(f"/collections/{books.project_id}/books", HTTP_X_API_VERSION="2")
    assert_flat_error(v2, 404, "NOT_FOUND")


def test_expired_and_revoked_run_tokens_are_401(books, team, alice):
    expired = run_token_client(team, alice, expires_in=timedelta(seconds=-1))
    assert_flat_error(expired.get("/collections/books"), 401, "UNAUTHENTICATED")
    _, secret = account_services.create_run_token(
        user=alice,
        project_id=team.pk,
        project_role="owner",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    from apps.accounts.models import ApiToken, hash_token

    account_services.revoke_api_token(token=ApiToken.objects.get(token_hash=hash_token(secret)))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert_flat_error(client.get("/collections/books"), 401, "UNAUTHENTICATED")


def test_run_tokens_are_refused_outside_the_collections_api(team, alice):
    client = run_token_client(team, alice)
    assert client.get(f"/api/v1/projects/{team.pk}").status_code == 401


def test_run_tokens_stop_when_their_project_is_scheduled_for_deletion(books, team, alice):
    client = run_token_client(team, alice)
    project_services.schedule_project_deletion(project=team, actor=alice)
    assert_flat_error(client.get("/collections/books"), 404, "NOT_FOUND")


# --- Versions and routes -----------------------------------------------------------------------


@pytest.mark.parametrize(("header", "deprecated"), [(None, True), ("1", True)])
def test_no_header_and_1_mean_v1_with_a_deprecation_header(client_as, books, header, deprecated):
    response = stream(client_as("owner", header), "/collections/books")
    assert response["Deprecation"] == "true"


def test_v2_answers_carry_no_deprecation_header(client_as, books):
    response = stream(client_as("owner", "2"), f"/collections/{books.project_id}/books")
    assert "Deprecation" not in response


@pytest.mark.parametrize(
    ("header", "shown"),
    [("3", "3"), (" 2", " 2"), ("not-a-version", "not-a-version"), ("1, 2", "multiple"), ("", "")],
)
def test_unsupported_or_repeated_versions_are_400(client_as, books, header, shown):
    response = client_as("owner", header).get("/collections/books")
    body = assert_flat_error(response, 400, "UNSUPPORTED_API_VERSION")
    assert body["error"] == f'Unsupported API version: "{shown}". Supported versions: 1, 2.'


@pytest.mark.parametrize(
    ("method", "path", "version"),
    [
        ("patch", "/collections/books", None),
        ("patch", "/collections/books/k", None),
        ("get", "/collections/a/b/c/d", None),
        ("get", "/collections/a/b/c/d/e", "2"),
        ("get", "/collections/books/", None),
        ("get", "/collections/", None),
        ("get", "/collections", None),
        ("put", "/collections/books", None),
        ("post", "/collections/books/k", None),
        ("get", "/collections/books", "2"),
    ],
)
def test_unknown_methods_and_path_shapes_are_flat_404s(client_as, books, method, path, version):
    response = getattr(client_as("owner", version), method)(path)
    body = assert_flat_error(response, 404, "NOT_FOUND")
    assert body["error"] == "Not Found"


# --- Items -------------------------------------------------------------------------------------


def test_get_item_returns_the_item_with_microsecond_utc_timestamps(client_as, books):
    services.put_item(collection=books, key="k", value="hello")
    item = CollectionItem.objects.get(collection=books, key="k")
    body = client_as().get("/collections/books/k").json()
    expected = item.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert body == {"key": "k", "value": "hello", "created": expected, "updated": expected}


def test_a_missing_item_is_204_with_an_empty_body(client_as, books):
    response = client_as().get("/collections/books/nope")
    assert response.status_code == 204
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/collections/nope", None),
        ("get", "/collections/nope/k", None),
        ("put", "/collections/nope/k", {"value": "v"}),
        ("post", "/collections/nope", {"items": []}),
        ("delete", "/collections/nope/k", None),
        ("delete", "/collections/nope", None),
    ],
)
def test_every_operation_on_a_missing_collection_is_404(client_as, books, method, path, body):
    response = getattr(client_as(), method)(path, body, format="json")
    assert_flat_error(response, 404, "NOT_FOUND")


def test_put_inserts_and_then_updates(client_as, books):
    client = client_as("editor")
    for value in ("one", "two"):
        response = client.put(
            "/collections/books/k", {"value": value, "key": "ignored"}, format="json"
        )
        assert response.json() == {"upserted": 1, "error": None}
    assert CollectionItem.objects.get(collection=books).value == "two"
    books.refresh_from_db()
    assert (books.item_count, books.byte_size) == (1, len("k") + len("two"))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MISSING_FIELD"),
        ({"val": "x"}, "MISSING_FIELD"),
        ([], "MISSING_FIELD"),
        ({"value": 5}, "VALIDATION_ERROR"),
        ({"value": None}, "VALIDATION_ERROR"),
        ({"value": {"a": 1}}, "VALIDATION_ERROR"),
        ({"value": "nul\x00"}, "VALIDATION_ERROR"),
    ],
)
def test_put_refuses_a_missing_or_non_string_value_with_422(client_as, books, body, code):
    body = assert_flat_error(
        client_as().put("/collections/books/k", body, format="json"), 422, code
    )
    assert body["upserted"] == 0
    assert not CollectionItem.objects.exists()


def test_put_value_length_at_the_limit_and_past_it(client_as, books):
    client = client_as()
    assert (
        client.put("/collections/books/k", {"value": "é" * 1_000_000}, format="json").status_code
        == 200
    )
    response = client.put("/collections/books/k2", {"value": "x" * 1_000_001}, format="json")
    assert_flat_error(response, 422, "VALIDATION_ERROR")


def test_key_length_at_the_limit_and_past_it(client_as, books):
    client = client_as()
    assert (
        client.put(f"/collections/books/{'k' * 255}", {"value": "v"}, format="json").status_code
        == 200
    )
    response = client.put(f"/collections/books/{'k' * 256}", {"value": "v"}, format="json")
    assert_flat_error(response, 422, "VALIDATION_ERROR")
    response = client.post(
        "/collections/books", {"items": [{"key": "", "value": "v"}]}, format="json"
    )
    assert assert_flat_error(response, 422, "VALIDATION_ERROR")["index"] == 0


def test_a_nul_in_a_path_key_is_422(client_as, books):
    assert_flat_error(
        client_as().put("/collections/books/a%00b", {"value": "v"}, format="json"),
        422,
        "VALIDATION_ERROR",
    )


def test_bulk_upsert_of_1000_items_shares_one_timestamp(client_as, books):
    items = [{"key": f"k{i:04}", "value": str(i)} for i in range(1000)]
    response = client_as("editor").post("/collections/books", {"items": items}, format="json")
    assert response.json() == {"upserted": 1000, "error": None}
    body = stream(client_as(), "/collections/books", limit="1000").json()
    assert len(body["items"]) == 1000
    assert body["cursor"] is None
    assert len({item["created"] for item in body["items"]}) == 1


def test_bulk_upsert_counts_inserts_and_updates(client_as, books):
    put_items(books, 3, prefix="k")
    items = [{"key": f"k{i:05}", "value": "new"} for i in range(10)]
    assert (
        client_as().post("/collections/books", {"items": items}, format="json").json()["upserted"]
        == 10
    )
    assert CollectionItem.objects.filter(collection=books, value="new").count() == 10


def test_bulk_upsert_of_no_items_is_a_no_op(client_as, books):
    assert client_as().post("/collections/books", {"items": []}, format="json").json() == {
        "upserted": 0,
        "error": None,
    }


@pytest.mark.parametrize(
    ("items", "code", "index"),
    [
        ([{"key": "a", "value": "1"}, {"key": "a", "value": "2"}], "DUPLICATE_KEY", None),
        ([{"key": "a", "value": "1"}, {"key": "b"}], "VALIDATION_ERROR", 1),
        ([{"key": "a", "value": "1"}, {"key": "b", "value": 2}], "VALIDATION_ERROR", 1),
        ([{"key": 5, "value": "1"}], "VALIDATION_ERROR", 0),
        (["a"], "VALIDATION_ERROR", 0),
        (
            [
                {"key": "a", "value": "1"},
                {"key": "b", "value": "2"},
                {"key": "c\x00", "value": "3"},
            ],
            "VALIDATION_ERROR",
            2,
        ),
        ([{"key": "a", "value": "x" * 1_000_001}], "VALIDATION_ERROR", 0),
        ("not a list", "VALIDATION_ERROR", None),
    ],
)
def test_bulk_upsert_refuses_bad_batches_whole_and_names_the_element(
    client_as, books, items, code, index
):
    body = assert_flat_error(
        client_as().post("/collections/books", {"items": items}, format="json"), 422, code
    )
    assert body["upserted"] == 0
    assert body.get("index") == index
    assert not CollectionItem.objects.exists()


def test_bulk_upsert_needs_items(client_as, books):
    body = assert_flat_error(
        client_as().post("/collections/books", {}, format="json"), 422, "MISSING_FIELD"
    )
    assert body["error"] == "Missing required field: items"


def test_bulk_upsert_item_count_at_the_limit_and_past_it(client_as, books):
    client = client_as()
    items = [{"key": f"k{i}", "value": ""} for i in range(1001)]
    assert (
        client.post("/collections/books", {"items": items[:1000]}, format="json").status_code == 200
    )
    body = assert_flat_error(
        client.post("/collections/books", {"items": items}, format="json"), 422, "TOO_MANY_ITEMS"
    )
    assert body["upserted"] == 0


def test_a_body_over_10_mb_is_a_flat_413(client_as, books, settings):
    limit = settings.COLLECTIONS_MAX_BODY_BYTES
    client = client_as()
    head = '{"items": [{"key": "k", "value": "'
    at_limit = head + "x" * (limit - len(head) - 4) + '"}]}'
    assert len(at_limit) == limit
    response = client.generic(
        "POST", "/collections/books", at_limit, content_type="application/json"
    )
    assert_flat_error(response, 422, "VALIDATION_ERROR")  # read and validated: value too long
    response = client.generic(
        "POST", "/collections/books", at_limit + " ", content_type="application/json"
    )
    assert_flat_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ('{"value": "\\ud800"}', 400, "PARSE_ERROR"),
        (b'{"value": "\xff"}', 400, "PARSE_ERROR"),
        ("[" * 10_000 + "]" * 10_000, 400, "PARSE_ERROR"),
        ('{"value": 1e400}', 400, "PARSE_ERROR"),
        ("{not json", 400, "PARSE_ERROR"),
        ('{"value": "a", "value": "b"}', 200, None),
    ],
)
def test_hostile_bodies_are_4xx_never_5xx(client_as, books, raw, status, code):
    response = client_as().generic(
        "PUT", "/collections/books/k", raw, content_type="application/json"
    )
    assert response.status_code == status
    if code:
        assert response.json()["code"] == code
    else:  # duplicate JSON keys: the last one wins
        assert CollectionItem.objects.get(collection=books).value == "b"


def test_sql_looking_keys_are_stored_and_read_literally(client_as, books):
    client = client_as()
    key = "' OR 1=1 --"
    client.post(
        "/collections/books",
        {"items": [{"key": key, "value": "x"}, {"key": "other", "value": "y"}]},
        format="json",
    )
    assert client.get(f"/collections/books/{key}").json()["value"] == "x"
    assert keys(stream(client, "/collections/books", key=key)) == [key]


def test_delete_item_answers_found_and_not_found_with_200(client_as, books):
    services.put_item(collection=books, key="foo", value="v")
    client = client_as("editor")
    assert client.delete("/collections/books/foo").json() == {
        "key": "foo",
        "deleted": 1,
        "error": None,
    }
    assert client.delete("/collections/books/foo").json() == {
        "key": "foo",
        "deleted": 0,
        "error": "Item Not Found",
    }


def test_delete_many_matches_a_pattern_and_echoes_it(client_as, books):
    services.put_items(
        collection=books, items=[("foo:123:bar1", "a"), ("foo:234:boo", "b"), ("foo:345:bar2", "c")]
    )
    response = client_as("admin").delete("/collections/books?key=foo:*:bar*")
    assert response.json() == {"key": "foo:*:bar*", "deleted": 2, "error": None}
    books.refresh_from_db()
    assert (books.item_count, books.byte_size) == (1, len("foo:234:boo") + 1)


def test_delete_many_without_filters_empties_the_collection(client_as, books):
    put_items(books, 5)
    assert client_as("owner").delete("/collections/books").json() == {
        "key": None,
        "deleted": 5,
        "error": None,
    }
    books.refresh_from_db()
    assert (books.item_count, books.byte_size) == (0, 0)


def test_delete_many_honours_time_filters_and_a_body_pattern(client_as, books):
    put_items(books, 3, prefix="old-")
    CollectionItem.objects.filter(collection=books).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    put_items(books, 2, prefix="new-")
    day = (timezone.now() - timedelta(days=1)).date().isoformat()
    response = client_as().delete(f"/collections/books?created_before={day}")
    assert response.json()["deleted"] == 3
    response = client_as().generic(
        "DELETE", "/collections/books", '{"key": "new-*"}', content_type="application/json"
    )
    assert response.json()["deleted"] == 2


@pytest.mark.parametrize("query", ["limit=5", "cursor=MQ==", "bogus=1", "key=a&key=b"])
def test_delete_many_refuses_parameters_it_does_not_take(client_as, books, query):
    body = assert_flat_error(client_as().delete(f"/collections/books?{query}"), 400, "BAD_REQUEST")
    assert body["deleted"] == 0


# --- Roles -------------------------------------------------------------------------------------

OPERATIONS = {
    "stream": ("get", "/collections/books", None),
    "get": ("get", "/collections/books/k", None),
    "put": ("put", "/collections/books/k", {"value": "v"}),
    "bulk": ("post", "/collections/books", {"items": [{"key": "b", "value": "v"}]}),
    "delete item": ("delete", "/collections/books/k", None),
    "delete many": ("delete", "/collections/books?key=zz*", None),
}
EXPECTED = {
    "owner": (200, 200, 200, 200, 200, 200),
    "admin": (200, 200, 200, 200, 200, 200),
    "editor": (200, 200, 200, 200, 200, 403),
    "viewer": (200, 200, 403, 403, 403, 403),
    "outsider": (404, 404, 404, 404, 404, 404),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("persona", EXPECTED)
def test_role_matrix(client_as, books, persona, operation):
    services.put_item(collection=books, key="k", value="v")
    method, path, body = OPERATIONS[operation]
    response = getattr(client_as(persona), method)(path, body, format="json")
    expected = EXPECTED[persona][list(OPERATIONS).index(operation)]
    assert response.status_code == expected, response.content
    if expected == 403:
        assert response.json()["code"] == "FORBIDDEN"
    if expected == 404:
        missing = getattr(client_as(persona), method)(
            path.replace("books", "nope"), body, format="json"
        )
        assert response.json()["error"] == missing.json()["error"]


# --- Resolution --------------------------------------------------------------------------------

SIX = [
    ("get", "/collections/shared", None),
    ("get", "/collections/shared/k", None),
    ("put", "/collections/shared/k", {"value": "v"}),
    ("post", "/collections/shared", {"items": []}),
    ("delete", "/collections/shared/k", None),
    ("delete", "/collections/shared", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SIX)
def test_v1_names_in_two_of_the_callers_projects_are_409_pointing_to_v2(
    client_as, people, team, method, path, body
):
    other = make_project({people["owner"]: ProjectRole.OWNER})
    for project in (team, other):
        CollectionFactory(project=project, name="shared")
    response = getattr(client_as(), method)(path, body, format="json")
    assert "API v2" in assert_flat_error(response, 409, "AMBIGUOUS_COLLECTION")["error"]


def test_v1_ignores_projects_the_caller_cannot_see(client_as, team):
    CollectionFactory(project=team, name="shared")
    CollectionFactory(project=make_project({UserFactory(): ProjectRole.OWNER}), name="shared")
    assert client_as().get("/collections/shared").status_code == 200


def test_v1_finds_nothing_in_inaccessible_projects(client_as, team):
    CollectionFactory(project=make_project({UserFactory(): ProjectRole.OWNER}), name="theirs")
    assert_flat_error(client_as().get("/collections/theirs"), 404, "NOT_FOUND")


def test_v1_ignores_projects_scheduled_for_deletion(client_as, people, team):
    other = make_project({people["owner"]: ProjectRole.OWNER})
    CollectionFactory(project=team, name="shared")
    CollectionFactory(project=other, name="shared")
    project_services.schedule_project_deletion(project=other, actor=people["owner"])
    assert client_as().get("/collections/shared").status_code == 200


def test_v2_resolves_by_project_id_when_names_repeat(client_as, people, team):
    other = make_project({people["owner"]: ProjectRole.OWNER})
    for project, value in ((team, "mine"), (other, "other")):
        services.put_item(
            collection=CollectionFactory(project=project, name="shared"), key="k", value=value
        )
    client = client_as("owner", "2")
    assert client.get(f"/collections/{team.pk}/shared/k").json()["value"] == "mine"
    assert client.get(f"/collections/{other.pk}/shared/k").json()["value"] == "other"


def test_v2_hides_other_projects_behind_the_same_404(client_as, books):
    theirs = make_project({UserFactory(): ProjectRole.OWNER})
    CollectionFactory(project=theirs, name="books")
    client = client_as("owner", "2")
    hidden = client.get(f"/collections/{theirs.pk}/books")
    missing = client.get(f"/collections/{books.project_id}/nope")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize("project_id", ["not-a-uuid", "123", "%00"])
def test_v2_malformed_project_ids_are_400(client_as, books, project_id):
    assert_flat_error(
        client_as("owner", "2").get(f"/collections/{project_id}/books"), 400, "INVALID_ID"
    )


def test_v2_covers_all_six_operations(client_as, books):
    client, base = client_as("owner", "2"), f"/collections/{books.project_id}/books"
    assert client.put(f"{base}/foo", {"value": "v"}, format="json").json()["upserted"] == 1
    assert (
        client.post(base, {"items": [{"key": "bar", "value": "w"}]}, format="json").json()[
            "upserted"
        ]
        == 1
    )
    assert client.get(f"{base}/foo").json()["value"] == "v"
    assert keys(stream(client, base)) == ["foo", "bar"]
    assert client.delete(f"{base}/foo").json()["deleted"] == 1
    assert client.delete(base).json()["deleted"] == 1
