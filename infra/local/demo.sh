#!/usr/bin/env bash
# Lore's main job on embedded defaults, from a fresh machine:
#   install -> start Elasticsearch, Redis, the local LLM -> start the Confluence stand-in with the sample
#   wiki (../shared/data) -> choose its spaces -> sync -> search and ask as two different people.
# A second run reuses everything and the sync only re-reads what changed (nothing).
source "$(dirname "$0")/common.sh"
cd "$LORE_ROOT"
STANDIN_PORT="${LORE_STANDIN_PORT:-8090}"
SHARED="${LORE_SHARED_DATA:-$LORE_ROOT/../shared/data}"
[ -f "$SHARED/wiki/hyperledger-toc.jsonl" ] || die "the sample wiki is not at $SHARED/wiki; put the shared/ folder beside the repository or set LORE_SHARED_DATA"

bash infra/local/setup.sh
bash infra/local/services.sh start
PY="$LORE_ROOT/.venv/bin/python"
export HF_HUB_DISABLE_PROGRESS_BARS=1 LORE_CACHE_DIR="$LORE_CACHE"  # models resolve to local folders

# The Confluence stand-in plays the customer's Confluence Cloud (tests/standins): same REST routes,
# payloads, paging and permissions. A real install sets LORE_CONFLUENCE_* in .env instead.
PIDFILE="$LORE_STATE/run/confluence-standin.pid"
LOG="$LORE_STATE/logs/confluence-standin.log"
if ! pid_alive "$PIDFILE" confluence_cli; then
  port_free "$STANDIN_PORT" || die "port $STANDIN_PORT is taken; set LORE_STANDIN_PORT"
  say "starting the Confluence stand-in with the sample wiki on port $STANDIN_PORT"
  LORE_SHARED_DATA="$SHARED" nohup "$PY" -m tests.standins.confluence_cli --port "$STANDIN_PORT" --data "$SHARED" \
    >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
fi
for _ in $(seq 1 60); do grep -q '^LORE_CONFLUENCE_URL=' "$LOG" 2>/dev/null && break; sleep 1; done
grep -q '^LORE_CONFLUENCE_URL=' "$LOG" || { tail -n 20 "$LOG" >&2; die "the Confluence stand-in did not start; see $LOG"; }
while IFS= read -r line; do export "${line?}"; done < <(grep '^LORE_CONFLUENCE_' "$LOG")
grep '^Confluence stand-in' "$LOG" >&2

say "choosing the spaces to sync (stored in Elasticsearch; also editable via PUT /api/admin/spaces)"
for space in TOC MEET REP; do "$PY" -m connector spaces add "$space" >/dev/null; done
"$PY" -m connector spaces list

say "syncing (the first run embeds every page: ~10 minutes on 2 cores; later runs skip unchanged pages)"
"$PY" -m connector sync --all

Q="What is the Curator role that Besu introduced in 2022?"
say "search as a reader who sees only public spaces: $Q"
"$PY" -m backend search "$Q" --k 3
say "a cited answer for alice (alice@example.com, member of confluence-users):"
"$PY" -m backend ask "$Q" --user-email alice@example.com
say "done. Try: .venv/bin/python -m backend ask \"...\" --user-email bob@example.com"
say "services keep running; stop them with: bash infra/local/services.sh stop; kill \$(cat $PIDFILE)"
