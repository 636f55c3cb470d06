"""Benchmark `run_files`: a 10 MB file through a run with each run files storage (issue 16).

One sample: POST an editor preview with a 10 MB upload (multipart) whose tool copies its input
to /work/output, poll the run every 10 ms until it is terminal, then GET the artifact (10 MB) and
check its length. Timed end to end, and split into upload (the POST), run (to the terminal
answer) and download. Two storages, each served by its own gunicorn server and Celery worker
(the bwrap backend, as scripts/run.sh starts them):

- filesystem: STORAGES["runfiles"] a FileSystemStorage at RUN_FILES_ROOT (the default);
- s3: an S3 bucket in moto's S3 server, a subprocess on a loopback port (the only S3 service
  installable here: an in-memory Python server, so its figures say what the S3 path costs on
  this machine, not what a real object store would).

The storages take turns in blocks (`--rounds` of each, SAMPLES_PER_BLOCK samples per block after
WARMUP), so both see the same machine; medians over all samples of a storage, and the ratio
s3/filesystem of the end-to-end medians. Target: <= 3 (reported; benchmarks do not fail).
Downloads are streamed through Django in both (RUN_FILES_DOWNLOADS=stream).
"""

import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import harness, sandbox_api

NAME = "run_files"
FILESYSTEM = "filesystem"
S3 = "s3"
FILE_BYTES = 10 * 1024 * 1024
SAMPLES_PER_BLOCK = 5
WARMUP = 2
TARGET_RATIO = 3.0
POLL_INTERVAL = 0.010
BUCKET = "bench-run-files"
COPY_SOURCE = """\
import shutil
from skriptoteket_toolkit import list_input_files

def run_tool(input_dir, output_dir):
    [found] = list_input_files()
    shutil.copyfile(found["path"], output_dir + "/copy.bin")
    return "copied"
"""
FILE_FIELD = {"kind": "file", "name": "files", "label": "File", "min": 1, "max": 1}
SERVER_ENV = {"API_THROTTLE_USER": "1000000/s", "RUN_FILES_DOWNLOADS": "stream"}


