"""Run files in an S3 bucket shared by a web side and a worker host that share nothing else.

The bucket is moto's S3 server, started by this module on a free loopback port. The worker is a
real Celery worker in a subprocess (tests/runs/celery_worker.py) running tools with the real
runner; it reads its storage settings from the environment as a deployment does. The web side is
this test process. Each side has folders of its own and no path of the other's, so an upload,
a kept input, a session file or an artifact can only travel through the bucket.
"""

import shutil
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from moto.server import ThreadedMotoServer

from apps.runs import session_files, tasks
from tests.runs.celery_worker import Worker, celery_worker
from tests.runs.helpers import TEST_UID_BASE, TEST_UID_SLOTS, new_work_root, published

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "skriptoteket-run-files"
TERMINAL = {"succeeded", "failed", "timed_out", "cancelled"}
FILES_SOURCE = """\
from skriptoteket_toolkit import list_input_files

def run_tool(input_dir, output_dir):
    import os
    os.makedirs(output_dir + "/sub", exist_ok=True)
    found = sorted(f["name"] for f in list_input_files())
    for f in list_input_files():
        data = open(f["path"], "rb").read()
        open(output_dir + "/sub/" + f["name"] + ".upper", "wb").write(data.upper())
    return {"outputs": [{"kind": "notice", "level": "info", "message": ",".join(found) or "-"}]}
"""
FILE_SCHEMA = [{"kind": "file", "name": "files", "label": "Files", "min": 0, "max": 3}]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _s3_env(endpoint: str) -> dict[str, str]:
    """The deployment's settings for a bucket (docs/runner.md, docker-compose.yml)."""
    return {
        "RUN_FILES_BACKEND": "s3",
        "RUN_FILES_S3_BUCKET": BUCKET,
        "RUN_FILES_S3_ENDPOINT_URL": endpoint,
        "RUN_FILES_S3_REGION": "us-east-1",
        "RUN_FILES_S3_ACCESS_KEY_ID": "test",
        "RUN_FILES_S3_SECRET_ACCESS_KEY": "test",
    }


@pytest.fixture(scope="module")
def worker_host() -> Iterator[tuple[Path, Path]]:
    """The worker host's own folders: its run folders and an unused RUN_FILES_ROOT."""
    work = new_work_root()
    files = Path(tempfile.mkdtemp(prefix="skt-worker-files-", dir="/tmp"))
    yield work, files
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(files, ignore_errors=True)


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None,
    django_db_blocker: Any,
    s3_endpoint: str,
    worker_host: tuple[Path, Path],
) -> Iterator[Worker]:
    with django_db_blocker.unblock():
        database = connection.settings_dict["NAME"]
    work, files = worker_host
    env = {
        **_s3_env(s3_endpoint),
        "SANDBOX_WORK_ROOT": str(work),
        "RUN_FILES_ROOT": str(files),
        "SANDBOX_UID_BASE": str(TEST_UID_BASE),
        "SANDBOX_UID_SLOTS": str(TEST_UID_SLOTS),
        "RUN_WALL_SECONDS_PRODUCTION": "10",
    }
    log = Path(tempfile.gettempdir()) / f"skt-s3-worker-{uuid.uuid4().hex}.log"
    with celery_worker(database=database, env=env, log=log) as running:
        yield running


@pytest.fixture
def web_host(settings: Any, s3_endpoint: str, tmp_path: Path) -> Path:
    """This process as a web host: the bucket for run files, folders of its own."""
    settings.RUN_FILES_ROOT = tmp_path / "web-run-files"
    settings.SANDBOX_WORK_ROOT = tmp_path / "web-work"
    settings.STORAGES = {
        **settings.STORAGES,
        "runfiles": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": _s3_options(s3_endpoint),
        },
    }
    settings.RUN_FILES_DOWNLOADS = "stream"
    return tmp_path


def _s3_options(endpoint: str) -> dict[str, Any]:
    """What skriptoteket/settings.py makes of _s3_env (the worker reads that env itself)."""
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "test",
        "secret_key": "test",
        "querystring_expire": 60,
        "file_overwrite": True,
        "default_acl": None,
    }


def _keys(endpoint: str, prefix: str) -> list[str]:
    listed = _client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _finished(client: Any, run_id: str, worker: Worker) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
        if body["status"] in TERMINAL:
            assert body["status"] == "succeeded", (body, worker.output())
            return body
        time.sleep(0.05)
    pytest.fail(f"run {run_id} did not finish:\n{worker.output()}")


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, "not so after 5 s"
        time.sleep(0.05)


def _download(client: Any, body: dict[str, Any]) -> dict[str, bytes]:
    found = {}
    for artifact in body["artifacts"]:
        response = client.get(artifact["download_url"])
        assert response.status_code == 200
        found[artifact["path"]] = b"".join(response.streaming_content)
        assert response["Content-Length"] == str(len(found[artifact["path"]]))
    return found


