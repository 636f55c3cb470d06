"""Benchmark `sandbox_projects`: provision a sandbox of a project with 200 tools and 500
collections, merge it back with everything selected, and compare the merge with a raw
`INSERT … ON CONFLICT DO NOTHING` of the same 500 collection rows (issue 7). Reported, no target.

Measured in this process on Django's one database connection, time.perf_counter() around the
service calls (each is one transaction, so COMMIT is included). Every round uses fresh projects,
deleted at the round's end; set-up and checks are not timed:

1. set-up: a parent project with TOOLS tools, each with one ~2 KB draft (create_tool +
   create_draft), and PARENT_COLLECTIONS empty collections.
2. provision (timed): provision_sandbox(parent, actor, name) — project, members, 200 tool copies
   with their drafts, 500 empty namesake collections.
3. set-up: in the sandbox, NEW_COLLECTIONS collection names the parent lacks, and a new draft of
   every copied tool (acquire_draft_lock + save_draft), so the plan proposes all 200 tools.
4. merge (timed): merge_sandbox(source=sandbox, target=parent, actor), selection = everything.
   Checked after every round, as row-count changes in the parent: +500 empty collections, +200
   tool versions (a new DRAFT head per tool, the old head SUPERSEDED), tools / maintainers /
   locks / lock events unchanged, +1 merge record listing the 500 names and 200 tools.
5. raw (timed): BEGIN; INSERT … SELECT … FROM unnest(%s::text[]) ON CONFLICT (project_id, name)
   DO NOTHING of the same 500 names into an empty scratch project; COMMIT — same connection.

One warm-up round first, then 2 x --rounds rounds; medians. Then one more, instrumented round
(bench/sandbox_projects_profile.py) splits provision and merge into the functions they call,
with SQL statement counts: where the time goes.
"""

import json
import os
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import harness

if TYPE_CHECKING:  # both import Django models: loaded by run(), after harness.setup_django()
    from bench.sandbox_projects_data import Round
    from bench.sandbox_projects_profile import Profile

NAME = "sandbox_projects"
PROVISION = "sandbox_provision"
MERGE = "sandbox_merge"
RATIO = "sandbox_merge_vs_raw"
CASES = ("provision", "merge", "raw_insert")


def describe(result: "Round") -> str:
    return (
        f"provision {result.provision_ms:7.1f} ms  merge {result.merge_ms:7.1f} ms  "
        f"raw {result.raw_insert_ms:5.2f} ms  (untimed: set-up {result.setup_s:4.1f} s, "
        f"clean-up {result.cleanup_s:4.1f} s)"
    )


def run(options: harness.BenchOptions) -> list[harness.BenchResult]:
    print(f"== {NAME}: provision a sandbox (200 tools, 500 collections), merge it back, vs a raw "
          "INSERT … ON CONFLICT DO NOTHING of the 500 new collection rows (issue 7)")  # fmt: skip
    harness.setup_django()
    from bench import sandbox_projects_data as data
    from bench import sandbox_projects_profile as profiling

    actor = data.owner()
    print(f"  set-up: user {data.OWNER_EMAIL}; {data.delete_leftovers(actor)} leftover rows "
          f"deleted; each round: a parent with {data.TOOLS} tools and {data.PARENT_COLLECTIONS} "
          f"collections, {data.NEW_COLLECTIONS} new names and {data.TOOLS} edited drafts in the "
          "sandbox")  # fmt: skip
    labels = iter(range(1_000_000))

    def one_round(profile: "Profile | None" = None) -> "Round":
        return data.run_round(actor, f"{harness.timestamp()}-{next(labels)}", profile)

    try:
        print(f"  warm-up: {describe(one_round())}")
        runs = harness.interleave(
            [("round", one_round)], harness.fixed_work_rounds(options), describe
        )
        profile = profiling.Profile()
        instrumented = one_round(profile)
    finally:
        harness.close_db_connections()
    measured = harness.runs_of(runs, "round")
    document = report(measured, options)
    print()
    print("  where the time goes: one more round, instrumented (self time of each function; the "
          "wrappers add a little)")  # fmt: skip
    print(f"      instrumented round: {describe(instrumented)}")
    profiling.print_profile(profile)
    document["profile"] = profile.as_json()
    document["config"].update(
        tools=data.TOOLS,
        parent_collections=data.PARENT_COLLECTIONS,
        new_collections=data.NEW_COLLECTIONS,
        tool_source_bytes=len(data.source_for(0, "original")),
    )
    path = write_json(document)
    return results(document, path)


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "samples": len(values),
    }


def report(measured: list["Round"], options: harness.BenchOptions) -> dict[str, Any]:
    cases = {case: _stats([getattr(r, f"{case}_ms") for r in measured]) for case in CASES}
    ratio = cases["merge"]["median"] / cases["raw_insert"]["median"]
    print()
    print(f"  {'case':<12} {'median ms':>10} {'min ms':>9} {'max ms':>9}")
    for case, row in cases.items():
        print(f"  {case:<12} {row['median']:>10.2f} {row['min']:>9.2f} {row['max']:>9.2f}")
    print(f"  ratio merge/raw_insert = {ratio:.1f}  (medians; reported, no target)")
    wrote = measured[-1].merge_wrote
    summary = ", ".join(f"{name} {change:+d}" for name, change in wrote.items() if change)
    print(f"  the merge wrote in the parent (checked every round): {summary}; nothing else")
    return {
        "name": NAME,
        "timestamp": harness.timestamp(),
        "git_commit": harness.git_commit(),
        "ratio_merge_to_raw": ratio,
        "target": None,
        "cases_ms": cases,
        "rounds": [asdict(r) for r in measured],
        "merge_wrote_row_changes": wrote,
        "config": {
            **asdict(options),
            "measured_rounds": len(measured),
            "warmup_rounds": 1,
            "cpu_count": os.cpu_count(),
        },
    }


def write_json(document: dict[str, Any]) -> Path:
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = harness.RESULTS_DIR / f"{NAME}-{document['timestamp']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"  results: {path.relative_to(harness.REPO_ROOT)}")
    return path


def results(document: dict[str, Any], path: Path) -> list[harness.BenchResult]:
    cases = document["cases_ms"]
    # No targets (the issue asks for a report): 0 makes the summary print the figure unjudged.
    return [
        harness.BenchResult(PROVISION, cases["provision"]["median"], 0.0, True, path,
                            metric="median ms"),
        harness.BenchResult(MERGE, cases["merge"]["median"], 0.0, True, path, metric="median ms"),
        harness.BenchResult(RATIO, document["ratio_merge_to_raw"], 0.0, True, path,
                            metric="merge/raw"),
    ]  # fmt: skip
