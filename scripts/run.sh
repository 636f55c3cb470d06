#!/usr/bin/env bash
# Migrate, load demo data and run web (gunicorn), Celery worker and Celery beat in the foreground.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/sandbox.sh
export LOG_FORMAT="${LOG_FORMAT:-console}"
PORT=${PORT:-8000}
python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0
echo "Demo logins:"
python manage.py seed_demo
pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT
gunicorn skriptoteket.wsgi --bind "127.0.0.1:$PORT" --workers "${WEB_WORKERS:-3}" --error-logfile - --log-level warning &
pids+=($!)
celery -A skriptoteket worker -Q default,sandbox,runs --concurrency 2 --loglevel INFO --without-gossip --without-mingle &
pids+=($!)
celery -A skriptoteket beat --loglevel INFO --schedule .data/celerybeat-schedule &
pids+=($!)
echo
echo "Skriptoteket is running at http://127.0.0.1:$PORT/  (API docs: /api/docs/, admin: /admin/)"
echo "Press Ctrl-C to stop web, worker and beat."
wait -n "${pids[@]}"
echo "A process exited; stopping the others." >&2
