"""A real Celery worker (prefork, the three queues) in a subprocess of its own, on the test
database and Redis database: the worker host of the end-to-end tests. Its environment is the
test process's plus what the test gives it (its own folders, its run files storage)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings as django_settings

from skriptoteket.celery import app

QUEUES = ("default", "sandbox", "runs")
# Gossip and mingle only slow the start of a worker that has no peers to talk to.
WORKER_ARGS = ["-Q", "default,sandbox,runs", "--concurrency", "2", "--pool", "prefork"]
WORKER_ARGS += ["-l", "warning", "--without-gossip", "--without-mingle"]
WORKER_COMMAND = [sys.executable, "-m", "celery", "-A", "skriptoteket", "worker", *WORKER_ARGS]
START_TIMEOUT_S = 20.0


class Worker:
    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    def control(self, command: str, queue: str) -> None:
        """Stop or start consuming `queue` (add_consumer / cancel_consumer), and wait for it."""
        replies = getattr(app.control, command)(queue, destination=[self.name], reply=True)
        assert replies, f"{command} {queue}: no reply from {self.name}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def celery_worker(*, database: str, env: dict[str, str], log: Path) -> Iterator[Worker]:
    """Start a worker on the test database `database` with `env` over this process's
    environment; stop it (and its children) on the way out."""
    name = f"e2e-{os.getpid()}-{log.stem}@{socket.gethostname()}"
    full_env = {
        **os.environ,
        "DATABASE_URL": _database_url(database),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        **env,
    }
    purge_queues()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*WORKER_COMMAND, "-n", name],
            cwd=django_settings.BASE_DIR,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the children stop with it
        )
    running = Worker(name, process, log)
    try:
        _wait_until_ready(running)
        yield running
    finally:
        _stop(running)
        log.unlink(missing_ok=True)


def purge_queues() -> None:
    # Messages left by earlier tests (runs of rows long flushed) would only be skipped, but they
    # would also make the wait for our runs longer.
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete(*QUEUES, "unacked", "unacked_index")


def queued_run_ids(queue: str) -> list[str]:
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    found = []
    for raw in client.lrange(queue, 0, -1):
        headers = json.loads(raw)["headers"]
        found.append(headers["argsrepr"].strip("[]()',\" "))
    return found


def _database_url(name: str) -> str:
    """DATABASE_URL with the database swapped for the test database."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _wait_until_ready(worker: Worker) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited early:\n{worker.output()}")
        if app.control.ping(destination=[worker.name], timeout=0.5):
            return
    pytest.fail(f"the worker did not answer a ping in {START_TIMEOUT_S} s:\n{worker.output()}")


def _stop(worker: Worker) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)  # warm shutdown of master and children
        try:
            worker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=5)
