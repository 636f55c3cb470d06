"""Redis is killed under load and started again, empty (docs/architecture.md, "Outages and what
survives them"): the API keeps serving (the throttle fails open), sign-in works, and runs
submitted meanwhile are accepted and executed once Redis is back (the reaper sends them again),
each exactly once."""

import http.client
import re
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from tests.faults.load import Load, format_counts, status_counts, within
from tests.faults.probes import TERMINAL, ledger_entries, run_statuses, submit_run
from tests.faults.processes import wait_for
from tests.faults.stack import REQUEUE_AFTER_SECONDS, Stack

pytestmark = pytest.mark.faults

OUTAGE_S = 4.0
RUNS_DURING_OUTAGE = 3


def sign_in(stack: Stack) -> int:
    """GET the sign-in page, POST its form back; the status of the POST (302 = signed in)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=10)
    try:
        conn.request("GET", "/accounts/login/")
        response = conn.getresponse()
        page = response.read()
        assert response.status == 200, response.status
        jar: SimpleCookie = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        form = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": stack.seed["email"],
                "password": stack.seed["password"],
            }
        )
        conn.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={jar['csrftoken'].value}",
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_redis_killed_under_load(stack: Stack, report) -> None:
    load = Load(stack.base_url, stack.seed["token"], stack.seed["collection"], prefix="redis")
    load.start()
    time.sleep(2.0)
    killed = time.monotonic()
    stack.redis.kill()
    signed_in = sign_in(stack)
    tags = [f"redis-{uuid.uuid4().hex[:8]}" for _ in range(RUNS_DURING_OUTAGE)]
    submitted = [submit_run(stack, tag) for tag in tags]
    time.sleep(max(0.0, killed + OUTAGE_S - time.monotonic()))
    back = stack.redis.start()
    time.sleep(3.0)
    load.stop()

    run_ids = [answer.get("run_id", "") for _, answer in submitted]
    done = wait_for(
        lambda: all(s in TERMINAL for s in run_statuses(stack, run_ids).values()),
        timeout=REQUEUE_AFTER_SECONDS + 40,
        what="the runs submitted during the outage to finish",
        interval=0.25,
    )
    # Long enough for the reaper to send anything again that it still thought queued.
    time.sleep(REQUEUE_AFTER_SECONDS + 2)
    statuses = run_statuses(stack, run_ids)
    entries = {tag: ledger_entries(stack, tag) for tag in tags}
    samples = load.samples
    everything = format_counts(status_counts(samples))
    outage = format_counts(status_counts(within(samples, killed, back)))
    report(
        f"redis SIGKILL: outage {back - killed:.1f} s; all answers {everything};"
        f" during the outage {outage}; sign-in {signed_in};"
        f" runs submitted {[status for status, _ in submitted]}, finished {done - back:.1f} s"
        f" after its return as {sorted(statuses.values())}; executions per run"
        f" {sorted(entries.values())}; acknowledged writes {len(load.acknowledged)}"
    )
    assert set(status_counts(samples)) == {200}, status_counts(samples)
    assert within(samples, killed + 0.5, back), "the load made no requests during the outage"
    assert signed_in == 302
    assert [status for status, _ in submitted] == [202] * RUNS_DURING_OUTAGE, submitted
    assert sorted(statuses.values()) == ["succeeded"] * RUNS_DURING_OUTAGE, statuses
    assert entries == dict.fromkeys(tags, 1)
