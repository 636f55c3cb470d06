"""Run benchmarks: `python -m bench.run` runs all, `python -m bench.run project_get` one.

Benchmarks report; they do not fail the build. The exit code is 0 even when a ratio misses its
target (the summary says FAIL), and 1 only when a benchmark could not measure at all.
"""

import argparse
import sys
import traceback
from collections.abc import Callable

from bench import (
    catalog,
    collections_bulk,
    collections_deep_page,
    collections_item_get,
    collections_page_cost,
    collections_stream,
    harness,
    lock_heartbeat,
    mixed_load,
    my_runs,
    project_get,
    run_files,
    sandbox_backends,
    sandbox_projects,
    sandbox_runs,
)

# A benchmark measuring several things at once (one set-up) returns one result per thing.
Benchmark = Callable[[harness.BenchOptions], harness.BenchResult | list[harness.BenchResult]]

# Name -> benchmark. Add new benchmarks here.
BENCHMARKS: dict[str, Benchmark] = {
    project_get.NAME: project_get.run,
    collections_stream.NAME: collections_stream.run,
    collections_bulk.NAME: collections_bulk.run,
    collections_item_get.NAME: collections_item_get.run,
    collections_deep_page.NAME: collections_deep_page.run,
    collections_page_cost.NAME: collections_page_cost.run,
    lock_heartbeat.NAME: lock_heartbeat.run,
    my_runs.NAME: my_runs.run,
    sandbox_runs.NAME: sandbox_runs.run,
    sandbox_backends.NAME: sandbox_backends.run,
    sandbox_projects.NAME: sandbox_projects.run,
    catalog.NAME: catalog.run,
    mixed_load.NAME: mixed_load.run,
    run_files.NAME: run_files.run,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})"
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=harness.BenchOptions.seconds,
        help="length of each measured wrk run",
    )
    parser.add_argument(
        "--rounds", type=int, default=harness.BenchOptions.rounds, help="A,B rounds per benchmark"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=int,
        default=harness.BenchOptions.warmup_seconds,
        help="warm-up per case",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return args


def run_one(name: str, options: harness.BenchOptions) -> list[harness.BenchResult] | None:
    """Run a benchmark; a crash is reported and returned as None so the others still run."""
    try:
        result = BENCHMARKS[name](options)
    except Exception:  # any failure: report it, go on with the next benchmark
        traceback.print_exc()
        print(f"== {name}: ERROR (see the traceback above)")
        return None
    return result if isinstance(result, list) else [result]


def print_summary(results: dict[str, list[harness.BenchResult] | None]) -> None:
    print()
    print("== summary")
    for name, outcome in results.items():
        if outcome is None:
            print(f"  {name:<22} ERROR")
            continue
        for result in outcome:
            print(
                f"  {result.name:<22} {result.metric} {result.ratio:.3f}  "
                f"target {result.target_text}  {harness.verdict(result.passed)}"
            )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    options = harness.BenchOptions(args.seconds, args.rounds, args.warmup_seconds)
    names = args.names or list(BENCHMARKS)
    results = {name: run_one(name, options) for name in names}
    print_summary(results)
    return 1 if any(result is None for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
