# shellcheck shell=bash
# scripts/services.d/common.sh: what every service file uses: the cache and
# state directories, logging and timing, root and the lock, pid files, apt,
# and stopping what scripts/services started. Sourced by scripts/services
# before the service files; defines nothing but variables and functions.

CACHE=${BENCHYARD_DEV_CACHE:-/var/cache/benchyard-dev}
STATE=${BENCHYARD_DEV_STATE:-/var/lib/benchyard-dev}

log() { printf 'services: %s\n' "$*"; }
die() {
  printf 'services: ERROR: %s\n' "$*" >&2
  exit 1
}

# Elapsed time since $1 (an $EPOCHREALTIME value) as "1.2s".
since() {
  local start=$1 now=$EPOCHREALTIME
  awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1fs", b - a }'
}

# Last lines of a log file, indented, for error messages.
tail_of() {
  local file=$1 n=${2:-30}
  if [[ -s $file ]]; then
    printf '\n--- last %s lines of %s ---\n' "$n" "$file"
    tail -n "$n" "$file" | sed 's/^/  /'
  else
    printf '\n(%s is empty or missing)\n' "$file"
  fi
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (starts dockerd, creates users and network namespaces, writes $CACHE and $STATE)"
}

# fd 9 holds the lock; every daemon the service files start gets `9>&-` so it
# doesn't inherit the lock and keep it after this script exits.
take_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.services.lock"
  if ! flock -n 9; then
    log "waiting for another scripts/services run (lock $STATE/.services.lock) ..."
    flock -w 600 9 || die "another scripts/services run still holds $STATE/.services.lock after 600 s"
  fi
}

pid_alive() { [[ -n ${1:-} && -d /proc/$1 ]] && kill -0 "$1" 2>/dev/null; }

# our_pid FILE IS_OURS: the pid recorded in FILE when that process is alive
# and `IS_OURS PID` says it is the one we started (dockerd: /proc/pid/comm;
# es: the java command line points at our ES_HOME). Fails otherwise, so we
# never signal a process we didn't start.
our_pid() {
  local file=$1 is_ours=$2 pid
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  pid_alive "$pid" || return 1
  "$is_ours" "$pid" || return 1
  echo "$pid"
}

# cmdline_has PID STRING: 0 when the process's command line contains STRING.
cmdline_has() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# apt_install LOG PKG...: install Debian packages; on a fresh machine the package
# lists may be empty or stale, so a failed install is retried after `apt-get update`.
apt_install() {
  local log=$1
  shift
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >"$log" 2>&1 && return 0
  { DEBIAN_FRONTEND=noninteractive apt-get update &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } >>"$log" 2>&1
}

# apt_install_no_start LOG PKG...: apt_install while a policy-rc.d that says
# 101 keeps the packages' postinst scripts from starting their services (ours
# run with our own configs, in our own places). A policy-rc.d already there
# is left as it is.
apt_install_no_start() {
  local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# scripts/services: no service starts during this install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  apt_install "$@" || rc=$?
  ((added_policy)) && rm -f "$policy"
  return "$rc"
}

# write_if_changed FILE MODE: stdin into FILE unless FILE already has exactly
# that content; 0 when it wrote, 1 when FILE was up to date.
write_if_changed() {
  local file=$1 mode=$2 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$file"
}

# stop_pid NAME PID TIMEOUT: SIGTERM, wait, SIGKILL as a last resort.
stop_pid() {
  local name=$1 pid=$2 timeout=$3 deadline
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + timeout))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$name: pid $pid still running after ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.3
  done
}

# down_one NAME FILE TIMEOUT IS_OURS: stop the daemon whose pid FILE records
# (see our_pid), and only that one.
down_one() {
  local name=$1 file=$2 timeout=$3 is_ours=$4 t0=$EPOCHREALTIME pid
  if pid=$(our_pid "$file" "$is_ours"); then
    log "$name: stopping pid $pid ..."
    stop_pid "$name" "$pid" "$timeout"
    rm -f "$file"
    log "$name: stopped [$(since "$t0")]"
  elif [[ -e $file ]]; then
    rm -f "$file"
    log "$name: not running (removed stale pid file $file)"
  else
    log "$name: not started by scripts/services (left alone)"
  fi
}
