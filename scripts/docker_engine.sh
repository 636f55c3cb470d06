#!/usr/bin/env bash
# A Docker engine for SANDBOX_RUNNER=docker (tests, `make run`), the way scripts/services.sh
# makes PostgreSQL and Redis reachable:
#   scripts/docker_engine.sh start   an engine that answers: the one already running (DOCKER_HOST
#                                    or /var/run/docker.sock), else Debian's docker.io (installed
#                                    when dockerd is missing, as root) started here
#   scripts/docker_engine.sh stop    stop the dockerd this script started, and nothing else
#   scripts/docker_engine.sh status  exit 0 when an engine answers
# The dockerd started here keeps everything under $SKT_DOCKER_STATE (default
# /var/lib/skriptoteket/docker-engine): data root, exec root, pidfile, log, and the marker
# `started-here` that `stop` reads. It runs without a bridge or iptables rules: sandbox
# containers use --network none, and image builds use the host's network (scripts/runner_image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${SKT_DOCKER_STATE:-/var/lib/skriptoteket/docker-engine}
SOCKET=/var/run/docker.sock
log() { echo "docker-engine: $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

# The CLI may be a static client at /usr/local/bin/docker with no daemon: ask the engine itself.
engine_answers() { command -v docker >/dev/null && timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_engine() {
  is_root && command -v apt-get >/dev/null || {
    log "dockerd is missing; install Debian's docker.io (apt-get install docker.io) or start an engine"
    return 1
  }
  log "installing Debian's docker.io"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; }
}

# overlay2 where the kernel offers it on our data root's filesystem; vfs (slow, but works on
# any filesystem) otherwise.
storage_driver() {
  local probe="$STATE/overlay-probe"
  rm -rf "$probe" && mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"; rm -rf "$probe"; echo overlay2
  else
    rm -rf "$probe"; echo vfs
  fi
}

start_engine() {
  if [ -n "${DOCKER_HOST:-}" ]; then
    log "DOCKER_HOST=$DOCKER_HOST does not answer; not starting another engine"; return 1
  fi
  command -v dockerd >/dev/null || install_engine || return 1
  is_root || { log "dockerd must be started as root (or start an engine and set DOCKER_HOST)"; return 1; }
  if [ -S "$SOCKET" ] && ! [ -f "$STATE/started-here" ]; then
    log "$SOCKET exists but no engine answers on it; remove it or start that engine"; return 1
  fi
  mkdir -p "$STATE"
  local driver
  driver=$(storage_driver)
  log "starting dockerd (storage driver $driver, state in $STATE)"
  # setsid: the engine outlives this script and the make target that ran it.
  setsid dockerd --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" \
    --host "unix://$SOCKET" --storage-driver "$driver" --iptables=false --ip-masq=false \
    --bridge=none >>"$STATE/dockerd.log" 2>&1 </dev/null &
  echo "$!" >"$STATE/started-here"
  for _ in $(seq 1 100); do engine_answers && return 0; sleep 0.2; done
  log "dockerd did not answer within 20 s; see $STATE/dockerd.log"; return 1
}

stop_engine() {
  [ -f "$STATE/started-here" ] || { log "no engine started by this script; nothing to stop"; return 0; }
  local pid
  pid=$(cat "$STATE/dockerd.pid" 2>/dev/null || cat "$STATE/started-here")
  if [ -n "$pid" ] && grep -q dockerd "/proc/$pid/comm" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    log "stopped dockerd $pid"
  fi
  rm -f "$STATE/started-here"
}

case "${1:-start}" in
  start)
    if engine_answers; then
      log "engine $(docker version --format '{{.Server.Version}}') answers"
    else
      start_engine
    fi
    ;;
  stop) stop_engine ;;
  status) engine_answers ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