@dataclass(frozen=True)
class Sample:
    total_ms: float
    upload_ms: float
    run_ms: float
    download_ms: float


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server in a subprocess on a free loopback port, with the bench bucket."""
    import boto3  # a dev dependency, like moto

    port = harness.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # not listening yet
                if time.monotonic() > deadline or process.poll() is not None:
                    raise harness.BenchError("moto's S3 server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def storage_env(storage: str, endpoint: str, files_root: Path) -> dict[str, str]:
    if storage == FILESYSTEM:
        return {**SERVER_ENV, "RUN_FILES_BACKEND": "filesystem", "RUN_FILES_ROOT": str(files_root)}
    return {
        **SERVER_ENV,
        "RUN_FILES_BACKEND": "s3",
        "RUN_FILES_S3_BUCKET": BUCKET,
        "RUN_FILES_S3_ENDPOINT_URL": endpoint,
        "RUN_FILES_S3_REGION": "us-east-1",
        "RUN_FILES_S3_ACCESS_KEY_ID": "bench",
        "RUN_FILES_S3_SECRET_ACCESS_KEY": "bench",
    }


class FileClient(sandbox_api.Client):
    """The editor's client, with a multipart preview carrying one file and raw downloads."""

    def submit_file(self, source: str, payload: bytes) -> str:
        snapshot = {
            "entrypoint": "run_tool",
            "source_code": source,
            "input_schema": [FILE_FIELD],
            "settings_schema": None,
            "usage_instructions": "",
        }
        boundary = uuid.uuid4().hex
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"snapshot\"\r\n\r\n"
                .encode(),
                orjson.dumps(snapshot),
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
                f"filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .encode(),
                payload,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )  # fmt: skip
        headers = {**self.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        path = sandbox_api.SUBMIT_PATH.format(version_id=self.fixture.version_id)
        status, data = self._raw("POST", path, body, headers)
        document = orjson.loads(data) if status == 202 else data[:300]
        if status != 202:
            raise harness.BenchError(f"POST {path} answered {status} {document!r}")
        return str(document["run_id"])

    def download(self, path: str) -> bytes:
        status, data = self._raw("GET", path, None, self.headers)
        if status != 200:
            raise harness.BenchError(f"GET {path} answered {status} {data[:300]!r}")
        return data

    def _raw(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except OSError:
            self.connection.close()
            raise


def one_sample(client: FileClient, payload: bytes) -> Sample:
    started = time.perf_counter()
    run_id = client.submit_file(COPY_SOURCE, payload)
    submitted = time.perf_counter()
    document, _ = client.wait(run_id, POLL_INTERVAL)
    finished = time.perf_counter()
    sandbox_api.require_success(document)
    [artifact] = document["artifacts"]
    data = client.download(artifact["download_url"])
    done = time.perf_counter()
    if len(data) != len(payload):
        raise harness.BenchError(f"the artifact has {len(data)} bytes, not {len(payload)}")
    return Sample(
        total_ms=(done - started) * 1000,
        upload_ms=(submitted - started) * 1000,
        run_ms=(finished - submitted) * 1000,
        download_ms=(done - finished) * 1000,
    )


def block(
    storage: str, env: dict[str, str], fixture: sandbox_api.Fixture, payload: bytes
) -> list[Sample]:
    """A server and a worker with `storage`; WARMUP untimed samples, then SAMPLES_PER_BLOCK."""
    with (
        harness.gunicorn_server(f"{NAME}-{storage}", env, workers=2) as server,
        sandbox_api.celery_worker(f"{NAME}-{storage}", env),
    ):
        client = FileClient(server.port, fixture)
        try:
            for _ in range(WARMUP):
                one_sample(client, payload)
            samples = [one_sample(client, payload) for _ in range(SAMPLES_PER_BLOCK)]
        finally:
            client.close()
    medians = statistics.median(s.total_ms for s in samples)
    print(f"  {storage:<11} block of {len(samples)}: median {medians:.0f} ms")
    return samples


def summary(samples: list[Sample]) -> dict[str, Any]:
    return {
        field: statistics.median(getattr(s, field) for s in samples)
        for field in ("total_ms", "upload_ms", "run_ms", "download_ms")
    } | {"samples": [asdict(s) for s in samples]}


def run(options: harness.BenchOptions) -> harness.BenchResult:
    print(f"== {NAME}: upload -> run -> download of {FILE_BYTES >> 20} MB, filesystem vs S3")
    harness.setup_django()
    fixture = sandbox_api.seed()
    sandbox_api.delete_bench_runs(fixture.tool_id)
    harness.close_db_connections()
    payload = bytes(range(256)) * (FILE_BYTES // 256)
    found: dict[str, list[Sample]] = {FILESYSTEM: [], S3: []}
    order: list[str] = []
    try:
        with (
            moto_server() as endpoint,
            tempfile.TemporaryDirectory(prefix="bench-run-files-") as files_root,
        ):
            for _ in range(options.rounds):
                for storage in (FILESYSTEM, S3):
                    env = storage_env(storage, endpoint, Path(files_root))
                    found[storage] += block(storage, env, fixture, payload)
                    order.append(storage)
    finally:
        sandbox_api.delete_bench_runs(fixture.tool_id)
        harness.close_db_connections()
    cases = {storage: summary(samples) for storage, samples in found.items()}
    ratio = cases[S3]["total_ms"] / cases[FILESYSTEM]["total_ms"]
    print(f"  {'storage':<11} {'total ms':>9} {'upload ms':>10} {'run ms':>8} {'download ms':>12}")
    for storage, row in cases.items():
        print(
            f"  {storage:<11} {row['total_ms']:>9.0f} {row['upload_ms']:>10.0f} "
            f"{row['run_ms']:>8.0f} {row['download_ms']:>12.0f}"
        )
    print(harness.ratio_line(S3, FILESYSTEM, ratio, TARGET_RATIO, higher=False))
    return harness.write_custom_result(
        NAME,
        ratio=ratio,
        target=TARGET_RATIO,
        higher_is_better=False,
        cases=cases,
        order=order,
        config={
            **asdict(options),
            "file_bytes": FILE_BYTES,
            "samples_per_block": SAMPLES_PER_BLOCK,
            "warmup_per_block": WARMUP,
            "poll_interval_s": POLL_INTERVAL,
            "server_env": SERVER_ENV,
        },
        server=None,
        notes={"s3": "moto's in-memory S3 server in a subprocess on 127.0.0.1"},
    )
