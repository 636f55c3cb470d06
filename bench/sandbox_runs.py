"""Benchmark `sandbox_runs`: what the bubblewrap sandbox and the queued-run path cost (issue 6).

1. sandbox_overhead: the backend's whole chain (prlimit + bwrap with all its flags, seccomp, the
   slot uid) starting `<interpreter> -I -c pass` vs the same interpreter started bare,
   interleaved, CHAIN_SAMPLES each (bench/sandbox_chain.py). Target: median difference <= 20 ms.
   Beside them, for where the time goes: the chain running the real runner on a trivial tool,
   and the backend's `run` on the same (slot claim, chown, watchdog).
2. sandbox_preview: one editor's preview of a trivial tool through the API on a gunicorn server,
   executed by a real Celery worker (2 pool processes, started as scripts/run.sh does) with the
   bwrap backend: POST run-sandbox,
   then GET the run every 10 ms until it is terminal (bench/sandbox_load.py). Each sample is
   followed by a bare `<interpreter> -I -c pass`, the reference of the same run. Target: median
   latency <= 3 x bare median + 100 ms. The split comes from the run details (database clock):
   submit (the POST), queue (started_at - requested_at: commit, broker, worker pick-up, claim),
   runtime (finished_at - started_at; of it, the backend's sandbox wall from the worker log).
3. sandbox_throughput: THROUGHPUT_RUNS trivial previews posted as fast as 4 threads can; runs/s
   from the first request to the last finish (database clock; the client's view beside it),
   median of `--rounds` rounds; PANDAS_RUNS previews of a pandas-importing tool interleaved with
   them. Reported, no target.

Every run the benchmark made is deleted at the end (leftovers of an aborted run at the start).
Needs scripts/sandbox.sh done. The worker takes its tasks from the REDIS_URL broker: another
worker listening there (say, `make run`'s) would take some of the runs, so stop it first.
"""

import json
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import harness, sandbox_api, sandbox_chain, sandbox_load
from bench.sandbox_load import PreviewSample, ThroughputRun

NAME = "sandbox_runs"
OVERHEAD = "sandbox_overhead"
PREVIEW = "sandbox_preview"
THROUGHPUT = "sandbox_throughput"
TRIVIAL = "trivial"
PANDAS = "pandas"
TARGET_OVERHEAD_MS = 20.0
TARGET_BARE_FACTOR = 3.0
TARGET_EXTRA_MS = 100.0
CHAIN_SAMPLES = 60
CHAIN_WARMUP = 5
PREVIEW_SAMPLES = 30
PREVIEW_WARMUP = 6  # enough for both pool processes to have run once (imports, runner assets)
THROUGHPUT_RUNS = 60
PANDAS_RUNS = 20
SERVER_ENV = {
    # The throughput case keeps dozens of runs queued for one user (default cap: 4).
    "RUN_MAX_CONCURRENT_PER_USER": "1000",
    # Polling every 10 ms is more than the default 6000/min allows; the throttle code still runs.
    "API_THROTTLE_USER": "1000000/s",
}


def stats(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "p90": sandbox_load.percentile(values, 0.90),
        "min": min(values),
        "max": max(values),
        "samples": len(values),
    }


# --- 1. Overhead --------------------------------------------------------------------------------


def measure_overhead() -> tuple[dict[str, list[float]], str]:
    """Timings (ms) of the four cases of bench/sandbox_chain.py, and the interpreter used."""
    print(
        f"  [1] {CHAIN_SAMPLES} interleaved rounds of {sandbox_chain.CHAIN}, "
        f"{sandbox_chain.BARE}, {sandbox_chain.RUNNER}, {sandbox_chain.BACKEND} after "
        f"{CHAIN_WARMUP} warm-up rounds"
    )
    with sandbox_chain.prepared_chain() as chain:
        timings = sandbox_chain.interleaved_ms(
            [
                (sandbox_chain.CHAIN, lambda: sandbox_chain.chain_sample(chain)),
                (sandbox_chain.BARE, lambda: sandbox_chain.bare_sample(chain.interpreter)),
                (sandbox_chain.RUNNER, lambda: sandbox_chain.runner_sample(chain)),
                (sandbox_chain.BACKEND, lambda: sandbox_chain.backend_sample(chain)),
            ],
            CHAIN_SAMPLES,
            CHAIN_WARMUP,
        )
        uid = f"slot uid {chain.uid}" if chain.switch_uid else f"own uid {chain.uid} (not root)"
        print(f"      interpreter {chain.interpreter}, {uid}")
        return timings, chain.interpreter


