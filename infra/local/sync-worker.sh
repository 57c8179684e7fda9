#!/usr/bin/env bash
# The rq worker that runs the admin pages' sync jobs (`rq worker sync`, connector/jobs.py): start | status | stop.
# It reads the same LORE_* settings as the backend (environment, then .env in the repository root), so start it
# from the shell that has them. demo.sh starts it; a real install runs `rq worker sync` under its service manager.
source "$(dirname "$0")/common.sh"
PIDFILE="$LORE_STATE/run/sync-worker.pid"
LOG="$LORE_STATE/logs/sync-worker.log"
QUEUE="${LORE_WEB_SYNC_QUEUE:-sync}"
REDIS_URL="${LORE_REDIS_URL:-redis://127.0.0.1:${LORE_REDIS_PORT:-6379}/0}"
PY="$LORE_ROOT/.venv/bin/python"

start() {
  if pid_alive "$PIDFILE" "rq.cli worker"; then say "sync worker already running (pid $(cat "$PIDFILE"))"; return 0; fi
  [ -x "$PY" ] || die "no $PY: run bash infra/local/setup.sh first"
  cd "$LORE_ROOT"
  nohup "$PY" -m rq.cli worker --url "$REDIS_URL" "$QUEUE" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  local i; for i in $(seq 1 30); do
    grep -q "Listening on" "$LOG" 2>/dev/null && { say "sync worker is up (queue $QUEUE, pid $(cat "$PIDFILE"), log $LOG)"; return 0; }
    pid_alive "$PIDFILE" "rq.cli worker" || break
    sleep 0.5
  done
  tail -n 20 "$LOG" >&2; die "the sync worker did not start; see $LOG"
}
status() {
  if pid_alive "$PIDFILE" "rq.cli worker"; then say "sync worker: up (queue $QUEUE, pid $(cat "$PIDFILE"))"
  else say "sync worker: down"; return 1; fi
}
stop() { stop_pid "the sync worker" "$PIDFILE" "rq.cli worker"; }

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
