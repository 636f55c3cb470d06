#!/usr/bin/env bash
# Run the whole suite against the PostgreSQL and Redis that scripts/services.sh made reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/sandbox.sh
scripts/browser.sh
# tests/core/test_compose_file.py resolves docker-compose.yml with Compose itself: Debian's
# docker-compose (without the engine it recommends) when no Compose is here.
if [ "$(id -u)" = 0 ] && ! command -v docker-compose >/dev/null \
  && ! docker compose version >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } \
    || echo "test: docker-compose did not install; the compose config test will say it skipped" >&2
fi
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread
mkdir -p test-artifacts
python manage.py check --fail-level WARNING >/dev/null
exec pytest -q "$@"