def overhead_section(timings: dict[str, list[float]], interpreter: str) -> dict[str, Any]:
    rows = {name: stats(values) for name, values in timings.items()}
    medians = {name: row["median"] for name, row in rows.items()}
    difference = medians[sandbox_chain.CHAIN] - medians[sandbox_chain.BARE]
    runner_work = medians[sandbox_chain.RUNNER] - medians[sandbox_chain.CHAIN]
    around = medians[sandbox_chain.BACKEND] - medians[sandbox_chain.RUNNER]
    passed = difference <= TARGET_OVERHEAD_MS
    print()
    print(f"  [1] {OVERHEAD}: spawn to exit, interpreter {interpreter}")
    print(f"      {'case':<14} {'median ms':>10} {'p90 ms':>8} {'min ms':>8} {'max ms':>8}")
    for name, row in rows.items():
        print(
            f"      {name:<14} {row['median']:>10.2f} {row['p90']:>8.2f} {row['min']:>8.2f} "
            f"{row['max']:>8.2f}"
        )
    print(
        f"      runner's own work in the sandbox ({sandbox_chain.RUNNER} - {sandbox_chain.CHAIN})"
        f" {runner_work:.1f} ms; backend around the chain ({sandbox_chain.BACKEND} - "
        f"{sandbox_chain.RUNNER}: slot, chown, watchdog's exit detection) {around:.1f} ms"
    )
    print(
        f"      {sandbox_chain.CHAIN} - {sandbox_chain.BARE} (medians) = {difference:.2f} ms  "
        f"(target <= {TARGET_OVERHEAD_MS:.0f} ms)  {harness.verdict(passed)}"
    )
    return {
        "interpreter": interpreter,
        "cases_ms": rows,
        "difference_ms": difference,
        "runner_work_ms": runner_work,
        "backend_around_chain_ms": around,
        "target_ms": TARGET_OVERHEAD_MS,
        "passed": passed,
        "samples_ms": timings,
    }


# --- 2. Preview latency -------------------------------------------------------------------------


def preview_section(previews: list[PreviewSample], bare_ms: list[float]) -> dict[str, Any]:
    latency = stats([p.latency_ms for p in previews])
    bare = stats(bare_ms)
    target = TARGET_BARE_FACTOR * bare["median"] + TARGET_EXTRA_MS
    walls = [p.sandbox_ms for p in previews if p.sandbox_ms is not None]
    split = {
        "submit_ms": statistics.median(p.submit_ms for p in previews),
        "queue_ms": statistics.median(p.queue_ms for p in previews),
        "runtime_ms": statistics.median(p.runtime_ms for p in previews),
        "sandbox_wall_ms": statistics.median(walls) if walls else None,
        "worker_rest_ms": statistics.median(
            p.runtime_ms - p.sandbox_ms for p in previews if p.sandbox_ms is not None
        )
        if walls
        else None,
        # Poll granularity and the last GET; also the clock offset between client and database.
        "after_finish_ms": statistics.median(
            p.latency_ms - p.submit_ms - p.queue_ms - p.runtime_ms for p in previews
        ),
        "polls": statistics.median(p.polls for p in previews),
    }
    passed = latency["median"] <= target
    print()
    print(f"  [2] {PREVIEW}: POST run-sandbox, GET the run every "
          f"{sandbox_load.POLL_INTERVAL * 1000:.0f} ms until terminal")  # fmt: skip
    print(f"      {'case':<14} {'median ms':>10} {'p90 ms':>8} {'min ms':>8} {'max ms':>8}")
    for name, row in (("preview", latency), ("bare_python", bare)):
        print(
            f"      {name:<14} {row['median']:>10.2f} {row['p90']:>8.2f} {row['min']:>8.2f} "
            f"{row['max']:>8.2f}"
        )
    print(
        "      where the time goes (medians): "
        f"submit {split['submit_ms']:.1f} ms | queue to claim {split['queue_ms']:.1f} ms | "
        f"runtime {split['runtime_ms']:.1f} ms (sandbox wall {_ms(split['sandbox_wall_ms'])}, "
        f"worker around it {_ms(split['worker_rest_ms'])}) | after finish until seen "
        f"{split['after_finish_ms']:.1f} ms; {split['polls']:.0f} polls"
    )
    print(
        f"      median {latency['median']:.1f} ms  (target <= {TARGET_BARE_FACTOR:.0f} x "
        f"{bare['median']:.1f} + {TARGET_EXTRA_MS:.0f} = {target:.1f} ms)  "
        f"{harness.verdict(passed)}"
    )
    return {
        "latency_ms": latency,
        "bare_ms": bare,
        "target_ms": target,
        "target_rule": f"median <= {TARGET_BARE_FACTOR} x bare median + {TARGET_EXTRA_MS} ms",
        "passed": passed,
        "split_medians": split,
        "samples": [asdict(p) for p in previews],
        "bare_samples_ms": bare_ms,
    }


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


