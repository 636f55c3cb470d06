"""Sandbox previews through the API for `sandbox_runs`: the bench tool, a real Celery worker,
an HTTP client that submits and polls, and the clean-up of every run the benchmark made.

Needs harness.setup_django() first (seeding and clean-up go through the models and services).
"""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bench import harness

OWNER_EMAIL = "bench-sandbox@bench.test"
PROJECT_NAME = "Bench sandbox runs"
TOOL_TITLE = "Bench sandbox tool"
TOKEN_NAME = "bench sandbox_runs"
DRAFT_SOURCE = "def run_tool(input_dir, output_dir):\n    return 'ok'\n"
SUBMIT_PATH = "/api/v1/editor/tool-versions/{version_id}/run-sandbox"
DETAILS_PATH = "/api/v1/editor/tool-runs/{run_id}"
TERMINAL = frozenset({"succeeded", "failed", "timed_out", "cancelled"})
# Above the sandbox wall limit (60 s by default): a run that takes longer is stuck, not slow.
RUN_TIMEOUT_SECONDS = 90.0
WORKER_CONCURRENCY = 2
WORKER_STOP_TIMEOUT_SECONDS = 30.0
CLIENT_TIMEOUT_SECONDS = 30


# --- Set-up and clean-up ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    user_id: int
    tool_id: str
    version_id: str  # the tool's draft head, locked by the user
    lock_token: int
    token: str


def seed() -> Fixture:
    """Create (once) the user, project, tool and draft; take the lock; mint a fresh token."""
    from apps.accounts import services as account_services
    from apps.accounts.models import ApiToken
    from apps.tools import services as tool_services
    from apps.tools.models import Tool

    user = harness.bench_contributor(OWNER_EMAIL, "Bench Sandbox")
    project = harness.bench_project(user, PROJECT_NAME)
    tool = Tool.objects.filter(project=project, owner=user).order_by("created_at").first()
    if tool is None:
        tool = tool_services.create_tool(project=project, creator=user, title=TOOL_TITLE)
    if tool.draft_head_id is None:
        content = tool_services.ContentEdit(source_code=DRAFT_SOURCE)
        tool_services.create_draft(tool=tool, actor=user, content=content)
        tool.refresh_from_db()
    lock = tool_services.acquire_draft_lock(
        tool=tool, actor=user, draft_head_id=str(tool.draft_head_id)
    )
    if lock.holder_id != user.pk:
        raise harness.BenchError(f"{user.email} could not take the lock of tool {tool.pk}")
    # Old bench tokens are useless (their secrets were never stored); keep the table tidy.
    for old in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
        account_services.revoke_api_token(token=old)
    _, secret = account_services.create_api_token(user=user, name=TOKEN_NAME, expires_in_days=1)
    return Fixture(user.pk, str(tool.pk), str(tool.draft_head_id), lock.token, secret)


def delete_bench_runs(tool_id: str) -> int:
    """Delete every run of the bench tool with what it left: snapshots, sessions, run tokens,
    spooled inputs and artifact folders. Returns how many runs there were."""
    from apps.accounts.models import ApiToken, TokenKind
    from apps.runs import session_files
    from apps.runs.models import ToolRun, ToolSession
    from apps.sandbox.models import SandboxSnapshot

    run_ids = list(ToolRun.objects.filter(tool_id=tool_id).values_list("pk", flat=True))
    ToolSession.objects.filter(tool_id=tool_id).delete()
    ToolRun.objects.filter(pk__in=run_ids).delete()
    SandboxSnapshot.objects.filter(tool_id=tool_id).delete()
    ApiToken.objects.filter(kind=TokenKind.RUN, run_id__in=run_ids).delete()
    for run_id in run_ids:
        session_files.remove_artifacts(run_id)
        session_files.remove_run_folders(run_id)
    return len(run_ids)


# --- The Celery worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    pid: int
    log_path: Path


def worker_command() -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "skriptoteket", "worker",
        "-Q", "default,sandbox,runs",
        "--concurrency", str(WORKER_CONCURRENCY),
        # As scripts/run.sh starts it. INFO, not WARNING: Celery sets the root logger to this
        # level, and the worker's `run.sandbox_finished` line (the sandbox wall) is INFO.
        "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        # Our own node name: nothing else may answer for this worker on the broker.
        "-n", f"bench-sandbox-{os.getpid()}@%h",
    ]  # fmt: skip


