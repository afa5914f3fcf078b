# shellcheck shell=bash
# scripts/services.d/registry.sh: `registry`, Debian's docker-registry
# (distribution 2.8): a Docker registry (HTTP API v2, plain HTTP, no auth)
# with one storage, $STATE/registry/data, served by one process per address
# (its http.addr takes only one):
#   - 127.0.0.1:${BENCHYARD_REGISTRY_PORT:-5000}, read-write: this machine's
#     engine and the tests push here (dockerd trusts 127.0.0.0/8 as an
#     insecure registry by default);
#   - 10.250.N.1:<same port> for each test host hN that exists (hosts.sh),
#     read-only: the host side of hN's veth, what hN's dockerd pulls from (hN
#     cannot reach this machine's 127.0.0.1; its daemon.json trusts
#     10.250.N.1/32). Cutting hN's link cuts it off the registry too, as on a
#     real network.
# Never on 0.0.0.0. Config files, logs and pid files in $STATE/registry/;
# runs as the package's docker-registry user.
#
# Findings for `registry` (docker-registry 2.8.2, dockerd 20.10, checked with
# curl, the docker CLI and dockerode):
#   * The package's postinst starts its own registry through the init script
#     on :5000, all addresses, with htpasswd auth: the install runs under a
#     policy-rc.d that says 101 (as openssh-server's does). Its
#     uploadpurging block needs age, interval and dryrun, or it panics.
#   * http.addr takes one address, hence one process per address over one
#     storage directory. Only `main` writes (the hN ones are read-only, so
#     the in-memory blob descriptor caches and upload state never disagree).
#   * From this machine's own namespace 10.250.N.1 cannot be reached: the
#     hosts guard drops what is sent to 10.250.0.0/16 other than through a
#     byhN link (a SYN to a local 10.250.N.1 leaves through lo). Checks of
#     the hN listeners therefore run inside hN, as its dockerd sees them.
#   * A listening socket survives its address going away: after `down
#     hosts` / `up hosts` recreate byhN, the hN listener answers again; `up
#     hosts` restarts any that does not.
#   * dockerd reloads insecure-registries from its config file on SIGHUP
#     (containers keep running): `up hosts` reloads an engine started from
#     an older daemon.json instead of restarting it.
#   * The engine shrugs off a 503 on GET /v2/ and on blob HEADs during a
#     push, but fails the push on a 503 to the manifest PUT ("received
#     unexpected HTTP status: 503 Service Unavailable" in the progress
#     stream): benchyard retries such a push.
#   * POST /auth (what `docker login` calls) without credentials answers
#     "Login Succeeded" from a registry without auth, so an engine can be
#     asked whether it reaches a registry before a pull.
#   * benchyard/bench-tools:1 (281 MB, 2 layers, 118 MB gzipped): the first
#     push ~40 s (the engine gzips on one core), a pull by digest into h1
#     6-12 s; docker save | docker load over SSH 15-22 s.

REGISTRY_PORT=${BENCHYARD_REGISTRY_PORT:-5000}
REGISTRY_STATE=$STATE/registry
REGISTRY_DATA=$REGISTRY_STATE/data
REGISTRY_BIN=/usr/bin/docker-registry
REGISTRY_USER=docker-registry
REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT

# Registry instances: `main` on 127.0.0.1 (read-write), `hN` on 10.250.N.1
# (read-only), all serving $REGISTRY_DATA.
registry_addr() { if [[ $1 == main ]]; then echo 127.0.0.1; else host_gw "${1#h}"; fi; }
registry_conf() { echo "$REGISTRY_STATE/config-$1.yml"; }
registry_log() { echo "$REGISTRY_STATE/$1.log"; }
registry_pid_file() { echo "$REGISTRY_STATE/$1.pid"; }

# registry_pid INST: the live pid of our instance (by pid file, checked by
# comm and config path), else fails.
registry_pid() {
  local file pid
  file=$(registry_pid_file "$1")
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  pid_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == docker-registry ]] &&
    cmdline_has "$pid" "$(registry_conf "$1")" || return 1
  echo "$pid"
}

