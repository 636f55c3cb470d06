#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the pinned dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "install: Python 3.11 is required" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    # Debian's python3 needs python3-venv for ensurepip.
    rm -rf .venv
    [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv .venv
  fi
fi
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -r requirements/dev.txt 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import django, rest_framework, celery, guardian, playwright' \
  || { echo "install: dependencies did not install" >&2; exit 1; }
echo "install: .venv ready ($(.venv/bin/python --version))" >&2
