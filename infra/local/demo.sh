#!/usr/bin/env bash
# Lore's main job on embedded defaults, from a fresh machine:
#   install -> start Elasticsearch, Redis, the local LLM -> start the Confluence stand-in with the sample
#   wiki (../shared/data) -> choose its spaces -> sync -> search and ask as two different people
#   -> start the Slack stand-in and the bot -> a signed /ask, with the answer the stand-in received.
# A second run reuses everything (the bot is replaced) and the sync only re-reads what changed (nothing).
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

# Slack: the Slack Web API stand-in (tests/standins) plays slack.com; the bot serves /slack/events over HTTP
# and gets one /ask signed as Slack signs it. A real install sets LORE_SLACK_* in .env instead.
SLACK_PORT="${LORE_SLACK_STANDIN_PORT:-8091}"
BOT_PORT="${LORE_SLACK_DEMO_PORT:-3000}"
SLACK_PIDFILE="$LORE_STATE/run/slack-standin.pid"
SLACK_LOG="$LORE_STATE/logs/slack-standin.log"
BOT_PIDFILE="$LORE_STATE/run/slack-bot.pid"
BOT_LOG="$LORE_STATE/logs/slack-bot.log"
DEMO_SECRET="lore-demo-signing-secret"  # the stand-in plays Slack, so it knows the secret too
if ! pid_alive "$SLACK_PIDFILE" slack_cli; then
  port_free "$SLACK_PORT" || die "port $SLACK_PORT is taken; set LORE_SLACK_STANDIN_PORT"
  say "starting the Slack stand-in on port $SLACK_PORT"
  nohup "$PY" -m tests.standins.slack_cli --port "$SLACK_PORT" >"$SLACK_LOG" 2>&1 &
  echo $! >"$SLACK_PIDFILE"
fi
for _ in $(seq 1 30); do grep -q '^LORE_SLACK_BOT_TOKEN=' "$SLACK_LOG" 2>/dev/null && break; sleep 1; done
grep -q '^LORE_SLACK_BOT_TOKEN=' "$SLACK_LOG" || { tail -n 20 "$SLACK_LOG" >&2; die "the Slack stand-in did not start; see $SLACK_LOG"; }
while IFS= read -r line; do export "${line?}"; done < <(grep '^LORE_SLACK_' "$SLACK_LOG")
grep '^Slack stand-in' "$SLACK_LOG" >&2
SLACK_URL="${LORE_SLACK_API_URL%/api/}"

# the bot is replaced on every run, so it always runs this checkout's code with these settings
if pid_alive "$BOT_PIDFILE" "-m bot"; then stop_pid "the Slack bot" "$BOT_PIDFILE" "-m bot"; fi
port_free "$BOT_PORT" || die "port $BOT_PORT is taken; set LORE_SLACK_DEMO_PORT"
say "starting the Slack bot (python -m bot --http) on port $BOT_PORT"
LORE_SLACK_SIGNING_SECRET="$DEMO_SECRET" LORE_SLACK_APP_TOKEN="" LORE_SLACK_HOST=127.0.0.1 \
  LORE_SLACK_PORT="$BOT_PORT" nohup "$PY" -m bot --http >"$BOT_LOG" 2>&1 &
echo $! >"$BOT_PIDFILE"
wait_http "the Slack bot" "http://127.0.0.1:$BOT_PORT/healthz" 120 "$BOT_LOG" || die "the Slack bot did not start; see $BOT_LOG"

say "alice asks the same question on Slack (a signed /ask to the bot; its answer goes to the stand-in):"
"$PY" -m tests.standins.slack_ask --bot "http://127.0.0.1:$BOT_PORT/slack/events" --slack "$SLACK_URL" \
  --secret "$DEMO_SECRET" --user alice --timeout "${LORE_SLACK_DEMO_TIMEOUT:-180}" "$Q" \
  || die "the Slack answer did not arrive; see $BOT_LOG"