# registry_answers INST: 0 when a registry answers GET /v2/ on the
# instance's address, asked from where its clients are (hN's namespace for
# hN), and says so in Docker-Distribution-Api-Version.
registry_answers() {
  local inst=$1 url
  url=http://$(registry_addr "$inst"):$REGISTRY_PORT/v2/
  if [[ $inst == main ]]; then
    curl -sS -m 5 -o /dev/null -D - "$url" 2>/dev/null
  else
    in_host "${inst#h}" curl -sS -m 5 -o /dev/null -D - "$url" 2>/dev/null
  fi | tr -d '\r' | grep -qi '^docker-distribution-api-version: registry/2'
}

# registry_port_taken INST: 0 when something accepts on the instance's
# address. hN's is tried from hN: from here the hosts guard (OUTPUT -d
# 10.250.0.0/16 ! -o byh+ DROP) would swallow the SYN to a local 10.250.N.1.
registry_port_taken() {
  local inst=$1
  if [[ $inst == main ]]; then
    port_in_use "$REGISTRY_PORT"
  else
    in_host "${inst#h}" timeout 3 bash -c "exec 3<>/dev/tcp/$(registry_addr "$inst")/$REGISTRY_PORT" 2>/dev/null
  fi
}

ensure_registry_installed() {
  local t0=$EPOCHREALTIME
  [[ -x $REGISTRY_BIN ]] && return
  log "registry: installing docker-registry (apt) ..."
  # The package's postinst would start its own registry on :5000 (all
  # addresses, htpasswd auth): a policy-rc.d that says 101 keeps it from
  # starting; the init script stays unused.
  apt_install_no_start "$STATE/apt-docker-registry.log" --no-install-recommends docker-registry ||
    die "registry: apt-get install docker-registry failed$(tail_of "$STATE/apt-docker-registry.log")"
  [[ -x $REGISTRY_BIN ]] || die "registry: docker-registry installed but $REGISTRY_BIN is missing"
  id -u "$REGISTRY_USER" >/dev/null 2>&1 || die "registry: the package did not create the user $REGISTRY_USER"
  log "registry: docker-registry installed [$(since "$t0")]"
}

# registry_config INST: the instance's config (ours, never the package's
# /etc/docker/registry/config.yml, which turns on htpasswd auth).
registry_config() {
  local inst=$1
  cat <<CONF
# Written by scripts/services (rewritten on every 'up registry'): instance $inst.
version: 0.1
log:
  level: info
  fields:
    service: registry
    instance: $inst
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: false
  maintenance:
CONF
  if [[ $inst == main ]]; then
    printf '    uploadpurging:\n      enabled: true\n      age: 168h\n      interval: 24h\n      dryrun: false\n'
  else
    # Machines only pull; one writer keeps the shared storage simple.
    printf '    uploadpurging:\n      enabled: false\n    readonly:\n      enabled: true\n'
  fi
  cat <<CONF
http:
  addr: $(registry_addr "$inst"):$REGISTRY_PORT
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
CONF
}

