"""Benchmark `collections_item_get`: token-authenticated GET /collections/{name}/{key} vs bare DRF.

A: `GET /collections/bench-stream-1m/key-NNNNNNN` with a personal token (v1: the name is resolved
among the caller's projects), a random existing key of the 1M-item collection per request
(wrk Lua script bench/wrk/random_item.lua). B: `/bench/bare` on the same gunicorn server, as in
project_get: a DRF view with no authentication, permission or throttle (the token-less floor).

Targets (issue 15): A serves at least 0.6 times B's requests per second under load (wrk's 16
connections), and its p50 latency with 2 clients (wrk -c2; A and B interleaved again) is at most
2 ms. The first is a ratio measured in one run; the second is absolute, so B's p50 at 2 clients is
printed beside it for the machine's floor.
"""

import dataclasses

from bench import collections_data, harness

NAME = "collections_item_get"
TARGET_RATIO = 0.6
TARGET_P50_MS = 2.0
FEW_CLIENTS = 2
TOKEN_NAME = "bench collections_item_get"
# As in project_get: a rate that never refuses, while the throttle's Redis round trip still runs.
THROTTLE_USER_RATE = "1000000/s"
SCRIPT = harness.REPO_ROOT / "bench" / "wrk" / "random_item.lua"


def verify(server: harness.Server, item_case: harness.Case, bare_case: harness.Case) -> None:
    """Both endpoints answer 200 with the expected body before we time them."""
    key = collections_data.key_for(collections_data.ITEM_COUNT // 2)
    path = f"/collections/{collections_data.STREAM_COLLECTION}/{key}"
    status, body = harness.get_json(server, harness.Case("check", path, item_case.headers))
    if (
        status != 200
        or not isinstance(body, dict)
        or body.get("key") != key
        or len(body.get("value", "")) != collections_data.VALUE_BYTES
    ):
        raise harness.BenchError(f"{path} answered {status} {body!r}; expected item {key}")
    status, body = harness.get_json(server, bare_case)
    if status != 200 or body != {"message": "ok"}:
        raise harness.BenchError(f"{bare_case.path} answered {status} {body!r}")
    print(f"  verified: {path} -> 200 (key and value match), {bare_case.path} -> 200")


def run(options: harness.BenchOptions) -> list[harness.BenchResult]:
    print(f"== {NAME}: token GET /collections/{{name}}/{{key}} (random keys) vs bare DRF view")
    harness.setup_django()
    fixture = collections_data.seed(TOKEN_NAME)
    harness.close_db_connections()
    prefix = f"/collections/{collections_data.STREAM_COLLECTION}/key-"
    item_case = harness.Case(
        "item_get",
        prefix + "0000001",  # wrk's URL; the script picks the key of every request
        fixture.headers,
        script=SCRIPT,
        script_args=(prefix, str(collections_data.ITEM_COUNT)),
    )
    bare_case = harness.Case("bare", "/bench/bare")
    overrides = {"API_THROTTLE_USER": THROTTLE_USER_RATE}
    print(f"  server env: API_THROTTLE_USER={THROTTLE_USER_RATE}")
    with harness.gunicorn_server(NAME, overrides) as server:
        print(f"  gunicorn: {server.workers} sync workers at {server.base_url}")
        print(f"  server log: {server.log_path.relative_to(harness.REPO_ROOT)}")
        verify(server, item_case, bare_case)
        comparison = harness.compare(server, item_case, bare_case, options)
        few = [dataclasses.replace(c, connections=FEW_CLIENTS) for c in (item_case, bare_case)]
        print(f"  {FEW_CLIENTS} clients (wrk -c{FEW_CLIENTS}):")
        few_clients = harness.compare(server, few[0], few[1], options)
        p50 = few_clients.median(few[0]).p50_ms
        bare_p50 = few_clients.median(few[1]).p50_ms
        passed = p50 <= TARGET_P50_MS
        print(
            f"  p50 item_get at {FEW_CLIENTS} clients = {p50:.2f} ms (bare view {bare_p50:.2f} ms; "
            f"{few_clients.median(few[0]).requests_per_second:.0f} req/s)  "
            f"(target <= {TARGET_P50_MS:.2f} ms)  {harness.verdict(passed)}"
        )
        ratio_result = harness.write_result(
            NAME,
            comparison,
            TARGET_RATIO,
            server,
            options,
            notes={
                "collection": collections_data.STREAM_COLLECTION,
                "keys": f"uniform random of {collections_data.ITEM_COUNT} existing keys",
                "wrk_script": str(SCRIPT.relative_to(harness.REPO_ROOT)),
                "few_clients": {
                    "connections": FEW_CLIENTS,
                    "target_p50_ms": TARGET_P50_MS,
                    "passed": passed,
                    **harness.comparison_json(few_clients),
                },
            },
        )
        return [
            ratio_result,
            harness.BenchResult(
                f"{NAME}_p50@{FEW_CLIENTS}",
                p50,
                TARGET_P50_MS,
                passed,
                ratio_result.json_path,
                higher_is_better=False,
                metric="p50 ms",
            ),
        ]
