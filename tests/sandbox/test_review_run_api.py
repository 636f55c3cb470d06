"""`POST /api/v1/editor/tool-versions/{id}/review-run`: a reviewer's sandbox preview of exactly
the version in review."""

import json
import uuid

import pytest

from apps.runs.models import RunStatus
from apps.sandbox.models import SandboxSnapshot
from apps.tools import services as tools
from tests.factories import UserFactory
from tests.factories.review import in_review
from tests.factories.runs import execute

pytestmark = pytest.mark.django_db

FORM = [{"kind": "string", "name": "who", "label": "Who"}]


def url(version_id):
    return f"/api/v1/editor/tool-versions/{version_id}/review-run"


@pytest.fixture
def world(alice):
    return in_review(alice, input_schema=FORM, preview=False)


@pytest.fixture
def admin():
    return UserFactory(admin=True)


def test_an_admin_runs_the_version_in_review(world, admin, api_client_for):
    response = api_client_for(admin).post(
        url(world.version.pk), {"inputs": json.dumps({"who": "Ada"})}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == {"run_id", "status", "snapshot_id", "state_rev"}
    snapshot = SandboxSnapshot.objects.get(pk=body["snapshot_id"])
    assert snapshot.content_hash == world.version.content_hash
    run = execute(body["run_id"])
    assert run.status == RunStatus.SUCCEEDED, run.stderr
    assert "'who': 'Ada'" in run.ui_payload["outputs"][0]["message"]
    details = api_client_for(admin).get(f"/api/v1/editor/tool-runs/{run.pk}").json()
    assert details["snapshot_id"] == str(snapshot.pk)


def test_a_json_body_works_too(world, admin, api_client_for):
    response = api_client_for(admin).post(
        url(world.version.pk), {"inputs": {"who": "Bo"}}, format="json"
    )
    assert response.status_code == 202, response.json()


def test_the_author_is_not_a_reviewer(world, alice, api_client_for):
    response = api_client_for(alice).post(url(world.version.pk), {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ADMIN_REQUIRED"


def test_an_outsider_gets_404(world, charlie, api_client_for):
    response = api_client_for(charlie).post(url(world.version.pk), {}, format="json")
    assert response.status_code == 404
    missing = api_client_for(charlie).post(url(uuid.uuid4()), {}, format="json")
    assert missing.status_code == 404


def test_a_version_not_in_review_is_a_conflict(world, admin, api_client_for):
    tools.publish_version(version=world.version, actor=admin)
    response = api_client_for(admin).post(url(world.version.pk), {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "WRONG_VERSION_STATE"


def test_inputs_that_do_not_fit_the_form_are_refused(world, admin, api_client_for):
    response = api_client_for(admin).post(
        url(world.version.pk), {"inputs": {"nobody": 1}}, format="json"
    )
    assert response.status_code == 422
    assert SandboxSnapshot.objects.count() == 0


def test_the_endpoint_is_in_the_openapi_schema(admin, api_client_for):
    schema = api_client_for(admin).get("/api/schema/?format=json").json()
    assert "post" in schema["paths"]["/api/v1/editor/tool-versions/{version_id}/review-run"]
