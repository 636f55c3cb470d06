"""PostgreSQL's postmaster is SIGKILLed under load and started again a few seconds later
(docs/architecture.md, "Outages and what survives them"): nothing acknowledged is lost, clients
see only 503 while it is down, and service is whole again within 2 s of its return, without
restarting anything."""

import time

import pytest

from tests.faults.load import Load, format_counts, status_counts, within
from tests.faults.probes import counter_and_recount, stored_items
from tests.faults.stack import Stack

pytestmark = pytest.mark.faults

LOAD_BEFORE_S = 3.0
OUTAGE_S = 4.0
LOAD_AFTER_S = 5.0
RECOVERY_LIMIT_S = 2.0


def test_postgres_killed_under_load(stack: Stack, report) -> None:
    load = Load(stack.base_url, stack.seed["token"], stack.seed["collection"], prefix="pg")
    load.start()
    time.sleep(LOAD_BEFORE_S)
    killed = time.monotonic()
    stack.postgres.kill()
    time.sleep(OUTAGE_S)
    restarted = time.monotonic()
    back = stack.postgres.start()
    time.sleep(LOAD_AFTER_S)
    load.stop()

    samples = load.samples
    failures_after = [s for s in within(samples, back, float("inf")) if not 200 <= s.status < 300]
    recovery = max((s.end for s in failures_after), default=back) - back
    stored = stored_items(stack)
    lost = {key for key, value in load.acknowledged.items() if stored.get(key) != value}
    counter, recount = counter_and_recount(stack)
    everything = format_counts(status_counts(samples))
    outage = format_counts(status_counts(within(samples, killed, back)))
    report(
        f"postgres SIGKILL: restarted {restarted - killed:.1f} s after the kill, accepting"
        f" connections after {back - killed:.1f} s (crash recovery); all answers {everything};"
        f" during the outage {outage}; full service {recovery:.2f} s after its return;"
        f" acknowledged writes {len(load.acknowledged)}, stored {len(stored)}, lost or changed"
        f" {len(lost)}; item_count {counter} = recount {recount}"
    )
    seen = set(status_counts(samples))
    assert seen <= {200, 503}, status_counts(samples)
    assert 503 in status_counts(within(samples, killed, back))
    assert not lost
    assert counter == recount == len(stored)
    assert recovery <= RECOVERY_LIMIT_S, [(s.kind, s.status, s.end - back) for s in failures_after]
    # The service answered throughout: the load after the return succeeded.
    assert [s for s in within(samples, back + RECOVERY_LIMIT_S, float("inf")) if s.status == 200]
