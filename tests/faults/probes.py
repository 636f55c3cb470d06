"""What the fault tests ask the deployment: submit a run over HTTP; read runs, collection
items and counters straight from its database."""

import json
from typing import Any

from tests.faults.load import Client
from tests.faults.stack import Stack

TERMINAL = ("succeeded", "failed", "timed_out", "cancelled")


def submit_run(stack: Stack, tag: str, sleep: str = "0") -> tuple[int, dict[str, Any]]:
    client = Client(
        stack.base_url,
        {"Authorization": f"Bearer {stack.seed['token']}", "Content-Type": "application/json"},
    )
    body = json.dumps({"inputs": {"tag": tag, "sleep": sleep}}).encode()
    status, answer = client.request("POST", f"/api/v1/tools/{stack.seed['tool_id']}/run", body)
    client.close()
    return status, json.loads(answer or b"{}")


def run_statuses(stack: Stack, run_ids: list[str]) -> dict[str, str]:
    rows = stack.postgres.query(
        "SELECT id::text, status FROM runs_toolrun WHERE id = ANY(%s::uuid[])", (run_ids,)
    )
    return {str(run_id): str(status) for run_id, status in rows}


def ledger_entries(stack: Stack, tag: str) -> int:
    [(count,)] = stack.postgres.query(
        "SELECT count(*) FROM kvcollections_collectionitem WHERE collection_id = %s"
        " AND key LIKE %s",
        (stack.seed["ledger_id"], f"{tag}:%"),
    )
    return int(count)  # type: ignore[call-overload]


def stored_items(stack: Stack) -> dict[str, str]:
    rows = stack.postgres.query(
        "SELECT key, value FROM kvcollections_collectionitem WHERE collection_id = %s",
        (stack.seed["collection_id"],),
    )
    return {str(key): str(value) for key, value in rows}


def counter_and_recount(stack: Stack) -> tuple[int, int]:
    [(counter, recount)] = stack.postgres.query(
        "SELECT c.item_count, (SELECT count(*) FROM kvcollections_collectionitem i"
        " WHERE i.collection_id = c.id) FROM kvcollections_collection c WHERE c.id = %s",
        (stack.seed["collection_id"],),
    )
    return int(counter), int(recount)  # type: ignore[call-overload]
