"""Flash messages show once: on the page right after the action, never again on a later one."""

import pytest

from tests.clients import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def flows(project):
    base = f"/projects/{project.pk}"
    return {
        "member": (f"{base}/members/add", {"email": "nina@example.com", "role": "viewer"}),
        "unknown member": (
            f"{base}/members/add",
            {"email": "nobody@example.com", "role": "viewer"},
        ),
        "collection": (f"{base}/collections/", {"name": "grades"}),
        "sandbox": (f"{base}/sandboxes/new", {"name": "Try-out"}),
        "settings": (f"{base}/", {"name": "Renamed", "description": "", "colour": "#123456"}),
        "deletion": (f"{base}/delete", {"confirm": "1"}),
    }


@pytest.mark.parametrize(
    "flow", ["member", "unknown member", "collection", "sandbox", "settings", "deletion"]
)
def test_a_message_shows_on_the_next_page_only(alice, project, flow):
    UserFactory(email="nina@example.com")
    client = client_for(alice)
    url, data = flows(project)[flow]

    after = client.post(url, data, HTTP_REFERER=f"http://testserver/projects/{project.pk}/")
    shown = client.get(after["Location"]) if after.status_code == 302 else after
    later = client.get("/projects/")

    assert len(messages_of(shown)) == (0 if flow == "unknown member" else 1)
    assert messages_of(later) == []
    assert 'id="flash-messages"' not in later.content.decode()
