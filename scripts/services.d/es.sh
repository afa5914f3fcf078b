# shellcheck shell=bash
# scripts/services.d/es.sh: `es`, Elasticsearch 8.19.8 (Maven Central's
# integ-test-zip, fetched with Maven unless $BENCHYARD_M2_REPO or ~/.m2 has
# it, unpacked once into $CACHE), a single node on
# 127.0.0.1:${BENCHYARD_ES_PORT:-9200}, security off, run as the system user
# benchyard-es with the JDK of ES_JAVA_HOME (default: the one `java` on PATH
# belongs to; the integ-test-zip bundles no JDK). Config, data and logs in
# $STATE/es/.

ES_VERSION=8.19.8
ES_ARTIFACT=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip
ES_ZIP=$CACHE/elasticsearch-$ES_VERSION.zip
ES_HOME=$CACHE/elasticsearch-$ES_VERSION
ES_PORT=${BENCHYARD_ES_PORT:-9200}
ES_USER=benchyard-es
ES_STATE=$STATE/es
ES_HEAP=512m
ES_URL=http://127.0.0.1:$ES_PORT

ES_PID_FILE=$STATE/es.pid

es_is_ours() { cmdline_has "$1" "-Des.path.home=$ES_HOME"; }
es_pid() { our_pid "$ES_PID_FILE" es_is_ours; }

# 0 when an Elasticsearch answers on the port (checked by the
# X-Elastic-Product header, as the official clients do). Not `GET /`: that
# handler lives in the rest-root module, which the integ-test-zip lacks (405).
es_answers() {
  curl -sS -m 5 -o /dev/null -D - "$ES_URL/_cluster/health" 2>/dev/null |
    tr -d '\r' | grep -qi '^x-elastic-product: Elasticsearch$'
}

es_java_home() {
  if [[ -n ${ES_JAVA_HOME:-} ]]; then
    echo "$ES_JAVA_HOME"
    return
  fi
  local java
  java=$(command -v java) || die "es: no java on PATH (ES $ES_VERSION needs Java 17+; set ES_JAVA_HOME)"
  java=$(readlink -f "$java")
  dirname "$(dirname "$java")"
}

fetch_es_zip() {
  local t0=$EPOCHREALTIME m2_repo m2_zip
  if [[ -s $ES_ZIP ]]; then
    return
  fi
  mkdir -p "$CACHE"
  m2_repo=${BENCHYARD_M2_REPO:-$HOME/.m2/repository}
  m2_zip=$m2_repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip
  if [[ -s $m2_zip ]]; then
    # Offline first: the local Maven repository already has it.
    cp "$m2_zip" "$ES_ZIP.tmp"
    mv "$ES_ZIP.tmp" "$ES_ZIP"
    log "es: copied $ES_ARTIFACT from $m2_repo [$(since "$t0")]"
    return
  fi
  log "es: fetching $ES_ARTIFACT with mvn dependency:copy (Maven Central) ..."
  command -v mvn >/dev/null 2>&1 || die "es: mvn missing and $m2_zip not present"
  mvn -q -B dependency:copy -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$CACHE" \
    -Dmdep.overWriteReleases=true >"$STATE/mvn-es.log" 2>&1 ||
    die "es: mvn dependency:copy $ES_ARTIFACT failed$(tail_of "$STATE/mvn-es.log")"
  [[ -s $ES_ZIP ]] || die "es: mvn did not produce $ES_ZIP"
  log "es: downloaded $ES_ZIP [$(since "$t0")]"
}

unpack_es() {
  local t0=$EPOCHREALTIME tmp
  [[ -x $ES_HOME/bin/elasticsearch ]] && return
  fetch_es_zip
  tmp=$(mktemp -d "$CACHE/.es.XXXXXX")
  unzip -q "$ES_ZIP" -d "$tmp" || {
    rm -rf "$tmp"
    die "es: unzip $ES_ZIP failed (corrupt download? delete it and retry)"
  }
  [[ -x $tmp/elasticsearch-$ES_VERSION/bin/elasticsearch ]] || {
    rm -rf "$tmp"
    die "es: $ES_ZIP has no elasticsearch-$ES_VERSION/bin/elasticsearch"
  }
  chmod -R a+rX "$tmp/elasticsearch-$ES_VERSION"
  rm -rf "$ES_HOME"
  mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
  rmdir "$tmp"
  # ES runs as $ES_USER and must be able to traverse the cache dir.
  chmod a+rx "$CACHE"
  log "es: unpacked into $ES_HOME [$(since "$t0")]"
}

ensure_es_user() {
  id -u "$ES_USER" >/dev/null 2>&1 && return
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "benchyard dev Elasticsearch" "$ES_USER" ||
    die "es: useradd $ES_USER failed"
  log "es: created system user $ES_USER"
}

