#!/usr/bin/env bash
# Make Debian's Chromium available for the Playwright tests (never Playwright's own download).
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
fi
command -v chromium >/dev/null || { echo "browser: chromium is not installed and cannot be installed here" >&2; exit 1; }
