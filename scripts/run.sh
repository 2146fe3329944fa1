#!/usr/bin/env bash
# Serve the portal with its background workers, all in the foreground: `make run`.
# Django's runserver on http://127.0.0.1:8000, one Celery worker and exactly one Celery beat, on the
# embedded broker (kombu filesystem transport under var/celery) unless CELERY_BROKER_URL says otherwise.
# Ctrl-C (or any of the three exiting) stops all three.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=.venv/bin
# The embedded shape (portal/settings.py): development keys allowed, static files served from the source
# folders by WhiteNoise, DEBUG off (the portal's own error pages; DJANGO_DEBUG=1 for Django's technical ones).
export PORTAL_ENV="${PORTAL_ENV:-embedded}"
VAR_DIR="${PORTAL_VAR_DIR:-var}"
HOST="${RUN_HOST:-127.0.0.1}"
PORT="${RUN_PORT:-8000}"
mkdir -p "$VAR_DIR"

if [[ ! -x "$BIN/python" ]]; then
    echo "No $BIN: run 'make install' (or simply 'make run')." >&2
    exit 1
fi

pids=()
stopping=0

stop_all() {
    local status=$?
    ((stopping)) && return
    stopping=1
    trap '' INT TERM  # a second Ctrl-C must not orphan the children mid-shutdown
    if ((${#pids[@]})); then
        echo
        echo ">> stopping web, worker and beat ..."
        kill -TERM "${pids[@]}" 2>/dev/null || true
        # Celery does a warm shutdown on TERM; give everyone 15 s, then force.
        for _ in $(seq 1 30); do
            local alive=0
            for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            ((alive)) || break
            sleep 0.5
        done
        for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
        wait 2>/dev/null || true
        echo ">> stopped"
    fi
    exit "$status"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cat <<MSG

  ================================================================
   Portal: http://${HOST}:${PORT}/
   Demo logins (password: demo-pass-2026)
     district    区委组织部工作人员
     secretary   支部书记
     instructor  党建指导员
     viewer      统计查看
   Broker: ${CELERY_BROKER_URL:-filesystem:// (embedded, ${VAR_DIR}/celery)}
   Shape:  PORTAL_ENV=${PORTAL_ENV} (DEBUG ${DJANGO_DEBUG:-off})
   Ctrl-C stops web, worker and beat.
  ================================================================

MSG

"$BIN/celery" -A portal worker -l info --concurrency=1 -n "portal-worker@%h" &
pids+=($!)
"$BIN/celery" -A portal beat -l info --schedule "$VAR_DIR/celerybeat-schedule" &
pids+=($!)
"$BIN/python" manage.py runserver "${HOST}:${PORT}" &
pids+=($!)

# Return as soon as any of the three exits (a crash, or a busy port), then stop the others.
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo ">> web, worker or beat has exited (status $status)" >&2
exit "$status"
