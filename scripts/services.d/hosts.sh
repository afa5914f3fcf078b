# shellcheck shell=bash
# scripts/services.d/hosts.sh: `hosts`, two test "remote machines" h1 and h2,
# each a network namespace benchyard-hN reached over a veth pair (host side
# byhN 10.250.N.1/24, namespace side eth0 10.250.N.2/24, default route via
# 10.250.N.1) running
#   - sshd on 10.250.N.2:22 (root, public key only; client key
#     $STATE/hosts/id_ed25519, host keys in $STATE/hosts/known_hosts;
#     stream-local and TCP forwarding on; config and log in
#     $STATE/hosts/hN/): hosts-sshd.sh, and
#   - its own dockerd (own managed containerd, data root
#     $STATE/hosts/hN/docker, socket unix:///run/benchyard-hosts/hN/docker.sock,
#     cgroup parent benchyard-hN; its daemon.json lists 10.250.N.1/32, where
#     the registry (registry.sh) listens for hN, under insecure-registries):
#     hosts-dockerd.sh. The engines start with no images; tests ship the ones
#     they need.
# `ip link set byhN down` cuts hN off (its sshd and dockerd keep running,
# connections hang); `ip link set byhN up` (or `up hosts`) restores it.
# Nothing else depends on the link state. The namespaces, the veths and the
# iptables guard that makes a cut hang: hosts-net.sh. This file: names,
# finding the hosts' daemons, and up/down/status. The findings on the dev VM
# sit in the part file they concern.
#
# Finding for `down hosts`: killing a host dockerd with SIGKILL takes its
# containerd along (pdeathsig) but leaves its data root bind-mounted on
# itself; `down hosts` unmounts it. An idle host dockerd needs ~5 s to stop.

# Test hosts hN (N in HOST_NUMBERS); per-host names come from the host_*
# functions below.
HOST_NUMBERS=(1 2)
# shellcheck disable=SC2153  # STATE comes from common.sh
HOSTS_STATE=$STATE/hosts
HOSTS_RUN=/run/benchyard-hosts
HOSTS_CLIENT_KEY=$HOSTS_STATE/id_ed25519
HOSTS_KNOWN_HOSTS=$HOSTS_STATE/known_hosts
# shellcheck disable=SC2034  # used by hosts-sshd.sh
HOSTS_AUTHORIZED_KEYS=$HOSTS_STATE/authorized_keys
HOSTS_NET=10.250.0.0/16

# Names and paths of test host hN ($1 = N).
host_ns() { echo "benchyard-h$1"; }
host_ns_file() { echo "/var/run/netns/benchyard-h$1"; }
host_veth() { echo "byh$1"; }
host_gw() { echo "10.250.$1.1"; }
host_addr() { echo "10.250.$1.2"; }
host_dir() { echo "$HOSTS_STATE/h$1"; }
host_run() { echo "$HOSTS_RUN/h$1"; }
host_sock() { echo "$HOSTS_RUN/h$1/docker.sock"; }

# in_host N CMD...: run CMD in hN's network namespace (and nothing else:
# same mounts, pids, cgroups). Never `ip netns exec`: it remounts /sys, which
# fails here.
in_host() {
  local n=$1
  shift
  nsenter --net="$(host_ns_file "$n")" "$@"
}

# 0 when process $1 lives in hN's network namespace ($2 = N).
pid_in_host() {
  local a b
  a=$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null) || return 1
  b=$(stat -L -c %i "$(host_ns_file "$2")" 2>/dev/null) || return 1
  [[ $a == "$b" ]]
}

# host_pid N sshd|dockerd: the pid of hN's sshd (listener) or dockerd: a live
# process with that comm and our config file / exec root on its command line,
# found by its pid file or, when that is gone or stale (state wiped), among
# the processes of that name. It may sit in a stale network namespace:
# callers check.
host_pid() {
  local n=$1 what=$2 file pid mark
  case $what in
    sshd)
      file=$(host_dir "$n")/sshd.pid
      mark="-f $(host_dir "$n")/sshd_config "
      ;;
    dockerd)
      file=$(host_run "$n")/dockerd.pid
      mark="--exec-root $(host_run "$n")/exec "
      ;;
  esac
  if [[ -s $file ]]; then
    pid=$(tr -dc '0-9' <"$file")
    if pid_alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$what" ]] && cmdline_has "$pid" "$mark"; then
      echo "$pid"
      return 0
    fi
  fi
  for pid in $(pgrep -x "$what" 2>/dev/null); do
    if cmdline_has "$pid" "$mark"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

