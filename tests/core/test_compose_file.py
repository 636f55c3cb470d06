"""docker-compose.yml: the deployment it describes (docs/architecture.md) and the run files
storage settings it passes on, read as YAML and, where a Compose binary is installed, as
`docker compose config` / `docker-compose config` resolves it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

COMPOSE_FILE = Path(settings.BASE_DIR) / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
STORAGE_VARS = (
    "RUN_FILES_BACKEND",
    "RUN_FILES_ROOT",
    "RUN_FILES_S3_BUCKET",
    "RUN_FILES_S3_ENDPOINT_URL",
    "RUN_FILES_S3_REGION",
    "RUN_FILES_S3_ACCESS_KEY_ID",
    "RUN_FILES_S3_SECRET_ACCESS_KEY",
    "RUN_FILES_S3_URL_EXPIRE_SECONDS",
    "RUN_FILES_DOWNLOADS",
)
S3_ENV = {
    "SECRET_KEY": "x" * 50,
    "RUN_FILES_BACKEND": "s3",
    "RUN_FILES_S3_BUCKET": "skriptoteket-runs",
    "RUN_FILES_S3_ENDPOINT_URL": "https://objects.example.test",
    "RUN_FILES_S3_REGION": "eu-north-1",
    "RUN_FILES_S3_ACCESS_KEY_ID": "key-id",
    "RUN_FILES_S3_SECRET_ACCESS_KEY": "secret",
    "RUN_FILES_DOWNLOADS": "redirect",
}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the KEY=value form
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def test_the_compose_file_runs_stateless_web_workers_one_beat_and_shares_the_storage_settings():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat", "runner-image"}
    envs = {name: _environment(services[name]) for name in APP_SERVICES}
    for name, env in envs.items():
        assert set(STORAGE_VARS) <= set(env), name
        assert env["RUN_FILES_BACKEND"] == "${RUN_FILES_BACKEND:-filesystem}", name
    # Every app process reads and writes the same run files, however they are configured.
    assert len({tuple(env[var] for var in STORAGE_VARS) for env in envs.values()}) == 1
    assert "replicas" not in services["beat"].get("deploy", {})  # exactly one beat
    assert envs["worker"]["SANDBOX_RUNNER"] == "docker"


def _compose_binary() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if docker and plugin and plugin.returncode == 0:
        return [docker, "compose"]
    return None


def test_compose_config_gives_every_app_service_the_bucket_settings_django_reads():
    binary = _compose_binary()
    if binary is None:
        pytest.skip("no docker-compose or docker compose here: only the YAML checks ran")
    resolved = subprocess.run(
        [*binary, "-f", str(COMPOSE_FILE), "config"],
        env={"PATH": os.environ["PATH"], **S3_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    services = yaml.safe_load(resolved.stdout)["services"]
    envs = {name: _environment(services[name]) for name in APP_SERVICES}
    for name, env in envs.items():
        for var, value in S3_ENV.items():
            assert env[var] == value, (name, var)
    # What skriptoteket/settings.py makes of the web service's environment.
    probe = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['runfiles']))"
    )
    read = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "skriptoteket.settings"}
        | envs["web"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    storage = json.loads(read.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "skriptoteket-runs",
        "https://objects.example.test",
        "eu-north-1",
    )
    assert (options["access_key"], options["secret_key"], options["querystring_expire"]) == (
        "key-id",
        "secret",
        60,
    )