# registry_instance_up INST: (re)start one instance unless it answers with
# the current config.
registry_instance_up() {
  local inst=$1 t0=$EPOCHREALTIME conf log_file pid_file pid changed=0 deadline where
  conf=$(registry_conf "$inst")
  log_file=$(registry_log "$inst")
  pid_file=$(registry_pid_file "$inst")
  where=$(registry_addr "$inst"):$REGISTRY_PORT
  registry_config "$inst" | write_if_changed "$conf" 644 && changed=1
  if pid=$(registry_pid "$inst"); then
    if ((changed)); then
      log "registry: $inst: $conf changed; restarting pid $pid (no reload in docker-registry)"
      stop_pid "registry: $inst" "$pid" 15
      pid=
    elif registry_answers "$inst"; then
      log "registry: $inst: ready on http://$where (skipped: pid $pid answers) [$(since "$t0")]"
      return
    else
      # E.g. hN's veth was recreated under a listener bound to its address.
      log "registry: $inst: pid $pid does not answer on http://$where; restarting it"
      stop_pid "registry: $inst" "$pid" 15
      pid=
    fi
  fi
  rm -f "$pid_file"
  registry_port_taken "$inst" &&
    die "registry: $inst: $where is in use by something scripts/services did not start (set BENCHYARD_REGISTRY_PORT)"
  log "registry: $inst: starting docker-registry on http://$where (log $log_file)"
  printf '\n=== %s scripts/services starts docker-registry (%s) ===\n' "$(date -Is)" "$inst" >>"$log_file"
  # setpriv execs the registry as its package's user, so $! is its pid.
  (cd / && exec setsid nohup setpriv --reuid="$REGISTRY_USER" --regid="$REGISTRY_USER" --clear-groups \
    "$REGISTRY_BIN" serve "$conf" </dev/null >>"$log_file" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$pid_file"
  deadline=$((SECONDS + 30))
  until registry_answers "$inst"; do
    if ! pid_alive "$pid"; then
      rm -f "$pid_file"
      die "registry: $inst: docker-registry (pid $pid) exited during startup$(tail_of "$log_file")"
    fi
    ((SECONDS < deadline)) || die "registry: $inst: docker-registry (pid $pid) did not answer GET /v2/ on http://$where within 30 s$(tail_of "$log_file")"
    sleep 0.2
  done
  log "registry: $inst: ready on http://$where (pid $pid) [$(since "$t0")]"
}

# One read-only listener per test host whose veth exists (`up hosts` calls
# this again once it has made them).
registry_hosts_up() {
  local n
  for n in "${HOST_NUMBERS[@]}"; do
    if ip -4 addr show dev "$(host_veth "$n")" 2>/dev/null | grep -qF "inet $(host_gw "$n")/"; then
      registry_instance_up "h$n"
    else
      log "registry: h$n: no test host h$n (veth $(host_veth "$n") missing; 'up hosts' adds its listener)"
    fi
  done
}

up_registry() {
  ensure_registry_installed
  mkdir -p "$REGISTRY_STATE"
  # The registry user reads its config and writes the storage; nothing else.
  chmod a+rx "$STATE"
  chmod 755 "$REGISTRY_STATE"
  if [[ ! -d $REGISTRY_DATA ]]; then
    install -d -m 750 -o "$REGISTRY_USER" -g "$REGISTRY_USER" "$REGISTRY_DATA"
  fi
  registry_instance_up main
  registry_hosts_up
}

down_registry() {
  local inst pid t0 n
  for inst in main $(for n in "${HOST_NUMBERS[@]}"; do echo "h$n"; done); do
    t0=$EPOCHREALTIME
    if pid=$(registry_pid "$inst"); then
      log "registry: $inst: stopping pid $pid ..."
      stop_pid "registry: $inst" "$pid" 15
      log "registry: $inst: stopped [$(since "$t0")]"
    fi
    rm -f "$(registry_pid_file "$inst")"
  done
}

# One status line: the main instance, then each host's listener.
# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_registry() {
  local pid n parts=() ok=1
  if registry_answers main; then
    if pid=$(registry_pid main); then parts+=("$REGISTRY_URL pid $pid"); else parts+=("$REGISTRY_URL, not started by scripts/services"); fi
  else
    ok=0
    parts+=("nothing answers GET /v2/ on $REGISTRY_URL")
  fi
  for n in "${HOST_NUMBERS[@]}"; do
    nsenter --net="$(host_ns_file "$n")" true 2>/dev/null || continue
    if registry_answers "h$n"; then
      parts+=("h$n: $(host_gw "$n"):$REGISTRY_PORT")
    else
      ok=0
      parts+=("h$n: NOT answering on $(host_gw "$n"):$REGISTRY_PORT")
    fi
  done
  local line
  line=$(printf '%s; ' "${parts[@]}")
  line=${line%; }
  if ((ok)); then
    printf '%-24s running (%s)\n' registry "$line"
  elif registry_answers main; then
    printf '%-24s degraded (%s)\n' registry "$line"
  else
    printf '%-24s missing (%s)\n' registry "$line"
  fi
  ((ok)) || STATUS_OK=0
}