@contextmanager
def celery_worker(name: str, env_overrides: Mapping[str, str]) -> Iterator[Worker]:
    """Start `celery worker` with the benchmark's environment; always stop it (and its pool) on
    exit. Logs go to bench/results/<name>-<timestamp>-worker.log."""
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = harness.RESULTS_DIR / f"{name}-{harness.timestamp()}-worker.log"
    with log_path.open("wb") as log:
        # Its own session, so its pool processes can be killed as one group if it hangs.
        process = subprocess.Popen(
            worker_command(),
            cwd=harness.REPO_ROOT,
            env=harness.server_env(env_overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield Worker(process.pid, log_path)
        finally:
            stop_worker(process)


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM is Celery's warm shutdown; then kill whatever is left of its process group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=WORKER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    # The group is ours (start_new_session); it has no members left after a clean shutdown.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def check_worker_alive(worker: Worker) -> None:
    if not Path(f"/proc/{worker.pid}").exists():
        raise harness.BenchError(f"the Celery worker exited; see {worker.log_path}")


def sandbox_walls_ms(worker: Worker) -> dict[str, float]:
    """run id -> the backend's own wall time of the sandbox (`run.sandbox_finished` wall_s)."""
    walls = {}
    for line in worker.log_path.read_bytes().splitlines():
        if not line.startswith(b"{"):
            continue  # Celery's own lines
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == "run.sandbox_finished":
                walls[str(entry["run_id"])] = float(entry["wall_s"]) * 1000
    return walls


# --- The HTTP client ----------------------------------------------------------------------------


class Client:
    """One connection (one thread): submit previews and read run details as the editor does."""

    def __init__(self, port: int, fixture: Fixture) -> None:
        self.connection = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS
        )
        self.fixture = fixture
        self.headers = {
            "Authorization": f"Bearer {fixture.token}",
            "X-Draft-Lock-Token": str(fixture.lock_token),
        }

    def close(self) -> None:
        self.connection.close()

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, Any]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            # http.client opens the connection again when the server closed it (sync workers do).
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        try:
            return response.status, orjson.loads(data)
        except orjson.JSONDecodeError:
            return response.status, data[:300]

    def submit(self, source: str) -> str:
        """POST a preview of `source`; the run id of the 202."""
        snapshot: dict[str, Any] = {
            "entrypoint": "run_tool",
            "source_code": source,
            "input_schema": [],
            "settings_schema": None,
            "usage_instructions": "",
        }
        body = orjson.dumps({"snapshot": snapshot, "inputs": {}})
        path = SUBMIT_PATH.format(version_id=self.fixture.version_id)
        status, document = self._request("POST", path, body)
        if status != 202 or not isinstance(document, dict) or "run_id" not in document:
            raise harness.BenchError(f"POST {path} answered {status} {document!r}")
        return str(document["run_id"])

    def details(self, run_id: str) -> dict[str, Any]:
        path = DETAILS_PATH.format(run_id=run_id)
        status, document = self._request("GET", path, None)
        if status != 200 or not isinstance(document, dict):
            raise harness.BenchError(f"GET {path} answered {status} {document!r}")
        return document

    def wait(self, run_id: str, interval: float) -> tuple[dict[str, Any], int]:
        """Poll until the run is terminal, `interval` seconds between answer and next request;
        returns the final details and how many polls it took."""
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        polls = 0
        while True:
            document = self.details(run_id)
            polls += 1
            if document["status"] in TERMINAL:
                return document, polls
            if time.monotonic() > deadline:
                raise harness.BenchError(
                    f"run {run_id} still {document['status']} after {RUN_TIMEOUT_SECONDS:.0f}s"
                )
            time.sleep(interval)


def require_success(document: dict[str, Any]) -> None:
    if document["status"] != "succeeded":
        raise harness.BenchError(
            f"run {document['run_id']} ended {document['status']}: "
            f"{document.get('error_summary')!r} stderr {str(document.get('stderr'))[:300]!r}"
        )


def db_time(document: dict[str, Any], field: str) -> datetime:
    """A run timestamp (the database clock) from run details."""
    return datetime.fromisoformat(str(document[field]))


def span_ms(document: dict[str, Any], start: str, end: str) -> float:
    return (db_time(document, end) - db_time(document, start)).total_seconds() * 1000
