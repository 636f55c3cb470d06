#!/usr/bin/env bash
# Run the whole suite against the PostgreSQL and Redis that scripts/services.sh made reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/sandbox.sh
scripts/browser.sh
export DJANGO_ALLOW_ASYNC_UNSAFE=true  # Playwright's sync API runs an event loop in the test thread
mkdir -p test-artifacts
python manage.py check --fail-level WARNING >/dev/null
exec pytest -q "$@"
