#!/usr/bin/env bash
# The local OpenAI-compatible LLM server: llama-cpp-python serving a packaged GGUF: start | status | stop.
# Production points LORE_LLM_URL at TGI or vLLM instead; all three answer the same /v1/chat/completions.
source "$(dirname "$0")/common.sh"
LLM_PORT="${LORE_LLM_PORT:-8080}"
LLM_ALIAS="${LORE_LLM_MODEL:-lore-local}"       # the model name clients send (Settings.llm.model)
# a name from backend.models.GGUF_MODELS or a .gguf path. The 1.5B by default: hand-graded on our wiki questions it
# answered 12 of 20 correctly against the 0.5B's 5 (bench/answer-quality.md); the tests run most of their model
# calls on the 0.5B (infra/local/test.sh)
LLM_GGUF="${LORE_LLM_LOCAL_GGUF:-qwen2.5-1.5b}"
# 4096 tokens hold the answer prompt (10 chunks of ~200 words, ~3k tokens) plus the question and
# Settings.llm.max_tokens (384) of output
LLM_N_CTX="${LORE_LLM_N_CTX:-4096}"
LLM_THREADS="${LORE_LLM_THREADS:-2}"  # one per core on the 2-core machines; more only slows decoding
START_TIMEOUT="${LORE_LLM_START_TIMEOUT:-120}"  # seconds; the 1.5B model loads in ~5 s, assembly aside
PIDFILE="$LORE_STATE/run/llm-$LLM_PORT.pid"  # per port: two servers (e.g. two models) never share one
LOG="$LORE_STATE/logs/llm-$LLM_PORT.log"
URL="http://127.0.0.1:$LLM_PORT"
CMD_MARK=llama_cpp.server  # tells our server's pid from a recycled one

healthy() { curl -fsS --max-time 2 "$URL/v1/models" >/dev/null 2>&1; }
served_models() { curl -fsS --max-time 2 "$URL/v1/models" 2>/dev/null | grep -o '"id": *"[^"]*"' | cut -d'"' -f4 | paste -sd, -; }

wait_up() { # wait_up PID: until /v1/models answers; fail early if the process dies
  local pid=$1 _
  for _ in $(seq 1 "$START_TIMEOUT"); do
    if healthy; then say "LLM server is up at $URL (model $(served_models), pid $pid)"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$LOG" >&2; rm -f "$PIDFILE"
      die "the LLM server exited while starting; see $LOG"
    fi
    sleep 1
  done
  tail -n 30 "$LOG" >&2
  stop_pid "LLM server" "$PIDFILE" "$CMD_MARK"
  die "the LLM server did not answer $URL/v1/models within ${START_TIMEOUT}s; see $LOG (a slow machine: raise LORE_LLM_START_TIMEOUT)"
}

resolve_model() { # prints the GGUF path; assembles split packages into the cache on first use
  local py=$1 out err="$LORE_STATE/logs/llm-resolve.log"
  if ! out=$(cd "$LORE_ROOT" && "$py" -m backend.models gguf "$LLM_GGUF" 2>"$err"); then
    tail -n 1 "$err" >&2  # the ConfigError's message: which packages are missing
    die "no GGUF for LORE_LLM_LOCAL_GGUF=$LLM_GGUF (the line above says why; missing model packages install with: bash infra/local/setup.sh)"
  fi
  [ -s "$out" ] || die "backend.models gave '$out' for $LLM_GGUF, which is not a GGUF file; see $err"
  echo "$out"
}

start() {
  if pid_alive "$PIDFILE" "$CMD_MARK"; then
    if healthy; then say "LLM server already running at $URL (model $(served_models), pid $(cat "$PIDFILE"))"; return 0; fi
    if ! port_free "$LLM_PORT"; then
      # listening but not answering within 2 s: it is busy reading another caller's long prompt (one request at a
      # time on a CPU). Waiting here and then killing it, as for a server that never came up, cut off whoever was
      # being answered.
      say "LLM server already running at $URL (pid $(cat "$PIDFILE")), busy answering; not restarting it"
      return 0
    fi
    say "the LLM server (pid $(cat "$PIDFILE")) is still starting; waiting for it"
    wait_up "$(cat "$PIDFILE")"; return 0
  fi
  if ! port_free "$LLM_PORT"; then
    if healthy; then
      say "an LLM server not started by Lore answers at $URL (models: $(served_models)); using it"
      return 0
    fi
    die "port $LLM_PORT is taken by another program; stop it or set LORE_LLM_PORT (and LORE_LLM_URL to match)"
  fi
  local py gguf pid; py=$(venv_python)
  "$py" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("llama_cpp") is None)' 2>/dev/null \
    || die "llama-cpp-python is not installed for $py; run: bash infra/local/setup.sh"
  gguf=$(resolve_model "$py")
  say "starting the LLM server: $(basename "$gguf") as '$LLM_ALIAS' on $URL (n_ctx $LLM_N_CTX, $LLM_THREADS threads)"
  # setsid: its own session, so closing the terminal or ending the caller's process group leaves it up.
  # In a script (no job control) the background child is not a group leader, so setsid execs in place
  # and $! is the server's own pid. mlock off: the page cache is enough, and mlock warns without root.
  # interrupt_requests off: by default a new request cuts off the answer being streamed to someone else;
  # queued requests wait their turn instead (the client's deadline still bounds the wait).
  nohup setsid "$py" -m llama_cpp.server --model "$gguf" --model_alias "$LLM_ALIAS" \
    --host 127.0.0.1 --port "$LLM_PORT" --n_ctx "$LLM_N_CTX" \
    --n_threads "$LLM_THREADS" --n_threads_batch "$LLM_THREADS" --use_mlock False \
    --interrupt_requests False \
    >"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  wait_up "$pid"
}

status() {
  if healthy; then say "LLM server: up at $URL (model $(served_models))"; else say "LLM server: down ($URL)"; return 1; fi
}
stop() { stop_pid "LLM server" "$PIDFILE" "$CMD_MARK"; }

case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
