#!/usr/bin/env bash
# All of Lore's local services at once (Elasticsearch, Redis, the LLM server): start | status | stop.
# stop also ends what demo.sh started (the Confluence and Slack stand-ins, the Slack bot, the web pages and
# their sync worker).
# Each one's own script does the work; this one reports which did not come up and exits non-zero then.
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/common.sh"
SERVICES=(elasticsearch redis llm)

# run_all ACTION NAME...: run each service's script, carry on past a failure, fail at the end naming them
run_all() {
  local action=$1 name failed=(); shift
  for name in "$@"; do
    bash "$HERE/$name.sh" "$action" || failed+=("$name")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    case "$action" in
      start) die "not running: ${failed[*]} (see the messages above; each has 'bash infra/local/<name>.sh start|status|stop')" ;;
      status) say "down: ${failed[*]}"; return 1 ;;
      *) die "could not $action: ${failed[*]}" ;;
    esac
  fi
}

case "${1:-}" in
  start) run_all start "${SERVICES[@]}"; say "all services are up" ;;
  status) run_all status "${SERVICES[@]}" ;;
  stop)
    # demo.sh's processes first (they use the services): each only if its pid file names it
    for demo in "the Lore web server:web:backend.api:create_app" "the sync worker:sync-worker:rq.cli worker" \
                "the minutes worker:minutes-worker:rq worker" \
                "the Slack bot:slack-bot:-m bot" "the Slack stand-in:slack-standin:slack_cli" \
                "the Confluence stand-in:confluence-standin:confluence_cli"; do
      IFS=: read -r name file pattern <<<"$demo"
      if pid_alive "$LORE_STATE/run/$file.pid" "$pattern"; then stop_pid "$name" "$LORE_STATE/run/$file.pid" "$pattern"; fi
    done
    # every LLM server Lore started, on any port (the tests start the answer model's on 8081)
    for pidfile in "$LORE_STATE"/run/llm-*.pid; do
      [ -e "$pidfile" ] || continue
      port="${pidfile##*/llm-}"; port="${port%.pid}"
      [ "$port" = "${LORE_LLM_PORT:-8080}" ] || LORE_LLM_PORT="$port" bash "$(dirname "$0")/llm.sh" stop
    done
    run_all stop llm redis elasticsearch ;;  # the reverse of start
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
