#!/usr/bin/env bash
# The minutes worker (`rq worker` on the minutes queue, with rq's scheduler for retries), as a process we own:
# start | status | stop. Settings come from LORE_* (and .env) like every other entry point.
source "$(dirname "$0")/common.sh"
PIDFILE="$LORE_STATE/run/minutes-worker.pid"
LOG="$LORE_STATE/logs/minutes-worker.log"
QUEUE="${LORE_MINUTES_QUEUE:-minutes}"
REDIS_URL="${LORE_REDIS_URL:-redis://127.0.0.1:6379/0}"
PATTERN="rq worker"

start() {
  if pid_alive "$PIDFILE" "$PATTERN"; then say "minutes worker already running (pid $(cat "$PIDFILE"))"; return 0; fi
  local py; py=$(venv_python)
  cd "$LORE_ROOT"
  # --job-monitoring-interval 10: a killed worker's job is taken up again ~70 s later (rq adds 60 s);
  # --maintenance-interval 30: how often a live worker looks for such abandoned jobs
  nohup "$(dirname "$py")/rq" worker "$QUEUE" --url "$REDIS_URL" --with-scheduler --path "$LORE_ROOT" \
    --job-monitoring-interval 10 --maintenance-interval 30 >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  local i; for i in $(seq 1 30); do
    grep -q "Listening on" "$LOG" 2>/dev/null && pid_alive "$PIDFILE" "$PATTERN" && { say "minutes worker up (pid $(cat "$PIDFILE"), queue $QUEUE); log: $LOG"; return 0; }
    pid_alive "$PIDFILE" "$PATTERN" || break; sleep 0.5
  done
  pid_alive "$PIDFILE" "$PATTERN" && { say "minutes worker started (pid $(cat "$PIDFILE")); log: $LOG"; return 0; }
  tail -n 20 "$LOG" >&2; die "the minutes worker did not start; see $LOG"
}
status() { if pid_alive "$PIDFILE" "$PATTERN"; then say "minutes worker: up (pid $(cat "$PIDFILE"), queue $QUEUE)"; else say "minutes worker: down"; return 1; fi; }
stop() { stop_pid "minutes worker" "$PIDFILE" "$PATTERN"; }

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
