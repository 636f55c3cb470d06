#!/usr/bin/env bash
# Run the whole suite against the PostgreSQL and Redis that scripts/services.sh made reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/sandbox.sh
# The Docker backend's tests: an engine and a current runner image. Without them those tests
# skip (one line in the summary says why), unless REQUIRE_DOCKER=1 (.ci/run) makes it an error.
if ! { scripts/docker_engine.sh start && scripts/runner_image.sh; }; then
  [ "${REQUIRE_DOCKER:-}" = 1 ] && { echo "test: REQUIRE_DOCKER=1 and no Docker engine or runner image" >&2; exit 1; }
  echo "test: no Docker engine or runner image here; the Docker backend tests will skip" >&2
fi
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