# --- Minutes (issue #10): the sync above handed the sample recording to the `minutes` queue; a worker turns it
# into a minutes page under the recording's page on the stand-in (transcript indexed, exactly once per version).
say "starting the minutes worker (rq worker minutes) and waiting for the sample recording's minutes page"
bash infra/local/worker.sh start
"$PY" - "${LORE_MINUTES_DEMO_TIMEOUT:-900}" <<'PYEOF' || die "no minutes page; see $LORE_STATE/logs/minutes-worker.log"
import sys, time
from backend.confluence.client import ConfluenceClient
from backend.errors import SourceNotFound
from backend.minutes.status import list_jobs
from backend.settings import Settings
from connector.recordings import MinutesHandoff
settings, deadline = Settings.from_env(), time.monotonic() + float(sys.argv[1])
# The stand-in keeps its pages in memory, Redis keeps finished jobs for a week: after `services.sh stop` a new
# stand-in no longer has the minutes page an earlier run's job made. Such a job is dropped and the recording
# offered again, so the link printed below is one that opens (a real Confluence keeps its pages).
confluence = ConfluenceClient(settings.confluence)
for j in list_jobs(settings):
    if j["state"] != "finished" or not j["minutes_page_id"]:
        continue
    try:
        confluence.get_content(str(j["minutes_page_id"]), expand="version")
    except SourceNotFound:
        from rq.job import Job
        import redis
        Job.fetch(j["id"], connection=redis.Redis.from_url(settings.redis_url)).delete()
        offer = MinutesHandoff(settings, space=j["space"]).reoffer(
            str(j["page_id"]), str(j["attachment_id"]), j["version"], j["title"], j["space"])
        print(f"  {j['title']}: its minutes page was on an earlier stand-in; {offer.status}", file=sys.stderr)
while time.monotonic() < deadline:
    jobs = list_jobs(settings)
    done = [j for j in jobs if j["state"] in ("finished", "failed")]
    if jobs and len(done) == len(jobs):
        for j in jobs:
            print(f"{j['title']}: {j['state']}", j["minutes_url"] or j["reason"])
        sys.exit(0 if any(j["minutes_url"] for j in jobs) else 1)
    print("  " + ", ".join(f"{j['id']}: {j['stage'] or j['state']} {float(j['progress']) * 100:.0f}%" for j in jobs),
          file=sys.stderr)
    time.sleep(10)
sys.exit("the minutes job did not finish in time")
PYEOF

# ---- Admin and ask pages (backend/web) --------------------------------------------------------------------
# The backend's pages on localhost: the admin pages (spaces, sync status and buttons, feedback, health, jobs)
# and the ask page, where the demo lets you pick one of the stand-in's users. A sync worker runs the sync
# buttons' jobs. Both are replaced on every run, so they serve this checkout's code.
WEB_PORT="${LORE_WEB_DEMO_PORT:-5000}"
WEB_PIDFILE="$LORE_STATE/run/web.pid"
WEB_LOG="$LORE_STATE/logs/web.log"
TOKEN_FILE="$LORE_STATE/run/web-admin-token"
if [ -z "${LORE_API_ADMIN_TOKEN:-}" ]; then  # a demo token, kept across runs so a signed-in browser stays in
  [ -s "$TOKEN_FILE" ] || (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$TOKEN_FILE")
  LORE_API_ADMIN_TOKEN=$(cat "$TOKEN_FILE")
fi
export LORE_API_ADMIN_TOKEN
export LORE_WEB_DEMO_USERS="${LORE_WEB_DEMO_USERS:-alice@example.com,bob@example.com,carol@example.com}"
bash infra/local/sync-worker.sh stop >/dev/null 2>&1 || true
bash infra/local/sync-worker.sh start
if pid_alive "$WEB_PIDFILE" "backend.api:create_app"; then stop_pid "the Lore web server" "$WEB_PIDFILE" "backend.api:create_app"; fi
port_free "$WEB_PORT" || die "port $WEB_PORT is taken; set LORE_WEB_DEMO_PORT"
say "serving the admin and ask pages on port $WEB_PORT"
nohup "$PY" -m flask --app "backend.api:create_app()" run --host 127.0.0.1 --port "$WEB_PORT" >"$WEB_LOG" 2>&1 &
echo $! >"$WEB_PIDFILE"
wait_http "the Lore web server" "http://127.0.0.1:$WEB_PORT/admin/sign-in" 120 "$WEB_LOG" || die "the Lore web server did not start; see $WEB_LOG"
cat >&2 <<MSG

================================ Lore in your browser ================================
  Admin pages: http://127.0.0.1:$WEB_PORT/admin   (sign in with the admin token: $LORE_API_ADMIN_TOKEN)
               the sample spaces TOC, MEET and REP are synced; "Sync changes" re-syncs one
  Ask page:    http://127.0.0.1:$WEB_PORT/ask     (pick alice, bob or carol: each sees their own pages)
======================================================================================

MSG

say "done. Try: .venv/bin/python -m backend ask \"...\" --user-email bob@example.com"
say "services keep running; stop them and the stand-ins and bot with: bash infra/local/services.sh stop"
say "(or only the demo's processes: kill \$(cat $PIDFILE $SLACK_PIDFILE $BOT_PIDFILE))"
