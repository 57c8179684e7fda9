# Shared helpers for Lore's local services. Sourced, never run.
# Everything a service writes lives under LORE_STATE (default /opt/lore): Elasticsearch refuses to run as
# root, so its files must sit outside root's home where its own user can reach them.
set -euo pipefail
LORE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LORE_STATE="${LORE_STATE:-/opt/lore}"
LORE_CACHE="${LORE_CACHE_DIR:-$HOME/.cache/lore}"
mkdir -p "$LORE_STATE/run" "$LORE_STATE/logs" "$LORE_CACHE"

say() { printf '[lore] %s\n' "$*" >&2; }
die() { printf '[lore] ERROR: %s\n' "$*" >&2; exit 1; }

# port_free PORT: true when nothing listens on 127.0.0.1:PORT
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE [PATTERN]: true when the file names a running process whose command line contains
# PATTERN (when given): after a restart the recorded pid may belong to an unrelated process
pid_alive() {
  local cmd
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null || return 1
  [ -n "${2:-}" ] || return 0
  cmd=$(tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *"$2"* ]]
}

# stop_pid NAME PIDFILE [PATTERN]: TERM, wait up to 30 s, then KILL; only ever the pid we recorded
stop_pid() {
  local name=$1 pidfile=$2 pid i
  if ! pid_alive "$pidfile" "${3:-}"; then say "$name is not running"; rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "$name did not stop in 30 s; killing $pid"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"; say "$name stopped (pid $pid)"
}

# wait_http NAME URL SECONDS LOG: poll until URL answers 200 (quietly: a refused try is expected while it starts)
wait_http() {
  local name=$1 url=$2 secs=$3 log=$4 i
  for i in $(seq 1 "$secs"); do
    if curl -fs -o /dev/null --max-time 2 "$url"; then say "$name is up at $url"; return 0; fi
    sleep 1
  done
  say "$name did not answer at $url within ${secs}s; last lines of $log:"; tail -n 30 "$log" >&2 || true
  return 1
}

need_disk() { # need_disk DIR MB
  local avail; avail=$(df -Pm "$1" | awk 'NR==2{print $4}')
  [ "$avail" -ge "$2" ] || die "only ${avail} MB free under $1; Lore's local services need ${2} MB. Free some disk or set LORE_STATE to a bigger disk."
}

venv_python() {
  if [ -x "$LORE_ROOT/.venv/bin/python" ]; then echo "$LORE_ROOT/.venv/bin/python"; else command -v python3; fi
}
