"""Every response carries the Content-Security-Policy: nothing from another origin, no inline or
eval'd script. A tool's output (markdown images, html_sandboxed CSS and images) must not be able
to make a viewer's browser fetch anything from another host (docs/architecture.md, "Security
headers")."""

import pytest
from django.test import Client

from tests.clients import client_for
from tests.factories import UserFactory
from tests.factories.tools import make_draft, make_tool

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Keywords a source list may hold; anything else (a host, a scheme like https:, *) is an origin.
KEYWORDS = {"'self'", "'none'", "'unsafe-inline'", "data:"}


def directives(header: str) -> dict[str, list[str]]:
    parsed = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in parsed}


def test_the_policy_names_no_other_origin_and_allows_no_inline_script():
    policy = directives(POLICY)
    assert {source for sources in policy.values() for source in sources} <= KEYWORDS
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] + policy["default-src"]
    # Inline styles are allowed (the html_sandboxed frame inherits this policy and tools style
    # their HTML inline); they cannot fetch anything: images and fonts are 'self' or data: only.
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == policy["base-uri"] == policy["frame-ancestors"] == ["'none'"]


@pytest.fixture
def staff():
    return UserFactory(email="root@example.com", superuser=True)


ANONYMOUS_URLS = [
    "/accounts/login/",  # a plain template page
    "/admin/login/",  # Django admin
    "/api/docs/",  # Swagger UI
    "/api/docs/?script=",  # its start script, served apart so the page needs no inline script
    "/api/schema/",
    "/healthz",
    "/no-such-page",  # the 404 page
    "/api/v1/no-such-endpoint",  # the JSON 404 envelope
    "/projects/",  # a redirect to the login page
]


@pytest.mark.parametrize("url", ANONYMOUS_URLS)
def test_every_anonymous_response_carries_the_policy(url):
    response = Client().get(url)
    assert response.status_code < 500
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("alice", "/projects/"),
        ("alice", "/projects/{project}/tools"),
        ("alice", "/tools/{tool}/edit"),
        ("alice", "/accounts/tokens/"),
        ("staff", "/admin/"),
        ("staff", "/admin/accounts/user/"),
        ("staff", "/admin/accounts/user/add/"),
        ("staff", "/admin/locks/draftlock/"),
    ],
)
def test_every_page_of_a_signed_in_user_carries_the_policy(persona, url, staff, project, alice):
    tool = make_tool(owner=alice, project=project)
    make_draft(tool, alice)
    user = {"alice": alice, "staff": staff}[persona]
    response = client_for(user).get(url.format(project=project.pk, tool=tool.pk))
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)


def test_the_server_error_page_carries_the_policy(settings):
    settings.ROOT_URLCONF = "tests.core.urls_failing"
    response = Client(raise_request_exception=False).get("/explode")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)


def test_the_csrf_failure_page_carries_the_policy():
    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x"})
    assert response.status_code == 403
    assert directives(response["Content-Security-Policy"]) == directives(POLICY)
