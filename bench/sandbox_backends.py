"""Benchmark `sandbox_backends`: the Docker backend beside bubblewrap (issue 16).

1. start overhead: in this process, interleaved, SAMPLES rounds after WARMUP of
   - bare_python: `<interpreter> -I -c pass`, no sandbox (the bwrap runner's interpreter);
   - bwrap_run: `BwrapRunner().run` on a trivial tool (slot, chown, cgroup, chain, runner);
   - docker_run: `DockerRunner().run` on the same tool (create, attach, start, wait, remove).
   Reported: medians, and each backend's median minus bare_python's. No target: the figures
   say what a container per run costs next to bubblewrap.
2. throughput: THROUGHPUT_RUNS trivial runs per backend by 2 threads (the 2 pool processes of a
   worker), runs/s from the first start to the last end.

Needs scripts/sandbox.sh (bwrap) and scripts/docker_engine.sh + scripts/runner_image.sh (an
engine and the runner image); without them the benchmark cannot measure and says so.
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import harness

NAME = "sandbox_backends"
SAMPLES = 30
WARMUP = 3
THROUGHPUT_RUNS = 40
THREADS = 2
TOOL_SOURCE = "def run_tool(i, o):\n    return 'ok'\n"
BARE = "bare_python"
BACKENDS = ("bwrap", "docker")


def _runners() -> dict[str, Any]:
    from apps.runs.exceptions import RunnerUnavailable
    from apps.runs.runner.backends import BwrapRunner, DockerRunner

    runners = {"bwrap": BwrapRunner(), "docker": DockerRunner()}
    for name, runner in runners.items():
        try:
            runner.check_available()
        except RunnerUnavailable as error:
            raise harness.BenchError(f"{name} backend unavailable: {error.message}") from error
    return runners


def _one_run(runner: Any, work_root: Path) -> float:
    """Seconds of one `run` on a fresh folder of the trivial tool; it must succeed."""
    from apps.runs.runner.backends import RunLimits, RunRequest
    from apps.runs.runner.workdir import prepare_workdir, runner_env

    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=work_root))
    try:
        manifest = prepare_workdir(
            workdir=workdir, source_code=TOOL_SOURCE, memory={"settings": {}}, input_files=[]
        )
        env = runner_env(
            entrypoint="run_tool",
            manifest_files=manifest,
            inputs={},
            action=None,
            collections_socket=None,
        )
        request = RunRequest(workdir=workdir, env=env, limits=RunLimits.for_context("sandbox"))
        started = time.perf_counter()
        result = runner.run(request)
        elapsed = time.perf_counter() - started
        payload = json.loads((workdir / "result.json").read_text())
        if result.exit_code != 0 or payload.get("status") != "succeeded":
            raise harness.BenchError(f"{runner.name}: {result.outcome} {result.stderr.text[:300]}")
        return elapsed
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bare(interpreter: str) -> float:
    started = time.perf_counter()
    subprocess.run([interpreter, "-I", "-c", "pass"], check=True, env={"PATH": "/usr/bin:/bin"})
    return time.perf_counter() - started


def measure_start(runners: dict[str, Any], work_root: Path, interpreter: str) -> dict[str, Any]:
    cases: dict[str, Callable[[], float]] = {BARE: lambda: _bare(interpreter)}
    for name, runner in runners.items():
        cases[f"{name}_run"] = lambda runner=runner: _one_run(runner, work_root)
    samples: dict[str, list[float]] = {case: [] for case in cases}
    for round_number in range(WARMUP + SAMPLES):
        for case, sample in cases.items():
            elapsed_ms = sample() * 1000
            if round_number >= WARMUP:
                samples[case].append(elapsed_ms)
    medians = {case: statistics.median(values) for case, values in samples.items()}
    print(f"  [1] start overhead, {SAMPLES} interleaved rounds after {WARMUP} warm-up rounds")
    print(f"      {'case':<12} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'- bare ms':>10}")
    for case, values in samples.items():
        over = medians[case] - medians[BARE]
        print(f"      {case:<12} {medians[case]:>10.1f} {min(values):>8.1f} {max(values):>8.1f} "
              f"{over:>10.1f}")  # fmt: skip
    ratio = medians["docker_run"] / medians["bwrap_run"]
    print(f"      docker_run / bwrap_run (medians) = {ratio:.2f}")
    return {"medians_ms": medians, "samples_ms": samples, "docker_over_bwrap": ratio}


def measure_throughput(runners: dict[str, Any], work_root: Path) -> dict[str, float]:
    print(f"  [2] throughput: {THROUGHPUT_RUNS} trivial runs per backend by {THREADS} threads")
    rates = {}
    for name, runner in runners.items():
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            # list(): every run's error surfaces here.
            list(pool.map(lambda _: _one_run(runner, work_root), range(THROUGHPUT_RUNS)))  # noqa: B023
        rates[name] = THROUGHPUT_RUNS / (time.perf_counter() - started)
        print(f"      {name:<8} {rates[name]:.2f} runs/s")
    return rates


def run(options: harness.BenchOptions) -> list[harness.BenchResult]:
    print(f"== {NAME}: Docker backend vs bubblewrap vs bare python (issue 16)")
    harness.setup_django()
    from django.conf import settings

    from apps.runs.runner.bwrap_backend import SYSTEM_PYTHON, runner_venv

    runners = _runners()
    venv = runner_venv()
    interpreter = str(venv / "bin" / "python") if venv else str(SYSTEM_PYTHON)
    work_root = Path(settings.SANDBOX_WORK_ROOT)
    work_root.mkdir(parents=True, exist_ok=True)
    start = measure_start(runners, work_root, interpreter)
    throughput = measure_throughput(runners, work_root)
    document = {
        "name": NAME,
        "timestamp": harness.timestamp(),
        "git_commit": harness.git_commit(),
        "start": start,
        "throughput_runs_per_second": throughput,
        "config": {
            **asdict(options),
            "samples": SAMPLES,
            "warmup": WARMUP,
            "throughput_runs": THROUGHPUT_RUNS,
            "threads": THREADS,
            "interpreter": interpreter,
            "docker_image": settings.SANDBOX_DOCKER_IMAGE,
            "cpu_count": os.cpu_count(),
        },
    }
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = harness.RESULTS_DIR / f"{NAME}-{document['timestamp']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"  results: {path.relative_to(harness.REPO_ROOT)}")
    medians = start["medians_ms"]
    # No targets: 0 makes the summary report the figures without judging them.
    return [
        harness.BenchResult(f"{NAME}_{backend}_start", medians[f"{backend}_run"], 0.0, True,
                            path, higher_is_better=False, metric="median ms")
        for backend in BACKENDS
    ] + [
        harness.BenchResult(f"{NAME}_{backend}_throughput", throughput[backend], 0.0, True, path,
                            metric="runs/s")
        for backend in BACKENDS
    ]  # fmt: skip
