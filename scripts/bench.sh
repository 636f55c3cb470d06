#!/usr/bin/env bash
# Run the benchmarks under bench/ against the PostgreSQL and Redis that scripts/services.sh made
# reachable. `scripts/bench.sh` runs all of them; `scripts/bench.sh project_get` runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export DEBIAN_FRONTEND=noninteractive

# wrk is the load generator; Debian packages it. Installing needs root (CI and dev boxes are).
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: wrk is missing and we are not root; install it (apt-get install wrk)" >&2
    exit 1
  fi
  echo "bench: installing wrk" >&2
  apt-get update -qq >/dev/null
  apt-get install -y -qq wrk >/dev/null
fi

python manage.py migrate --noinput -v0
# Progress lines should appear as each run ends, also when the output goes to a pipe or a file.
export PYTHONUNBUFFERED=1
exec python -m bench.run "$@"
