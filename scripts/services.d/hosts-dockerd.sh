# shellcheck shell=bash
# scripts/services.d/hosts-dockerd.sh: part of `hosts` (hosts.sh): each test
# host's own dockerd, in its network namespace, trusting the registry's
# listener on its side of the veth.
#
# Findings on the dev VM:
#   * A second dockerd per host runs fine next to the main engine when only
#     its network namespace differs (nsenter --net; `ip netns exec` would
#     remount /sys and fails here). Without --containerd, dockerd 20.10 starts
#     its own containerd with config, socket and state under the exec root
#     (<exec-root>/containerd/) and the data root, so nothing collides with
#     the main engine's /var/run/docker/containerd; shim sockets in
#     /run/containerd/s/ are hashed per containerd address. Only a system
#     containerd at /run/containerd/containerd.sock would be shared: hence
#     the per-host --containerd-namespace. Inside its namespace each engine
#     has its own docker0 (172.17.0.0/16 again, harmless) and iptables rules;
#     containers run with --network none and on the default bridge.
#   * Every dockerd reads /etc/docker/daemon.json and /etc/docker/key.json
#     (the engine ID in `docker info`) by default: the host engines get their
#     own --config-file whose deprecated-key-path gives each its own ID.
#   * A dockerd in the host's own namespace would delete the main engine's
#     docker0 bridge: the script checks each host dockerd's namespace.
#   * --cgroup-parent benchyard-hN is relative: containers land in
#     <dockerd's own cgroup>/benchyard-hN/<id> (memory: under this machine's
#     /process_api/... cgroup), the main engine's in /docker/<id>.

# hN's dockerd configuration: its own identity key, and the registry's
# address on hN's side of the veth as an insecure (plain HTTP) registry. A
# CIDR rather than HOST:PORT, so the registry's port can change freely.
host_daemon_json() {
  printf '{\n  "deprecated-key-path": "%s",\n  "insecure-registries": ["%s/32"]\n}\n' \
    "$(host_dir "$1")/key.json" "$(host_gw "$1")"
}

# 0 when hN's running dockerd trusts the registry address (what daemon.json says).
host_registry_trusted() {
  timeout 15 docker -H "unix://$(host_sock "$1")" info --format '{{json .RegistryConfig.InsecureRegistryCIDRs}}' 2>/dev/null |
    grep -qF "\"$(host_gw "$1")/32\""
}

# dockerd reloads insecure-registries from its config file on SIGHUP.
host_dockerd_reload() {
  local n=$1 pid=$2 deadline
  log "hosts: h$n: dockerd pid $pid does not trust $(host_gw "$n")/32 yet; reloading $(host_dir "$n")/daemon.json (SIGHUP)"
  kill -HUP "$pid" 2>/dev/null || return 1
  deadline=$((SECONDS + 10))
  until host_registry_trusted "$n"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.3
  done
}

host_dockerd_up() {
  local n=$1 dir run sock pid log_file deadline
  dir=$(host_dir "$n")
  run=$(host_run "$n")
  sock=$(host_sock "$n")
  log_file=$dir/dockerd.log
  mkdir -p "$dir/docker" "$run/exec"
  # Own config file: never /etc/docker/daemon.json (the main engine's), and own
  # identity key, so `docker info` IDs differ from the main engine's.
  host_daemon_json "$n" | write_if_changed "$dir/daemon.json" 644 || true
  if pid=$(host_pid "$n" dockerd); then
    if ! pid_in_host "$pid" "$n"; then
      log "hosts: h$n: dockerd pid $pid runs in a stale network namespace; stopping it"
      stop_pid "hosts: h$n: dockerd" "$pid" 90
      pid=
    elif host_docker_answers "$n"; then
      # Started from an older daemon.json: reload it (keeps containers running).
      host_registry_trusted "$n" && return 0
      host_dockerd_reload "$n" "$pid" && return 0
      log "hosts: h$n: dockerd pid $pid did not take up insecure-registries on SIGHUP; restarting it"
      stop_pid "hosts: h$n: dockerd" "$pid" 90
      pid=
      if mountpoint -q "$dir/docker" 2>/dev/null; then umount "$dir/docker" 2>/dev/null || true; fi
    else
      log "hosts: h$n: dockerd pid $pid is running but not answering yet; waiting"
    fi
  fi
  if [[ -z $pid ]]; then
    # dockerd refuses to start while its pid file names a live process.
    rm -f "$run/dockerd.pid"
    printf '\n=== %s scripts/services starts dockerd for h%s ===\n' "$(date -Is)" "$n" >>"$log_file"
    # nsenter execs dockerd, so $! is dockerd's pid. Only the network
    # namespace differs from the main engine's: a dockerd in the host's own
    # namespace would take over (and delete) the main engine's docker0.
    # Everything dockerd and its managed containerd keep lives under the
    # data root and the exec root, so the engines don't collide; the
    # containerd namespaces differ too in case a system containerd is found.
    (cd / && exec setsid nohup nsenter --net="$(host_ns_file "$n")" dockerd \
      --config-file "$dir/daemon.json" \
      --data-root "$dir/docker" \
      --exec-root "$run/exec" \
      --pidfile "$run/dockerd.pid" \
      -H "unix://$sock" \
      --cgroup-parent "benchyard-h$n" \
      --containerd-namespace "benchyard-h$n" \
      --containerd-plugins-namespace "benchyard-h$n-plugins" \
      </dev/null >>"$log_file" 2>&1 9>&-) &
    pid=$!
  fi
  deadline=$((SECONDS + 60))
  until host_docker_answers "$n"; do
    pid_alive "$pid" || die "hosts: h$n: dockerd (pid $pid) exited during startup$(tail_of "$log_file")"
    ((SECONDS < deadline)) || die "hosts: h$n: dockerd (pid $pid) did not answer on $sock within 60 s$(tail_of "$log_file")"
    sleep 0.3
  done
  pid_in_host "$pid" "$n" || die "hosts: h$n: dockerd pid $pid is not in $(host_ns "$n") (refusing to go on)"
  log "hosts: h$n: started dockerd pid $pid (unix://$sock)"
}