# --- 3. Throughput ------------------------------------------------------------------------------


def measure_throughput(
    port: int, fixture: sandbox_api.Fixture, rounds: int
) -> list[tuple[str, ThroughputRun]]:
    cases = [
        (TRIVIAL, sandbox_load.TRIVIAL_SOURCE, THROUGHPUT_RUNS),
        (PANDAS, sandbox_load.PANDAS_SOURCE, PANDAS_RUNS),
    ]
    print(f"  [3] throughput: {sandbox_load.SUBMIT_THREADS} submitting threads, {rounds} "
          "rounds of each case")  # fmt: skip
    return harness.interleave(
        [(case, _throughput(port, fixture, source, runs)) for case, source, runs in cases],
        rounds,
        sandbox_load.describe_throughput,
    )


def _throughput(
    port: int, fixture: sandbox_api.Fixture, source: str, runs: int
) -> Callable[[], ThroughputRun]:
    return lambda: sandbox_load.throughput_run(port, fixture, source, runs)


def throughput_section(runs: list[tuple[str, ThroughputRun]]) -> dict[str, Any]:
    section: dict[str, Any] = {}
    print()
    print(f"  [3] {THROUGHPUT}: {sandbox_api.WORKER_CONCURRENCY} worker processes "
          f"({os.cpu_count()} cores); medians over the rounds")  # fmt: skip
    print(f"      {'case':<8} {'runs':>5} {'runs/s':>8} {'client':>8} {'queue p50':>10} "
          f"{'runtime p50':>12}")  # fmt: skip
    for case in (TRIVIAL, PANDAS):
        results = harness.runs_of(runs, case)
        median = {
            key: statistics.median(getattr(r, key) for r in results) for key in asdict(results[0])
        }
        print(
            f"      {case:<8} {results[0].runs:>5} {median['runs_per_second']:>8.2f} "
            f"{median['client_runs_per_second']:>8.2f} {median['queue_p50_ms']:>8.1f}ms "
            f"{median['runtime_p50_ms']:>10.1f}ms"
        )
        section[case] = {"median": median, "rounds": [asdict(r) for r in results]}
    print("      runs/s: runs / (last finished_at - first requested_at); client: runs / (last "
          "terminal answer read - first POST sent); no target")  # fmt: skip
    return section


# --- The benchmark ------------------------------------------------------------------------------


