"""Loads for `sandbox_runs` through the API: single previews polled to the end (latency), and
many previews submitted at once (throughput). See bench/sandbox_runs.py for the method."""

import math
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench import harness, sandbox_api, sandbox_chain
from bench.sandbox_api import Client, Fixture

POLL_INTERVAL = 0.010
SUBMIT_THREADS = 4
THROUGHPUT_POLL_INTERVAL = 0.020
TRIVIAL_SOURCE = "def run_tool(i, o):\n    return 'ok'\n"
PANDAS_SOURCE = "import pandas\n\ndef run_tool(i, o):\n    return 'ok'\n"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- 2. Preview latency -------------------------------------------------------------------------


@dataclass
class PreviewSample:
    run_id: str
    latency_ms: float  # from sending the POST to reading the terminal run details
    submit_ms: float  # the POST alone
    queue_ms: float  # started_at - requested_at
    runtime_ms: float  # finished_at - started_at
    polls: int
    sandbox_ms: float | None = None  # the backend's wall time, from the worker log


def preview_sample(client: Client, source: str) -> PreviewSample:
    started = time.perf_counter()
    run_id = client.submit(source)
    submitted = time.perf_counter()
    document, polls = client.wait(run_id, POLL_INTERVAL)
    done = time.perf_counter()
    sandbox_api.require_success(document)
    return PreviewSample(
        run_id=run_id,
        latency_ms=(done - started) * 1000,
        submit_ms=(submitted - started) * 1000,
        queue_ms=sandbox_api.span_ms(document, "requested_at", "started_at"),
        runtime_ms=sandbox_api.span_ms(document, "started_at", "finished_at"),
        polls=polls,
    )


def measure_previews(
    client: Client, interpreter: str, worker: sandbox_api.Worker, samples: int, warmup: int
) -> tuple[list[PreviewSample], list[float]]:
    """`warmup` untimed previews (the first also waits for the worker to come up), then
    `samples` rounds of one preview and one bare `<interpreter> -I -c pass` (milliseconds)."""
    for _ in range(warmup):
        sandbox_api.check_worker_alive(worker)
        preview_sample(client, TRIVIAL_SOURCE)
    previews: list[PreviewSample] = []
    bare_ms: list[float] = []
    for _ in range(samples):
        previews.append(preview_sample(client, TRIVIAL_SOURCE))
        bare_ms.append(sandbox_chain.bare_sample(interpreter) * 1000)
    walls = sandbox_api.sandbox_walls_ms(worker)
    for preview in previews:
        preview.sandbox_ms = walls.get(preview.run_id)
    return previews, bare_ms


# --- 3. Throughput ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputRun:
    runs: int
    runs_per_second: float  # runs / (last finished_at - first requested_at), database clock
    client_runs_per_second: float  # runs / (last terminal answer read - first POST sent)
    submit_seconds: float  # until the last 202
    queue_p50_ms: float
    queue_max_ms: float
    runtime_p50_ms: float


class Submitters:
    """SUBMIT_THREADS threads posting `runs` previews back to back, each with its own client."""

    def __init__(self, port: int, fixture: Fixture, source: str, runs: int) -> None:
        self.run_ids: list[str] = []
        self.errors: list[str] = []
        self.done_at = 0.0
        self._lock = threading.Lock()
        self._start = threading.Barrier(SUBMIT_THREADS + 1, timeout=60)
        shares = [
            runs // SUBMIT_THREADS + (n < runs % SUBMIT_THREADS) for n in range(SUBMIT_THREADS)
        ]
        self._threads = [
            threading.Thread(target=self._submit, args=(port, fixture, source, share), daemon=True)
            for share in shares
        ]

    def start(self) -> float:
        for thread in self._threads:
            thread.start()
        self._start.wait()
        return time.perf_counter()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(sandbox_api.RUN_TIMEOUT_SECONDS)

    def pending(self, index: int) -> str | None:
        with self._lock:
            if self.errors:
                raise harness.BenchError(f"submitting failed: {self.errors[0]}")
            return self.run_ids[index] if index < len(self.run_ids) else None

    def _submit(self, port: int, fixture: Fixture, source: str, count: int) -> None:
        client = Client(port, fixture)
        try:
            self._start.wait()
            for _ in range(count):
                run_id = client.submit(source)
                with self._lock:
                    self.run_ids.append(run_id)
                    self.done_at = time.perf_counter()
        except Exception as error:  # reported to the polling thread, which fails the run
            with self._lock:
                self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            client.close()


def throughput_run(port: int, fixture: Fixture, source: str, runs: int) -> ThroughputRun:
    """Runs finish roughly in submission order, so one client polls the oldest unfinished run
    only: cheap for the server, and every run is seen terminal before the clock stops."""
    submitters = Submitters(port, fixture, source, runs)
    poller = Client(port, fixture)
    finished: list[dict[str, Any]] = []
    deadline = time.monotonic() + sandbox_api.RUN_TIMEOUT_SECONDS + runs
    try:
        started = submitters.start()
        while len(finished) < runs:
            if time.monotonic() > deadline:
                raise harness.BenchError(f"only {len(finished)} of {runs} runs finished in time")
            run_id = submitters.pending(len(finished))
            document = poller.details(run_id) if run_id is not None else None
            if document is not None and document["status"] in sandbox_api.TERMINAL:
                sandbox_api.require_success(document)
                finished.append(document)
            else:
                time.sleep(THROUGHPUT_POLL_INTERVAL)
        ended = time.perf_counter()
    finally:
        poller.close()
        submitters.join()
    first = min(sandbox_api.db_time(d, "requested_at") for d in finished)
    last = max(sandbox_api.db_time(d, "finished_at") for d in finished)
    queue = [sandbox_api.span_ms(d, "requested_at", "started_at") for d in finished]
    runtime = [sandbox_api.span_ms(d, "started_at", "finished_at") for d in finished]
    return ThroughputRun(
        runs=runs,
        runs_per_second=runs / (last - first).total_seconds(),
        client_runs_per_second=runs / (ended - started),
        submit_seconds=submitters.done_at - started,
        queue_p50_ms=statistics.median(queue),
        queue_max_ms=max(queue),
        runtime_p50_ms=statistics.median(runtime),
    )


def describe_throughput(run: ThroughputRun) -> str:
    return (
        f"{run.runs:>3} runs  {run.runs_per_second:6.2f} runs/s (client "
        f"{run.client_runs_per_second:6.2f})  all submitted in {run.submit_seconds:5.2f}s  "
        f"queue p50 {run.queue_p50_ms:7.1f} max {run.queue_max_ms:7.1f} ms  "
        f"runtime p50 {run.runtime_p50_ms:6.1f} ms"
    )
