# Sourced by make targets and scripts: service URLs plus safe local defaults for a dev machine.
# Production sets these variables itself; nothing here is read when they are already set.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
[ -f "$_root/.data/services.env" ] && source "$_root/.data/services.env"
if [ -z "${SECRET_KEY:-}" ]; then
  [ -s "$_root/.data/secret_key" ] || (umask 077; mkdir -p "$_root/.data"; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$_root/.data/secret_key")
  SECRET_KEY="$(cat "$_root/.data/secret_key")"
  export SECRET_KEY
fi
export HTTPS="${HTTPS:-false}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-skriptoteket.settings}"
export PATH="$_root/.venv/bin:$PATH"
# Root workers keep run folders outside the checkout (the sandbox uid must reach them), one
# folder per checkout so the sweeps of one never touch another's runs.
if [ "$(id -u)" = 0 ] && [ -n "${SKT_CHECKOUT_ID:-}" ]; then
  export SANDBOX_WORK_ROOT="${SANDBOX_WORK_ROOT:-/var/lib/skriptoteket/runs-$SKT_CHECKOUT_ID}"
fi
unset _root
