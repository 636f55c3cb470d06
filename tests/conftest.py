import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.projects.models import Project, ProjectRole
from apps.runs import services as run_services
from apps.runs.services import submission
from tests.factories import ApiTokenFactory, UserFactory, make_project
from tests.runs.helpers import isolated_run_dirs

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


# scripts/redis_db.py marks the Redis database this checkout owns with this key.
REDIS_OWNER_KEY = b"skriptoteket:checkout"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Throttle counters live in Redis; start every test with none. Not FLUSHDB: that would also
    # drop the owner key and let another checkout claim this database (scripts/redis_db.py).
    from apps.core.redis import redis_client

    client = redis_client()
    keys = [key for key in client.scan_iter(count=1000) if key != REDIS_OWNER_KEY]
    if keys:
        client.delete(*keys)


# Personas (healthchecks style): alice owns the project, bob is an editor, charlie is an outsider.
@pytest.fixture
def alice(db: None) -> User:
    return UserFactory(email="alice@example.com", contributor=True)


@pytest.fixture
def bob(db: None) -> User:
    return UserFactory(email="bob@example.com", contributor=True)


@pytest.fixture
def charlie(db: None) -> User:
    return UserFactory(email="charlie@example.com")


@pytest.fixture
def project(alice: User, bob: User) -> Project:
    return make_project({alice: ProjectRole.OWNER, bob: ProjectRole.EDITOR}, name="Alice's project")


@pytest.fixture
def api_client_for() -> Callable[[User], APIClient]:
    """An APIClient that sends a fresh personal token of `user` as a Bearer header."""

    def build(user: User) -> APIClient:
        token = ApiTokenFactory(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
        return client

    return build


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


# Nothing listens on port 1: connections are refused at once, like a Redis that is down.
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings: object) -> Iterator[None]:
    """Point the cache and every Redis client of this process at a Redis that is not there."""
    from apps.core.redis import redis_client

    settings.REDIS_URL = DEAD_REDIS_URL  # type: ignore[attr-defined]
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {**settings.CACHES["default"], "LOCATION": DEAD_REDIS_URL}  # type: ignore[attr-defined]
    }
    redis_client.cache_clear()
    yield
    redis_client.cache_clear()


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[list[threading.Thread]]:
    """Queued runs are executed by a thread of this process, with the real runner, instead of
    a Celery worker: a live server's committed run is picked up the way a worker would."""
    threads: list[threading.Thread] = []

    def execute(run_id: uuid.UUID) -> None:
        try:
            run_services.execute_run(run_id=run_id)
        finally:
            connections.close_all()

    def enqueue(run_id: uuid.UUID, context: str) -> None:
        thread = threading.Thread(target=execute, args=(run_id,), daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(submission, "enqueue", enqueue)
    with isolated_run_dirs(settings):
        yield threads
        for thread in threads:
            thread.join(timeout=30)
