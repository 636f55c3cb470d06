"""Every failure under /api/v1 answers with the envelope, framework errors included."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    return body


def post_raw(client, body, content_type="application/json", path="/api/v1/projects"):
    return client.generic("POST", path, body, content_type=content_type)


@pytest.fixture
def client(alice, api_client_for):
    return api_client_for(alice)


def test_unparseable_json_is_400(client):
    assert_envelope(post_raw(client, "{not json"), 400, "PARSE_ERROR")


def test_unknown_routes_are_404_envelopes(client, anon_client):
    assert_envelope(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_envelope(anon_client.get("/api/v2/whatever"), 404, "NOT_FOUND")
    assert_envelope(client.get("/api/v1/projects/"), 404, "NOT_FOUND")


def test_wrong_method_is_405(client, project):
    assert_envelope(client.put(f"/api/v1/projects/{project.pk}", {}), 405, "METHOD_NOT_ALLOWED")
    assert_envelope(client.delete("/api/v1/projects"), 405, "METHOD_NOT_ALLOWED")


def test_unsupported_media_type_is_415(client):
    assert_envelope(
        post_raw(client, "name=x", "application/x-www-form-urlencoded"),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )


def test_validation_errors_are_422_with_field_details(client):
    body = assert_envelope(
        client.post("/api/v1/projects", {}, format="json"), 422, "VALIDATION_ERROR"
    )
    assert "name" in body["error"]["details"]["fields"]


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(client, settings):
    limit = settings.API_MAX_BODY_BYTES
    filler = "x" * (limit - len('{"name": ""}'))
    at_limit = '{"name": "' + filler + '"}'
    assert len(at_limit.encode()) == limit
    assert_envelope(post_raw(client, at_limit), 422, "VALIDATION_ERROR")
    body = assert_envelope(post_raw(client, at_limit + " "), 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"] == {"max_bytes": limit}


def test_throttled_requests_are_429_with_retry_after(alice, api_client_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "anon": "2/min"},
    }
    client = api_client_for(alice)
    statuses = [client.get("/api/v1/projects").status_code for _ in range(3)]
    assert statuses[:2] == [200, 200]
    response = client.get("/api/v1/projects")
    body = assert_envelope(response, 429, "THROTTLED")
    assert int(response["Retry-After"]) >= 1
    assert body["error"]["details"]["retry_after_seconds"] >= 1


def test_an_unexpected_error_is_a_500_envelope_without_a_traceback(settings):
    settings.ROOT_URLCONF = "tests.core.urls_failing"
    client = APIClient(raise_request_exception=False)
    body = assert_envelope(client.get("/api/v1/explode"), 500, "INTERNAL_ERROR")
    assert "boom" not in str(body)


def test_a_safe_incoming_request_id_is_kept_and_a_hostile_one_replaced(anon_client):
    kept = anon_client.get("/api/v1/projects", HTTP_X_REQUEST_ID="trace-123")
    assert kept["X-Request-ID"] == "trace-123"
    replaced = anon_client.get("/api/v1/projects", HTTP_X_REQUEST_ID="bad id\nInjected: yes")
    assert replaced["X-Request-ID"] != "bad id\nInjected: yes"
    assert len(replaced["X-Request-ID"]) == 32


def test_html_pages_get_a_request_id_too(client):
    response = APIClient().get("/accounts/login/")
    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ('{"name": "a\\u0000b"}', 422, "VALIDATION_ERROR"),
        ('{"name": "\\ud800"}', 400, "PARSE_ERROR"),
        (b'{"name": "\xed\xa0\x80"}', 400, "PARSE_ERROR"),
        (b'{"name": "\xff\xfe"}', 400, "PARSE_ERROR"),
        ("[" * 10_000 + "]" * 10_000, 400, "PARSE_ERROR"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, 400, "PARSE_ERROR"),
        ('{"name": 1e400}', 400, "PARSE_ERROR"),
        ('{"name": 123456789012345678901234567890}', 422, "VALIDATION_ERROR"),
        ('{"name": NaN}', 400, "PARSE_ERROR"),
        ('"just a string"', 422, "VALIDATION_ERROR"),
        ("[1, 2]", 422, "VALIDATION_ERROR"),
        ("null", 422, "VALIDATION_ERROR"),
        ("", 422, "VALIDATION_ERROR"),
    ],
)
def test_hostile_bodies_never_produce_a_5xx(client, raw, status, code):
    assert_envelope(post_raw(client, raw), status, code)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/projects/not-a-uuid",
        "/api/v1/projects/%00",
        "/api/v1/projects/123",
        "/api/v1/projects/" + "f" * 500,
        "/api/v1/projects/%ED%A0%80",
        "/api/v1/projects/00000000-0000-0000-0000-00000000000g",
    ],
)
def test_malformed_project_ids_are_400(client, path):
    assert_envelope(client.get(path), 400, "INVALID_ID")


@pytest.mark.parametrize(
    "query", ["name=%00", "name=%ED%A0%80", "name=" + "n" * 10_000, "page_size=-1", "page=%00"]
)
def test_hostile_query_strings_never_produce_a_5xx(client, query):
    response = client.get(f"/api/v1/projects?{query}")
    assert response.status_code < 500


def test_throttling_fails_open_when_redis_is_down(alice, api_client_for, settings, monkeypatch):
    import redis

    from apps.core.api import throttling

    monkeypatch.setattr(
        throttling, "redis_client", lambda: redis.Redis(port=1, socket_connect_timeout=0.2)
    )
    assert api_client_for(alice).get("/api/v1/projects").status_code == 200