def run(options: harness.BenchOptions) -> list[harness.BenchResult]:
    print(f"== {NAME}: bwrap overhead, sandbox preview latency and throughput (issue 6)")
    harness.setup_django()
    timings, interpreter = measure_overhead()
    overhead = overhead_section(timings, interpreter)
    fixture = sandbox_api.seed()
    removed = sandbox_api.delete_bench_runs(fixture.tool_id)
    print(f"  set-up: tool {fixture.tool_id}, draft head locked; {removed} leftover runs deleted")
    harness.close_db_connections()
    try:
        with (
            harness.gunicorn_server(NAME, SERVER_ENV) as server,
            sandbox_api.celery_worker(NAME, SERVER_ENV) as worker,
        ):
            print(f"  gunicorn: {server.workers} sync workers at {server.base_url}; celery worker "
                  f"pid {worker.pid}, concurrency {sandbox_api.WORKER_CONCURRENCY}")  # fmt: skip
            print(f"  logs: {server.log_path.relative_to(harness.REPO_ROOT)}, "
                  f"{worker.log_path.relative_to(harness.REPO_ROOT)}")  # fmt: skip
            print(f"  [2] {PREVIEW_WARMUP} warm-up previews (the first waits for the worker), "
                  f"then {PREVIEW_SAMPLES} previews each followed by a bare python")  # fmt: skip
            client = sandbox_api.Client(server.port, fixture)
            try:
                previews, bare_ms = sandbox_load.measure_previews(
                    client, interpreter, worker, PREVIEW_SAMPLES, PREVIEW_WARMUP
                )
            finally:
                client.close()
            preview = preview_section(previews, bare_ms)
            throughput_runs = measure_throughput(server.port, fixture, options.rounds)
            throughput = throughput_section(throughput_runs)
    finally:
        deleted = sandbox_api.delete_bench_runs(fixture.tool_id)
        harness.close_db_connections()
        print(f"  clean-up: {deleted} runs deleted with their snapshots, sessions and run tokens")
    document = {
        OVERHEAD: overhead,
        PREVIEW: preview,
        THROUGHPUT: throughput,
    }
    path = write_json(document, server, worker, options)
    return results(document, path)


def write_json(
    sections: dict[str, Any],
    server: harness.Server,
    worker: sandbox_api.Worker,
    options: harness.BenchOptions,
) -> Path:
    document = {
        "name": NAME,
        "timestamp": harness.timestamp(),
        "git_commit": harness.git_commit(),
        "passed": all(sections[name]["passed"] for name in (OVERHEAD, PREVIEW)),
        **sections,
        "config": {
            **asdict(options),
            "chain_samples": CHAIN_SAMPLES,
            "preview_samples": PREVIEW_SAMPLES,
            "preview_warmup": PREVIEW_WARMUP,
            "poll_interval_s": sandbox_load.POLL_INTERVAL,
            "throughput_runs": {TRIVIAL: THROUGHPUT_RUNS, PANDAS: PANDAS_RUNS},
            "submit_threads": sandbox_load.SUBMIT_THREADS,
            "worker_concurrency": sandbox_api.WORKER_CONCURRENCY,
            "worker_command": sandbox_api.worker_command(),
            "gunicorn_workers": server.workers,
            "cpu_count": os.cpu_count(),
            "server_env_overrides": dict(server.env_overrides),
        },
        "server_log": str(server.log_path.relative_to(harness.REPO_ROOT)),
        "worker_log": str(worker.log_path.relative_to(harness.REPO_ROOT)),
    }
    path = harness.RESULTS_DIR / f"{NAME}-{document['timestamp']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"  results: {path.relative_to(harness.REPO_ROOT)}")
    return path


def results(document: dict[str, Any], path: Path) -> list[harness.BenchResult]:
    overhead, preview = document[OVERHEAD], document[PREVIEW]
    trivial = document[THROUGHPUT][TRIVIAL]["median"]["runs_per_second"]
    return [
        harness.BenchResult(
            OVERHEAD, overhead["difference_ms"], TARGET_OVERHEAD_MS, overhead["passed"], path,
            higher_is_better=False, metric="diff ms",
        ),
        harness.BenchResult(
            PREVIEW, preview["latency_ms"]["median"], preview["target_ms"], preview["passed"],
            path, higher_is_better=False, metric="median ms",
        ),
        # No target: 0 makes the summary line report the figure without judging it.
        harness.BenchResult(THROUGHPUT, trivial, 0.0, True, path, metric="runs/s"),
    ]  # fmt: skip
