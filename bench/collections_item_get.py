"""Benchmark `collections_item_get`: token-authenticated GET /collections/{name}/{key} vs bare DRF.

A: `GET /collections/bench-stream-1m/key-NNNNNNN` with a personal token (v1: the name is resolved
among the caller's projects), a random existing key of the 1M-item collection per request
(wrk Lua script bench/wrk/random_item.lua). B: `/bench/bare` on the same gunicorn server, as in
project_get. Target: A serves at least 0.6 times B's requests per second.
"""

from bench import collections_data, harness

NAME = "collections_item_get"
TARGET_RATIO = 0.6
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


def run(options: harness.BenchOptions) -> harness.BenchResult:
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
        return harness.write_result(
            NAME,
            comparison,
            TARGET_RATIO,
            server,
            options,
            notes={
                "collection": collections_data.STREAM_COLLECTION,
                "keys": f"uniform random of {collections_data.ITEM_COUNT} existing keys",
                "wrk_script": str(SCRIPT.relative_to(harness.REPO_ROOT)),
            },
        )
