import pytest

from apps.projects.models import Project

pytestmark = pytest.mark.django_db


def test_owner_reads_their_project(api_client_for, alice, project):
    response = api_client_for(alice).get(f"/api/v1/projects/{project.pk}")
    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    assert Project.objects.count() == 1