write_es_config() {
  local conf=$ES_STATE/config
  mkdir -p "$conf" "$ES_STATE/data" "$ES_STATE/logs"
  # Per-state copy of the distribution's config; never edit the cache.
  # -n keeps files ES wrote itself (elasticsearch.keystore) and earlier copies.
  cp -Rn "$ES_HOME/config/." "$conf/"
  cat >"$conf/elasticsearch.yml" <<EOF
# Written by scripts/services; rewritten on every start.
cluster.name: benchyard-dev
node.name: benchyard-dev-1
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: 9300-9399
path.data: $ES_STATE/data
path.logs: $ES_STATE/logs
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  chmod a+rx "$STATE"
  chown -R "$ES_USER:$ES_USER" "$ES_STATE"
  chmod 750 "$ES_STATE"
}

es_health_wait() {
  local pid=$1 deadline=$2 hdr
  hdr=$(mktemp)
  while :; do
    if curl -sS -m 10 -o /dev/null -D "$hdr" \
      "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null &&
      head -n 1 "$hdr" | grep -q ' 200' &&
      tr -d '\r' <"$hdr" | grep -qi '^x-elastic-product: Elasticsearch$'; then
      rm -f "$hdr"
      return 0
    fi
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      rm -f "$hdr"
      return 2
    fi
    if ((SECONDS >= deadline)); then
      rm -f "$hdr"
      return 1
    fi
    sleep 1
  done
}

up_es() {
  local t0=$EPOCHREALTIME pid java_home startup_log=$ES_STATE/logs/startup.log
  local server_log=$ES_STATE/logs/benchyard-dev.log deadline=$((SECONDS + 120)) rc=0
  if es_answers; then
    log "es: ready on $ES_URL (skipped: already answering) [$(since "$t0")]"
    return
  fi
  if pid=$(es_pid); then
    log "es: pid $pid (ours) is running but not answering yet; waiting"
  else
    rm -f "$ES_PID_FILE"
    port_in_use "$ES_PORT" &&
      die "es: 127.0.0.1:$ES_PORT is in use by something that is not Elasticsearch (set BENCHYARD_ES_PORT)"
    unpack_es
    ensure_es_user
    write_es_config
    java_home=$(es_java_home)
    log "es: starting Elasticsearch $ES_VERSION as $ES_USER on $ES_URL (logs $ES_STATE/logs)"
    rm -f "$ES_STATE/es.pid"
    # -d: daemonize; the launcher returns once the node has started (or failed).
    # env -i: keep root's environment (JAVA_TOOL_OPTIONS, ...) out of the JVM.
    if ! (cd "$ES_STATE" && runuser -u "$ES_USER" -- env -i \
      PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME="$ES_STATE" \
      ES_JAVA_HOME="$java_home" ES_PATH_CONF="$ES_STATE/config" \
      ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
      timeout 150 "$ES_HOME/bin/elasticsearch" -d -p "$ES_STATE/es.pid" \
      </dev/null >"$startup_log" 2>&1 9>&-); then
      die "es: bin/elasticsearch -d failed$(tail_of "$startup_log")$(tail_of "$server_log")"
    fi
    pid=$(tr -dc '0-9' <"$ES_STATE/es.pid" 2>/dev/null || true)
    [[ -n $pid ]] || die "es: started but wrote no pid file $ES_STATE/es.pid$(tail_of "$startup_log")"
    # ES (running as $ES_USER) writes its own pid file in its state dir; keep
    # a root-owned copy where the rest of this script looks for it.
    echo "$pid" >"$ES_PID_FILE"
  fi
  es_health_wait "$pid" "$deadline" || rc=$?
  case $rc in
    0) ;;
    2)
      rm -f "$ES_PID_FILE"
      die "es: Elasticsearch (pid $pid) exited during startup$(tail_of "$startup_log")$(tail_of "$server_log")"
      ;;
    *) die "es: not healthy (yellow, X-Elastic-Product header) within 120 s (pid $pid)$(tail_of "$server_log")" ;;
  esac
  log "es: ready on $ES_URL (pid $pid) [$(since "$t0")]"
}

down_es() {
  down_one es "$ES_PID_FILE" 60 es_is_ours
  rm -f "$ES_STATE/es.pid" 2>/dev/null || true
}

# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_es() {
  local pid who health
  if es_answers; then
    health=$(curl -sS -m 5 "$ES_URL/_cluster/health" 2>/dev/null |
      sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    if pid=$(es_pid); then who="pid $pid, started by scripts/services"; else who="not started by scripts/services"; fi
    printf '%-24s running (%s, health %s, %s)\n' es "$ES_URL" "${health:-?}" "$who"
  else
    STATUS_OK=0
    printf '%-24s missing (nothing answers on %s)\n' es "$ES_URL"
  fi
}
