#!/usr/bin/env bash
# The test command (README, .ci/run): install what is missing, start the local services, run pytest
# against them. Arguments go to pytest; the exit code is pytest's. A service that does not come up
# fails the run here, loudly, rather than turning into skipped tests.
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/common.sh"

bash "$HERE/setup.sh" || die "setup failed (see above); nothing was tested"
# Two local models. The fast 0.5B serves every test that needs *a* model (bots, minutes, the API's plumbing); the
# default answer model (the 1.5B, infra/local/llm.sh) serves the few tests that check what an answer says
# (LORE_TEST_ANSWER_LLM_URL), so they test the model Lore ships with and the suite stays fast.
export LORE_LLM_LOCAL_GGUF="${LORE_LLM_LOCAL_GGUF:-qwen2.5-0.5b}"
bash "$HERE/services.sh" start || die "the local services did not all come up (see above); nothing was tested"
ANSWER_PORT="${LORE_TEST_ANSWER_LLM_PORT:-8081}"
LORE_LLM_PORT="$ANSWER_PORT" LORE_LLM_LOCAL_GGUF="${LORE_TEST_ANSWER_GGUF:-qwen2.5-1.5b}" bash "$HERE/llm.sh" start \
  || die "the answer model's LLM server did not come up on port $ANSWER_PORT (see above); nothing was tested"
export LORE_TEST_ANSWER_LLM_URL="http://127.0.0.1:$ANSWER_PORT"

# Point the tests at the services just started, whatever a developer's shell or .env says
# (tests build Settings from the environment only: tests/conftest.py).
export LORE_ES_URL="http://127.0.0.1:${LORE_ES_PORT:-9200}"
export LORE_REDIS_URL="redis://127.0.0.1:${LORE_REDIS_PORT:-6379}/0"
export LORE_LLM_URL="http://127.0.0.1:${LORE_LLM_PORT:-8080}"
export LORE_LLM_MODEL="${LORE_LLM_MODEL:-lore-local}"
export LORE_CACHE_DIR="$LORE_CACHE"
# No HF_HUB_OFFLINE here: Lore resolves every model to a local folder (backend/models.py) and never asks
# a hub, while huggingface_hub's offline mode would also block InferenceClient from reaching our own
# LLM server. HF_HUB_DISABLE_PROGRESS_BARS keeps model loading quiet in the test log.
export HF_HUB_DISABLE_PROGRESS_BARS=1

cd "$LORE_ROOT"
set +e
"$LORE_ROOT/.venv/bin/python" -m pytest "$@"
rc=$?
set -e
[ "$rc" = 0 ] || say "pytest exited with $rc"
exit "$rc"