def _local_files(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


def test_upload_run_rerun_and_download_go_through_the_bucket_alone(
    worker, worker_host, web_host, s3_endpoint, alice, api_client_for
):
    client = api_client_for(alice)
    tool = published(alice, FILES_SOURCE, input_schema=FILE_SCHEMA)
    upload = SimpleUploadedFile("elever.csv", b"namn\nada\n")
    response = client.post(f"/api/v1/tools/{tool.pk}/run", {"files": [upload]}, format="multipart")
    assert response.status_code == 202, response.json()
    run_id = response.json()["run_id"]

    body = _finished(client, run_id, worker)
    assert body["ui_payload"]["outputs"][0]["message"] == "elever.csv"
    assert _download(client, body) == {"output/sub/elever.csv.upper": b"NAMN\nADA\n"}
    assert _keys(s3_endpoint, f"inputs-kept/{run_id}/") == [
        f"inputs-kept/{run_id}/.stored",
        f"inputs-kept/{run_id}/elever.csv",
    ]
    _eventually(lambda: _keys(s3_endpoint, f"inputs/{run_id}/") == [])  # removed after the end

    # The session keeps the file: a run without uploads can use it again.
    reused = client.post(
        f"/api/v1/tools/{tool.pk}/run", {"session_files_mode": "reuse"}, format="json"
    ).json()["run_id"]
    assert _download(client, _finished(client, reused, worker)) == {
        "output/sub/elever.csv.upper": b"NAMN\nADA\n"
    }
    # A re-run fetches the kept inputs of the first run.
    rerun = client.post(f"/api/v1/runs/{run_id}/rerun")
    assert rerun.status_code == 202, rerun.json()
    again = _finished(client, rerun.json()["run_id"], worker)
    assert _download(client, again) == {"output/sub/elever.csv.upper": b"NAMN\nADA\n"}

    # An artifact the sweep removed after the run page was shown: 404, never a 5xx.
    _client(s3_endpoint).delete_object(
        Bucket=BUCKET, Key=f"artifacts/{run_id}/output/sub/elever.csv.upper"
    )
    gone = client.get(body["artifacts"][0]["download_url"])
    assert gone.status_code == 404, gone.content

    work, worker_files = worker_host
    assert _local_files(worker_files, web_host) == []
    assert [entry.name for entry in work.iterdir() if not entry.name.startswith(".")] == []


def test_a_download_can_be_a_redirect_to_a_short_lived_signed_url(
    worker, web_host, settings, s3_endpoint, alice, api_client_for
):
    settings.RUN_FILES_DOWNLOADS = "redirect"
    client = api_client_for(alice)
    tool = published(alice, FILES_SOURCE, input_schema=FILE_SCHEMA)
    upload = SimpleUploadedFile("a b.txt", b"hej")
    run_id = client.post(
        f"/api/v1/tools/{tool.pk}/run", {"files": [upload]}, format="multipart"
    ).json()["run_id"]
    [artifact] = _finished(client, run_id, worker)["artifacts"]

    response = client.get(artifact["download_url"])
    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{s3_endpoint}/{BUCKET}/artifacts/{run_id}/output/sub/")
    assert "Expires=" in url or "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=5) as fetched:
        assert fetched.read() == b"HEJ"
        assert 'filename="a b.txt.upper"' in fetched.headers["Content-Disposition"]
    assert api_client_for(alice).get(f"/api/v1/runs/{run_id}/artifacts/nope").status_code == 404


def test_the_retention_sweeps_work_on_the_bucket(web_host, settings, s3_endpoint, alice, tmp_path):
    settings.ARTIFACTS_RETENTION_DAYS = 7
    settings.RUN_INPUTS_RETENTION_DAYS = 3
    settings.SESSION_FILES_TTL_SECONDS = 600
    staging = tmp_path / "staging"
    (staging / "output").mkdir(parents=True)
    (staging / "output" / "r.txt").write_text("r")
    old, young = uuid.uuid4(), uuid.uuid4()
    tool_id = uuid.uuid4()
    with time_machine.travel(timedelta(days=-8)):
        session_files.store_artifacts(old, staging)
        session_files.save_input(old, "a.txt", ContentFile(b"a"))
        session_files.keep_run_inputs(old)
        session_files.remove_run_folders(old)
        session_files.save_input(uuid.uuid4(), "orphan.txt", ContentFile(b"o"))
        source = session_files.storage().save("uploads/s.txt", ContentFile(b"s"))
        session_files.store_files(
            tool_id=tool_id, user_id=alice.pk, context="old", files=[("s.txt", source)]
        )
    session_files.store_artifacts(young, staging)
    session_files.save_input(young, "a.txt", ContentFile(b"a"))
    session_files.keep_run_inputs(young)
    session_files.remove_run_folders(young)
    session_files.store_files(
        tool_id=tool_id, user_id=alice.pk, context="new", files=[("s.txt", source)]
    )

    counts = tasks.cleanup_run_files_task()

    assert counts == {
        "session_folders": 1,
        "session_files": 1,
        "session_bytes": 1,
        "artifact_folders": 1,
        "kept_input_folders": 1,
        "orphan_spools": 1,
    }
    assert _keys(s3_endpoint, f"artifacts/{old}/") == []
    assert _keys(s3_endpoint, f"artifacts/{young}/") == [
        f"artifacts/{young}/.stored",
        f"artifacts/{young}/output/r.txt",
    ]
    assert session_files.kept_input_files(old, ["a.txt"]) is None
    assert session_files.kept_input_files(young, ["a.txt"]) is not None
    assert _keys(s3_endpoint, "inputs/") == []
    kept = session_files.list_files(tool_id=tool_id, user_id=alice.pk, context="new")
    assert [f.name for f in kept] == ["s.txt"]
    assert session_files.list_files(tool_id=tool_id, user_id=alice.pk, context="old") == []
    assert _local_files(settings.RUN_FILES_ROOT) == []
