#!/usr/bin/env bash
# Make the runner image SANDBOX_DOCKER_IMAGE (default skriptoteket-runner:latest) current on the
# engine scripts/docker_engine.sh made reachable, without an image registry:
#   base   RUNNER_BASE_IMAGE when set (e.g. python:3.11-slim on a host that can pull it), else
#          skriptoteket-runner-base:<hash of docker/runner-base.sh>, built from Debian's packages
#   image  docker/runner.Dockerfile FROM that base; runner requirements from PyPI
# The image carries the hash of every input (the label skriptoteket.inputs, and the tag
# skriptoteket-runner:<hash>): when the current image has it, nothing is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${SANDBOX_DOCKER_IMAGE:-skriptoteket-runner:latest}
REPO=${IMAGE%:*}
log() { echo "runner-image: $*" >&2; }

base_recipe_hash=$(sha256sum docker/runner-base.sh | cut -c1-12)
base=${RUNNER_BASE_IMAGE:-skriptoteket-runner-base:$base_recipe_hash}
inputs_hash=$(
  {
    echo "base=$base"
    sha256sum docker/runner-base.sh docker/runner.Dockerfile requirements/runner.txt
    find apps/runs/runner/files -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)

current=$(docker image inspect --format '{{ index .Config.Labels "skriptoteket.inputs" }}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$inputs_hash" ]; then
  log "$IMAGE is current (inputs $inputs_hash)"
  exit 0
fi

started=$(date +%s)
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ -n "${RUNNER_BASE_IMAGE:-}" ]; then
    docker pull "$base" >/dev/null || { log "base image $base not found and not pullable"; exit 1; }
  else
    command -v debootstrap >/dev/null || {
      [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
        || { log "debootstrap is missing (apt-get install debootstrap), or set RUNNER_BASE_IMAGE"; exit 1; }
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    log "building the base image $base from Debian packages (about a minute)"
    docker/runner-base.sh "$base"
    log "built the base image in $(( $(date +%s) - started )) s"
  fi
fi
log "building $IMAGE FROM $base (inputs $inputs_hash)"
# The wheels come through the host's pip (its index, proxy and CA settings); the build then
# installs them without an index. RUNNER_WHEELS=pypi leaves the fetching to pip in the build.
rm -rf docker/runner-wheels
if [ "${RUNNER_WHEELS:-host}" = host ]; then
  .venv/bin/python -m pip download -q --only-binary=:all: -r requirements/runner.txt \
    -d docker/runner-wheels 2>&1 | grep -v '^WARNING: Location' >&2 || true
fi
# The host's network: the engine may run without a bridge (scripts/docker_engine.sh), and pip
# fetches the runner requirements from PyPI.
# The classic builder: Debian's docker.io has no buildx plugin.
build_log=$(mktemp)
if ! DOCKER_BUILDKIT=0 docker build --force-rm --network host -f docker/runner.Dockerfile \
  --build-arg "BASE_IMAGE=$base" --label "skriptoteket.inputs=$inputs_hash" \
  -t "$REPO:$inputs_hash" -t "$IMAGE" . >"$build_log" 2>&1; then
  tail -30 "$build_log" >&2; rm -rf "$build_log" docker/runner-wheels; exit 1
fi
rm -f "$build_log"
rm -rf docker/runner-wheels
log "built $IMAGE in $(( $(date +%s) - started )) s"
