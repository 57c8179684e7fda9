#!/usr/bin/env bash
# Redis from Debian's redis-server package, as a plain process we own: start | status | stop.
source "$(dirname "$0")/common.sh"
REDIS_PORT="${LORE_REDIS_PORT:-6379}"
PIDFILE="$LORE_STATE/run/redis.pid"
LOG="$LORE_STATE/logs/redis.log"

ensure_binary() {
  command -v redis-server >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing redis-server from Debian's packages"
    (apt-get install -y -q redis-server >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }) \
      || die "could not install redis-server; run: apt-get update && apt-get install -y redis-server"
    # the package starts a system service on 6379; Lore runs its own by pid
    (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
  else
    die "redis-server is not installed: apt-get install redis-server (or point LORE_REDIS_URL at a Redis)"
  fi
}

healthy() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  if pid_alive "$PIDFILE" redis-server && healthy; then say "Redis already running on port $REDIS_PORT (pid $(cat "$PIDFILE"))"; return 0; fi
  ensure_binary
  if ! port_free "$REDIS_PORT"; then
    healthy && { say "a Redis not started by Lore answers on port $REDIS_PORT; using it"; return 0; }
    die "port $REDIS_PORT is taken by another program; stop it or set LORE_REDIS_PORT"
  fi
  mkdir -p "$LORE_STATE/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --pidfile "$PIDFILE" \
    --logfile "$LOG" --dir "$LORE_STATE/redis" --appendonly yes >/dev/null \
    || die "redis-server failed to start; see $LOG"
  local i; for i in $(seq 1 30); do healthy && { say "Redis is up on port $REDIS_PORT"; return 0; }; sleep 0.5; done
  tail -n 20 "$LOG" >&2; die "Redis did not answer PING on port $REDIS_PORT"
}
status() { if healthy; then say "Redis: up on port $REDIS_PORT"; else say "Redis: down (port $REDIS_PORT)"; return 1; fi; }
stop() { stop_pid Redis "$PIDFILE" redis-server; }

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