host_docker_answers() {
  timeout 15 docker -H "unix://$(host_sock "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

host_sshd_listens() { timeout 3 bash -c "exec 3<>/dev/tcp/$(host_addr "$1")/22" 2>/dev/null; }

# host_ssh N CMD...: what a test does: key auth, host key checked.
host_ssh() {
  local n=$1
  shift
  ssh -F none -i "$HOSTS_CLIENT_KEY" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$HOSTS_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
    -o ConnectTimeout=5 -o LogLevel=ERROR "root@$(host_addr "$n")" "$@"
}

# What a test does: ssh in with the client key, checking the host key, and
# talk to hN's engine.
host_check() {
  local n=$1 out
  if ! out=$(host_ssh "$n" docker -H "unix://$(host_sock "$n")" version --format '{{.Server.Version}}' 2>&1); then
    die "hosts: h$n: ssh root@$(host_addr "$n") docker -H unix://$(host_sock "$n") version failed: $out$(tail_of "$(host_dir "$n")/sshd.log" 15)"
  fi
  printf '%s' "$out" | tail -n 1
}

up_hosts() {
  local t0=$EPOCHREALTIME n ver
  ensure_docker_installed
  ensure_sshd_installed
  ensure_client_key
  for n in "${HOST_NUMBERS[@]}"; do ensure_host_key "$n"; done
  write_known_hosts
  hosts_guard_up
  for n in "${HOST_NUMBERS[@]}"; do
    host_net_up "$n"
    host_sshd_up "$n"
    host_dockerd_up "$n"
  done
  # The checks run side by side: each ssh login takes ~0.4 s (root's shell rc).
  local tmp
  local -A check_pid
  tmp=$(mktemp -d)
  for n in "${HOST_NUMBERS[@]}"; do
    host_check "$n" >"$tmp/h$n" 2>&1 &
    check_pid[$n]=$!
  done
  for n in "${HOST_NUMBERS[@]}"; do
    if ! wait "${check_pid[$n]}"; then
      cat "$tmp/h$n" >&2
      rm -rf "$tmp"
      exit 1
    fi
    ver=$(tail -n 1 "$tmp/h$n")
    log "hosts: h$n: ready: root@$(host_addr "$n") (ssh), dockerd $ver on unix://$(host_sock "$n") [$(since "$t0")]"
  done
  rm -rf "$tmp"
  # The registry's listener for hN sits on the veth made above: a recreated
  # veth needs it (re)started.
  if registry_pid main >/dev/null; then registry_hosts_up; fi
}

# Every process in hN's network namespace was started there by up_hosts
# (sshd sessions, dockerd's containerd, shims, containers).
host_ns_pids() {
  local ino p
  ino=$(stat -L -c %i "$(host_ns_file "$1")" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [[ $(stat -L -c %i "$p/ns/net" 2>/dev/null) == "$ino" ]] && echo "${p#/proc/}"
  done
  return 0
}

down_host() {
  local n=$1 t0=$EPOCHREALTIME pid left p deadline
  if pid=$(host_pid "$n" dockerd); then
    stop_pid "hosts: h$n: dockerd" "$pid" 90
  fi
  rm -f "$(host_run "$n")/dockerd.pid"
  # dockerd bind-mounts its data root onto itself; a killed one leaves that.
  if mountpoint -q "$(host_dir "$n")/docker" 2>/dev/null; then
    umount "$(host_dir "$n")/docker" 2>/dev/null || true
  fi
  if pid=$(host_pid "$n" sshd); then
    log "hosts: h$n: stopping sshd pid $pid ..."
    stop_pid "hosts: h$n: sshd" "$pid" 10
  fi
  rm -f "$(host_dir "$n")/sshd.pid"
  left=$(host_ns_pids "$n")
  if [[ -n $left ]]; then
    log "hosts: h$n: ending what is left in $(host_ns "$n"): pids $(echo "$left" | tr '\n' ' ')"
    for p in $left; do kill -TERM "$p" 2>/dev/null || true; done
    deadline=$((SECONDS + 10))
    while [[ -n $(host_ns_pids "$n") ]] && ((SECONDS < deadline)); do sleep 0.3; done
    for p in $(host_ns_pids "$n"); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  ip link del "$(host_veth "$n")" 2>/dev/null || true
  if [[ -e $(host_ns_file "$n") ]]; then
    ip netns delete "$(host_ns "$n")" 2>/dev/null || rm -f "$(host_ns_file "$n")"
  fi
  log "hosts: h$n: down [$(since "$t0")]"
}

down_hosts() {
  local n pid
  # Both engines shut down side by side (~5 s each, even when idle).
  for n in "${HOST_NUMBERS[@]}"; do
    if pid=$(host_pid "$n" dockerd); then
      log "hosts: h$n: stopping dockerd pid $pid ..."
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for n in "${HOST_NUMBERS[@]}"; do down_host "$n"; done
}

# One line per host: missing (no namespace), degraded (guard, link, sshd or
# dockerd wrong) or running.
# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_hosts() {
  local n ver sshd_pid line
  local -a state
  for n in "${HOST_NUMBERS[@]}"; do
    state=()
    if ! nsenter --net="$(host_ns_file "$n")" true 2>/dev/null; then
      STATUS_OK=0
      printf '%-24s missing (no network namespace %s)\n' "hosts/h$n" "$(host_ns "$n")"
      continue
    fi
    if ! hosts_guard_ok; then
      STATUS_OK=0
      state+=("iptables guard for $HOSTS_NET NOT in place")
    fi
    if ! ip link show "$(host_veth "$n")" 2>/dev/null | head -n 1 | grep -q '[<,]UP[,>]'; then
      STATUS_OK=0
      state+=("network cut: $(host_veth "$n") is down")
      if sshd_pid=$(host_pid "$n" sshd) && pid_in_host "$sshd_pid" "$n"; then
        state+=("sshd pid $sshd_pid")
      else
        state+=("sshd NOT running")
      fi
    elif sshd_pid=$(host_pid "$n" sshd) && pid_in_host "$sshd_pid" "$n" && host_sshd_listens "$n"; then
      state+=("sshd pid $sshd_pid on $(host_addr "$n"):22")
    else
      STATUS_OK=0
      state+=("sshd NOT listening on $(host_addr "$n"):22")
    fi
    if ver=$(timeout 15 docker -H "unix://$(host_sock "$n")" version --format '{{.Server.Version}}' 2>/dev/null); then
      state+=("dockerd $ver answers on unix://$(host_sock "$n")")
    else
      STATUS_OK=0
      state+=("dockerd NOT answering on unix://$(host_sock "$n")")
    fi
    line=$(printf '%s; ' "${state[@]}")
    line=${line%; }
    if [[ $line == *NOT* || $line == *cut* ]]; then
      printf '%-24s degraded (%s)\n' "hosts/h$n" "$line"
    else
      printf '%-24s running (%s)\n' "hosts/h$n" "$line"
    fi
  done
}
