"""Schemathesis over both OpenAPI documents, against a live server: no answer may be a 5xx, and
every answer must be one its operation documents (status, content type, headers, body).

Every operation is called with a token of each role (owner, admin, editor, viewer; for the data
API owner, editor, viewer and a run token) and, besides random path values, with the ids of real
objects, so the answers include successes, refusals by role and validation errors, not just 404s.
Bounded for CI (`EXAMPLES` per operation, no shrinking) and deterministic (derandomized). Run
alone with `pytest -m contract -s`, which prints the totals.
"""

import socket
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pytest_django.live_server_helper import LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts import services as account_services
from apps.kvcollections import services as collection_services
from apps.runs.services import submission
from tests.factories import ApiTokenFactory, UserFactory
from tests.factories.catalog import make_production_run
from tests.factories.kvcollections import CollectionFactory
from tests.factories.projects import make_role_world
from tests.factories.runs import editor_world, published_tool

pytestmark = [pytest.mark.contract, pytest.mark.django_db(transaction=True)]

DOCUMENTS = ("/api/schema/?format=json", "/api/schema/collections-v1/?format=json")
EXAMPLES = 8  # generated cases per operation; each is sent once per role
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
METHOD_ORDER = {"get": 0, "put": 1, "patch": 2, "post": 3, "delete": 4}
LAST = [("delete", "/api/v1/projects/{project_id}"), ("delete", "/api/v1/tokens/{id}")]


@dataclass
class World:
    api_tokens: dict[str, str]
    collection_tokens: dict[str, str]
    path_values: dict[str, list[str]]


@dataclass
class Totals:
    operations: int = 0
    examples: int = 0
    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    succeeded: set[str] = field(default_factory=set)  # operations that answered a 2xx

    def record(self, operation: str, status: int, failure: Failure) -> None:
        self.failures.setdefault(f"{operation} -> {status}: {failure.title}", str(failure)[:1500])


def _world() -> World:
    owner = UserFactory(contributor=True)
    people, project = make_role_world(owner, name="Fuzzed project")
    for name in ("admin", "editor"):
        people[name].role = "contributor"
        people[name].save(update_fields=["role"])
    published = published_tool(owner, project=project, title="Published")
    drafted = editor_world(owner, project=project)
    run = make_production_run(published, owner, timezone.now())
    books = CollectionFactory(project=project, name="books")
    collection_services.put_items(collection=books, items=[("book:001", '{"t": 1}'), ("b", "x")])
    spare = ApiTokenFactory(user=owner)  # the one a fuzzed DELETE /tokens/{id} may revoke
    api_tokens = {
        name: ApiTokenFactory(user=people[name]).secret
        for name in ("owner", "admin", "editor", "viewer")
    }
    _, run_secret = account_services.create_run_token(
        user=owner,
        project_id=project.pk,
        project_role="editor",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    collection_tokens = {
        "owner": api_tokens["owner"],
        "editor": api_tokens["editor"],
        "viewer": api_tokens["viewer"],
        "run": run_secret,
    }
    return World(
        api_tokens=api_tokens,
        collection_tokens=collection_tokens,
        path_values={
            "project_id": [str(project.pk)],
            "tool_id": [str(published.pk), str(drafted.tool.pk)],
            "version_id": [str(drafted.head.pk), str(published.active_version_id)],
            "run_id": [str(run.pk)],
            "user_id": [str(people["viewer"].pk)],
            "id": [str(spare.pk)],
            "name": ["books"],
            "key": ["book:001"],
            "context": ["default"],
        },
    )


def _strategy(operation: Any, world: World) -> st.SearchStrategy[Any]:
    """Random cases, plus cases whose path names real objects (valid, valid without query
    parameters, and invalid elsewhere)."""
    names = [parameter.name for parameter in operation.path_parameters]
    random_cases = operation.as_strategy()
    if not names or not all(name in world.path_values for name in names):
        return random_cases
    real_paths = st.fixed_dictionaries(
        {name: st.sampled_from(world.path_values[name]) for name in names}
    )
    return st.one_of(
        random_cases,
        real_paths.flatmap(lambda values: operation.as_strategy(path_parameters=values)),
        # Without query parameters, so the plain successful answer (a whole stream, a list) is
        # checked too, not only the refusals of odd parameters.
        real_paths.flatmap(lambda values: operation.as_strategy(path_parameters=values, query={})),
        real_paths.flatmap(
            lambda values: operation.as_strategy(
                schemathesis.GenerationMode.NEGATIVE, path_parameters=values
            )
        ),
    )


def _fuzz(operation: Any, tokens: dict[str, str], world: World, base_url: str, totals: Totals):
    label = operation.label
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, world))
    def run(case: Any) -> None:
        totals.examples += 1
        for token in tokens.values():
            # A fresh connection per request: the development server behind live_server reads
            # a request body only by Content-Length, so one odd request must not garble the next.
            headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
            response = case.call(base_url=base_url, session=session, headers=headers)
            totals.requests += 1
            totals.statuses[response.status_code] += 1
            if response.status_code < 300:
                totals.succeeded.add(label)
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:  # every failure is recorded, then reported at the end
                for failure in group.exceptions:
                    totals.record(label, response.status_code, failure)
            except Failure as failure:
                totals.record(label, response.status_code, failure)

    try:
        run()
    finally:
        session.close()  # ends the server's connection thread and its database connection


def _operations(base_url: str) -> list[Any]:
    """Every operation of both documents, in the order they are fuzzed."""
    operations = []
    for document in DOCUMENTS:
        raw = requests.get(base_url + document, timeout=30).json()
        schema = schemathesis.openapi.from_dict(raw)
        operations += [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=_order)


def _order(operation: Any) -> tuple[int, int, str]:
    """Reads, then writes, then deletes; last of all, deleting the project (after it every
    other call is a 404) and then a token (it may be the caller's own: then every call is a 401)."""
    method = operation.method.lower()
    last = LAST.index((method, operation.path)) + 1 if (method, operation.path) in LAST else 0
    return last, METHOD_ORDER[method], operation.path


def _without_nagle(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answer without Nagle's delay: the WSGI server writes headers and body separately, and
    the second write would wait ~40 ms for the client's delayed ACK on every request."""
    httpd = live_server.thread.httpd
    accept = httpd.get_request

    def get_request() -> tuple[socket.socket, Any]:
        connection, address = accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    monkeypatch.setattr(httpd, "get_request", get_request)


def test_every_operation_answers_as_documented_for_every_role(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    noop: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731
    monkeypatch.setattr(submission, "enqueue", noop)  # runs stay queued: no worker here
    _without_nagle(live_server, monkeypatch)
    world = _world()
    totals = Totals()
    for operation in _operations(live_server.url):
        data_api = operation.path.startswith("/collections/")
        tokens = world.collection_tokens if data_api else world.api_tokens
        totals.operations += 1
        _fuzz(operation, tokens, world, live_server.url, totals)
    with capsys.disabled():
        sys.stdout.write(
            f"\nschemathesis: {totals.operations} operations, {totals.examples} examples, "
            f"{totals.requests} requests, {len(totals.failures)} distinct failures; "
            f"{len(totals.succeeded)} operations answered 2xx; "
            f"statuses {sorted(totals.statuses.items())}\n"
        )
    # Real ids and tokens must reach past the 404s: most operations succeed at least once.
    assert len(totals.succeeded) >= totals.operations // 2, sorted(totals.succeeded)
    assert not totals.failures, "\n\n".join(
        f"{name}\n{details}" for name, details in totals.failures.items()
    )
