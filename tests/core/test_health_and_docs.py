import re

import pytest
from django.core.cache import cache

from apps.core.tasks import WORKER_HEARTBEAT_KEY, record_worker_heartbeat_task

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_redis_and_a_missing_worker_heartbeat(anon_client):
    response = anon_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok")
    assert body["worker"] == {"status": "stale", "heartbeat_age_seconds": None}


def test_the_heartbeat_task_makes_the_worker_look_alive(anon_client):
    record_worker_heartbeat_task()
    assert cache.get(WORKER_HEARTBEAT_KEY) is not None
    worker = anon_client.get("/healthz").json()["worker"]
    assert worker["status"] == "ok"
    assert worker["heartbeat_age_seconds"] < 5


def test_healthz_is_503_when_redis_is_down(anon_client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = anon_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")


def test_the_openapi_schema_describes_every_v1_endpoint_and_the_envelope(anon_client):
    response = anon_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/projects",
        "/api/v1/projects/{project_id}",
        "/api/v1/projects/{project_id}/restore",
        "/api/v1/projects/{project_id}/members",
        "/api/v1/projects/{project_id}/members/{user_id}",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
    } <= paths
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    create = schema["paths"]["/api/v1/projects"]["post"]["responses"]
    assert "201" in create and "422" in create


def test_swagger_ui_loads_its_assets_from_this_server_only(anon_client):
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    assert all(url.startswith("/") for url in urls), urls
    for url in urls:
        assert anon_client.get(url).status_code == 200, url


def test_the_openapi_schema_generates_without_warnings_or_errors(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi:")
