#!/usr/bin/env bash
# Make the bubblewrap sandbox usable: bubblewrap, util-linux's prlimit and setpriv, libseccomp
# and Debian's python3 (as root with apt-get), then the runner venv tools import pandas/openpyxl
# from, built from requirements/runner.txt with /usr/bin/python3 (the sandbox cannot read a
# Python in a 0700 home folder). Idempotent: the venv is rebuilt only when requirements/runner.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v prlimit >/dev/null && command -v setpriv >/dev/null || missing+=(util-linux)
[ -x /usr/bin/python3 ] || missing+=(python3)
compgen -G '/usr/lib/*/libseccomp.so.2' >/dev/null || compgen -G '/usr/lib*/libseccomp.so.2' >/dev/null \
  || missing+=(libseccomp2)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "sandbox: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if [ "$(id -u)" = 0 ]; then
  venv=${SANDBOX_RUNNER_VENV:-/var/lib/skriptoteket/runner-venv}
else
  venv=${SANDBOX_RUNNER_VENV:-$PWD/.data/runner-venv}
fi
wanted=$(sha256sum requirements/runner.txt | cut -d' ' -f1)
stamp="$venv/.requirements.sha256"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "sandbox: bwrap $(bwrap --version | cut -d' ' -f2), runner venv up to date at $venv" >&2
  exit 0
fi

umask 022  # the sandbox runs as another uid and must read every file of the venv
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv --without-pip "$venv"
.venv/bin/python -m pip --python "$venv/bin/python" install -q -r requirements/runner.txt 2>&1 \
  | grep -v '^WARNING: Location' || true
"$venv/bin/python" -c 'import pandas, openpyxl' \
  || { echo "sandbox: runner venv at $venv did not install" >&2; exit 1; }
chmod -R a+rX "$venv"
echo "$wanted" > "$stamp"
echo "sandbox: bwrap $(bwrap --version | cut -d' ' -f2), runner venv built at $venv" >&2
