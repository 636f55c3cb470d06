"""A Celery worker is SIGKILLed while a run sleeps in its sandbox: the main process, and
separately one pool child (docs/runner.md, "Worker deaths"). The run ends within its wall limit
plus the reaper's grace and interval, its run token is revoked, its sandbox processes and run
folder are gone, and the same message delivered again does not run it a second time."""

import os
import signal
import time
import uuid

import pytest
from celery import Celery

from tests.faults.probes import TERMINAL, ledger_entries, run_statuses, submit_run
from tests.faults.processes import descendants, processes_of_uids, wait_for
from tests.faults.stack import (
    REAPER_INTERVAL_SECONDS,
    RUN_WALL_SECONDS,
    STUCK_GRACE_SECONDS,
    Stack,
)

pytestmark = pytest.mark.faults

# What the reaper promises (wall + grace, checked every interval) plus a margin for a loaded box.
ENDED_WITHIN_S = RUN_WALL_SECONDS + STUCK_GRACE_SECONDS + REAPER_INTERVAL_SECONDS + 3
TOOL_SLEEP_S = "60"  # far past the wall limit: only the runner or the reaper can end it


def _started_run(stack: Stack, tag: str) -> str:
    status, answer = submit_run(stack, tag, sleep=TOOL_SLEEP_S)
    assert status == 202, answer
    run_id = str(answer["run_id"])
    wait_for(
        lambda: (
            run_statuses(stack, [run_id])[run_id] == "running"
            and ledger_entries(stack, tag) == 1
            and processes_of_uids(stack.sandbox_uids)
        ),
        timeout=60,
        what="the tool to sleep in its sandbox",
        interval=0.1,
    )
    return run_id


def _pool_child_running_the_sandbox(stack: Stack) -> int:
    sandbox = set(processes_of_uids(stack.sandbox_uids))
    [child] = [pid for pid in stack.worker.children() if sandbox & set(descendants(pid))]
    return child


def _run_facts(stack: Stack, run_id: str) -> tuple[str, float, int, int]:
    """Status, seconds from start to finish, tokens of the run, tokens still live."""
    [(status, seconds, tokens, live)] = stack.postgres.query(
        "SELECT r.status, EXTRACT(EPOCH FROM r.finished_at - r.started_at)::float,"
        " (SELECT count(*) FROM accounts_apitoken t WHERE t.run_id = r.id),"
        " (SELECT count(*) FROM accounts_apitoken t WHERE t.run_id = r.id"
        "  AND t.revoked_at IS NULL)"
        " FROM runs_toolrun r WHERE r.id = %s",
        (run_id,),
    )
    return str(status), float(seconds), int(tokens), int(live)  # type: ignore[arg-type, call-overload]


def _deliver_again(stack: Stack, run_id: str) -> None:
    """The message of the run once more, as the broker redelivers an unacknowledged one."""
    broker = Celery(broker=stack.redis.url)
    broker.send_task("apps.runs.tasks.execute_production_run_task", args=[run_id], queue="runs")
    wait_for(
        lambda: any(
            "run.claim_skipped" in line and run_id in line
            for line in stack.worker.output().splitlines()
        ),
        timeout=30,
        what="the worker to receive the run's message again",
        interval=0.2,
    )


@pytest.mark.parametrize("victim", ["main process", "pool child"])
def test_worker_killed_mid_run(stack: Stack, report, victim: str) -> None:
    tag = f"kill-{uuid.uuid4().hex[:8]}"
    run_id = _started_run(stack, tag)
    killed = time.monotonic()
    if victim == "main process":
        os.kill(stack.worker.pid, signal.SIGKILL)
        stack.worker.process.wait()  # type: ignore[union-attr]
    else:
        os.kill(_pool_child_running_the_sandbox(stack), signal.SIGKILL)
    sandbox_gone = wait_for(
        lambda: not processes_of_uids(stack.sandbox_uids), 10, "the sandbox processes to end"
    )
    if victim == "main process":
        stack.restart_worker()  # a supervisor's job in production (docs/runner.md)
    ended = wait_for(
        lambda: run_statuses(stack, [run_id])[run_id] in TERMINAL,
        timeout=ENDED_WITHIN_S + 10,
        what="the run to end",
        interval=0.2,
    )
    folder = stack.work_root / run_id
    folder_gone = wait_for(
        lambda: not folder.exists(), 3 * REAPER_INTERVAL_SECONDS + 10, "the run folder to go"
    )
    _deliver_again(stack, run_id)
    status, seconds, tokens, live = _run_facts(stack, run_id)
    executions = ledger_entries(stack, tag)
    report(
        f"worker {victim} SIGKILL mid-run: run {status} {seconds:.1f} s after it started"
        f" (wall {RUN_WALL_SECONDS} s + grace {STUCK_GRACE_SECONDS} s + reaper interval"
        f" {REAPER_INTERVAL_SECONDS} s), {ended - killed:.1f} s after the kill; sandbox gone"
        f" {sandbox_gone - killed:.1f} s after it, run folder {folder_gone - killed:.1f} s;"
        f" run tokens {tokens}, live {live}; executions {executions} after a redelivery"
    )
    assert status == "timed_out"
    assert seconds <= ENDED_WITHIN_S
    assert (tokens, live) == (1, 0)
    assert executions == 1
    assert run_statuses(stack, [run_id])[run_id] == "timed_out"
