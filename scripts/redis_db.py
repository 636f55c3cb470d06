"""Print the Redis database number this checkout owns on a shared Redis server (1-15).

Two checkouts on one machine must never share a Redis database: the cache would mix, the tests'
cache reset would wipe the other's keys, and one checkout's Celery worker would take the other's
tasks. Each database a checkout uses holds an owner key naming the checkout's folder; the number
is also remembered in .data/redis-db, so the same checkout gets the same database after Redis
restarts (the machine's Redis keeps nothing on disk). Database 0 is left to whatever else uses
the server. Usage: redis_db.py REDIS_BASE_URL (e.g. redis://127.0.0.1:6379).
"""

import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
REMEMBERED = ROOT / ".data" / "redis-db"
OWNER_KEY = "skriptoteket:checkout"
DATABASES = range(1, 16)


def owns(base_url: str, db: int) -> bool:
    """Claim `db` for this checkout unless another one holds it; True when it is ours."""
    client = redis.Redis.from_url(f"{base_url}/{db}", socket_connect_timeout=2)
    me = str(ROOT).encode()
    if client.set(OWNER_KEY, me, nx=True):
        return True
    return client.get(OWNER_KEY) == me


def main(base_url: str) -> int:
    remembered = REMEMBERED.read_text().strip() if REMEMBERED.exists() else ""
    order = [int(remembered)] if remembered.isdigit() and int(remembered) in DATABASES else []
    order += [db for db in DATABASES if db not in order]
    for db in order:
        if owns(base_url, db):
            REMEMBERED.write_text(f"{db}\n")
            print(db)
            return 0
    print(f"redis_db: databases 1-15 of {base_url} all belong to other checkouts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
