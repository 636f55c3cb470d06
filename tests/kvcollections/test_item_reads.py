"""Plain item reads are answered ahead of the stack (apps/kvcollections/api/item_reads.py), with
exactly the response CollectionsDataView gives; everything else still reaches the view."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services as account_services
from apps.core.redis import redis_client
from apps.kvcollections import services
from apps.kvcollections.api import item_reads
from apps.projects.models import ProjectRole
from tests.factories import ApiTokenFactory, CollectionFactory, UserFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    reader = UserFactory(email="reader@example.com")
    library = make_project({reader: ProjectRole.VIEWER}, name="Library")
    books = CollectionFactory(project=library, name="books")
    services.put_item(collection=books, key="dune", value='{"pages": 412}')
    for name in ("Archive", "Annex"):  # "shared" is in two of the reader's projects
        CollectionFactory(
            project=make_project({reader: ProjectRole.EDITOR}, name=name), name="shared"
        )
    elsewhere = make_project({UserFactory(): ProjectRole.OWNER}, name="Elsewhere")
    token = ApiTokenFactory(user=reader)
    revoked = ApiTokenFactory(user=reader)
    account_services.revoke_api_token(token=revoked)
    return {
        "library": library.pk,
        "elsewhere": elsewhere.pk,
        "personal": token.secret,
        "revoked": revoked.secret,
        "run": run_token(reader, library.pk, "viewer"),
        "run_no_role": run_token(reader, library.pk, ""),
    }


def run_token(user, project_id, role):
    _, secret = account_services.create_run_token(
        user=user,
        project_id=project_id,
        project_role=role,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    return secret


# (id, token, path, headers, answered ahead of the stack)
CASES = [
    ("v1 item", "personal", "/collections/books/dune", {}, True),
    ("v1 missing item", "personal", "/collections/books/nobody", {}, True),
    ("v2 item", "personal", "/collections/{library}/books/dune", {"x-api-version": "2"}, True),
    ("v2 missing item", "personal", "/collections/{library}/books/x", {"x-api-version": "2"}, True),
    ("run token", "run", "/collections/books/dune", {}, True),
    ("Accept: */*", "personal", "/collections/books/dune", {"Accept": "*/*"}, True),
    ("Accept JSON", "personal", "/collections/books/dune", {"Accept": "application/json"}, True),
    ("no such name", "personal", "/collections/films/dune", {}, False),
    ("ambiguous name", "personal", "/collections/shared/dune", {}, False),
    ("run token, no role", "run_no_role", "/collections/books/dune", {}, False),
    (
        "another project",
        "personal",
        "/collections/{elsewhere}/books/d",
        {"x-api-version": "2"},
        False,
    ),
    ("bad project id", "personal", "/collections/nope/books/dune", {"x-api-version": "2"}, False),
    ("revoked token", "revoked", "/collections/books/dune", {}, False),
    ("malformed token", "skt_pat_short", "/collections/books/dune", {}, False),
    ("no credentials", None, "/collections/books/dune", {}, False),
    ("unknown version", "personal", "/collections/books/dune", {"x-api-version": "3"}, False),
    ("query string", "personal", "/collections/books/dune?limit=1", {}, False),
    ("Accept HTML", "personal", "/collections/books/dune", {"Accept": "text/html"}, False),
    ("Accept list", "personal", "/collections/books/dune", {"Accept": "text/plain, */*"}, False),
    ("NUL in key", "personal", "/collections/books/a%00b", {}, False),
    ("key at limit+1", "personal", "/collections/books/" + "k" * 256, {}, False),
    ("empty key", "personal", "/collections/books/", {}, False),
    ("whole collection", "personal", "/collections/books", {}, False),
]


def answer(world, token, path, headers):
    client = APIClient()
    if token is not None:
        secret = world.get(token, token)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    response = client.get(path.format(**world), **extra)
    kept = {name: value for name, value in response.headers.items() if name != "X-Request-ID"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, kept


@pytest.mark.parametrize(
    ("token", "path", "headers", "ahead"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_answer_is_the_views_whoever_gives_it(world, monkeypatch, token, path, headers, ahead):
    served = []
    real_serve = item_reads.serve
    monkeypatch.setattr(
        item_reads, "serve", lambda request: served.append(real_serve(request)) or served[-1]
    )
    ahead_of_stack = answer(world, token, path, headers)
    assert (served != [] and served[-1] is not None) == ahead
    monkeypatch.setattr(item_reads, "serve", lambda request: None)
    by_the_view = answer(world, token, path, headers)
    assert ahead_of_stack == by_the_view
    assert by_the_view[0] < 500


def test_a_throttled_read_is_the_views_429(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "anon": "2/min"},
    }
    statuses = [answer(world, "personal", "/collections/books/dune", {})[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    status, body, headers = answer(world, "personal", "/collections/books/dune", {})
    assert (status, b"THROTTLED" in body, int(headers["Retry-After"]) >= 1) == (429, True, True)


def test_reads_answered_ahead_are_throttled_and_logged_like_any_other(world, caplog):
    answer(world, "personal", "/collections/books/dune", {})
    keys = redis_client().keys("throttle:user:*")
    assert len(keys) == 1 and int(redis_client().get(keys[0])) == 1
    (line,) = [r.msg for r in caplog.records if r.name == "skriptoteket.access"]
    assert line["status"] == 200 and line["user_id"] is not None


def test_a_read_that_goes_on_to_the_view_is_counted_once(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "3/min"},
    }
    paths = ["/collections/books/dune"] + ["/collections/films/dune"] * 3
    statuses = [answer(world, "personal", path, {})[0] for path in paths]
    assert statuses == [200, 404, 404, 429]


def test_reads_go_on_while_redis_is_down(world, redis_down):
    for _ in range(2):  # the second read sends its count before the statement
        assert answer(world, "personal", "/collections/books/dune", {})[0] == 200
        assert answer(world, "personal", "/collections/films/dune", {})[0] == 404
