"""The run, session and snapshot admin pages: staff can look, nobody can change anything."""

import pytest

from apps.runs.models import ToolRun, ToolSession
from apps.sandbox.models import SandboxSnapshot
from tests.clients import client_for
from tests.factories import UserFactory
from tests.factories.runs import editor_world, execute, snapshot_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def preview_run(alice, api_client_for):
    world = editor_world(alice)
    body = (
        api_client_for(alice)
        .post(
            f"/api/v1/editor/tool-versions/{world.head.pk}/run-sandbox",
            {"snapshot": snapshot_payload()},
            format="json",
        )
        .json()
    )
    return execute(body["run_id"])


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (ToolRun, "runs/toolrun"),
        (ToolSession, "runs/toolsession"),
        (SandboxSnapshot, "sandbox/sandboxsnapshot"),
    ],
)
def test_admin_lists_and_shows_read_only(preview_run, model, name):
    admin = client_for(UserFactory(admin=True))
    assert admin.get(f"/admin/{name}/").status_code == 200
    obj = model.objects.first()
    if obj is not None:
        page = admin.get(f"/admin/{name}/{obj.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
    assert admin.get(f"/admin/{name}/add/").status_code == 403


def test_contributors_cannot_open_the_run_admin(preview_run, alice):
    assert client_for(alice).get("/admin/runs/toolrun/").status_code == 302
