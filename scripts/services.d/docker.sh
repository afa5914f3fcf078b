# shellcheck shell=bash
# scripts/services.d/docker.sh: `docker`, this machine's Docker engine:
# dockerd (Debian's docker.io), started in the background if `docker info`
# does not answer yet. `down docker` stops it only when scripts/services
# started it (pid file $STATE/dockerd.pid, log $STATE/dockerd.log).
#
# Findings on the dev VM (Debian bookworm, kernel 6.x, cgroup v1, no systemd):
#   * dockerd 20.10 (docker.io) starts with no extra flags: overlay2 on ext4,
#     cgroupfs driver, iptables-nft NAT and the docker0 bridge all work;
#     containers reach the apt mirror through the default bridge.
#   * /usr/local/bin/docker may be a newer CLI (28.x) than the daemon; the CLI
#     negotiates the API version down, so that is fine.

DOCKER_PID_FILE=$STATE/dockerd.pid

dockerd_is_ours() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == dockerd ]]; }
docker_pid() { our_pid "$DOCKER_PID_FILE" dockerd_is_ours; }

docker_answers() { timeout 15 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# dockerd and the docker CLI (the test hosts' engines use the same binaries).
ensure_docker_installed() {
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    log "docker: installing docker.io (apt) ..."
    mkdir -p "$STATE"
    apt_install "$STATE/apt-docker.log" docker.io ||
      die "docker: apt-get install docker.io failed$(tail_of "$STATE/apt-docker.log")"
  fi
}

up_docker() {
  local t0=$EPOCHREALTIME pid log_file=$STATE/dockerd.log
  ensure_docker_installed

  if docker_answers; then
    log "docker: ready (skipped: docker info answers) [$(since "$t0")]"
    return
  fi

  if pid=$(docker_pid); then
    log "docker: dockerd (pid $pid, ours) is running but not answering yet; waiting"
  else
    rm -f "$DOCKER_PID_FILE"
    if [[ -s /var/run/docker.pid ]] && pid_alive "$(tr -dc '0-9' </var/run/docker.pid)"; then
      die "docker: a dockerd not started by scripts/services runs (pid $(cat /var/run/docker.pid)) but does not answer; fix or stop it yourself"
    fi
    log "docker: starting dockerd (log $log_file)"
    printf '\n=== %s scripts/services starts dockerd ===\n' "$(date -Is)" >>"$log_file"
    # setsid: own session, so the daemon survives the caller's terminal and
    # process group. No flags needed here (see the notes at the top).
    # 9>&-: don't let the daemon inherit (and so hold forever) our lock fd.
    (cd / && exec setsid nohup dockerd </dev/null >>"$log_file" 2>&1 9>&-) &
    pid=$!
    echo "$pid" >"$DOCKER_PID_FILE"
  fi

  local deadline=$((SECONDS + 60))
  until docker_answers; do
    if ! pid_alive "$pid"; then
      rm -f "$DOCKER_PID_FILE"
      die "docker: dockerd (pid $pid) exited during startup$(tail_of "$log_file")"
    fi
    ((SECONDS < deadline)) || die "docker: dockerd (pid $pid) did not answer within 60 s$(tail_of "$log_file")"
    sleep 0.5
  done
  log "docker: ready (started dockerd pid $pid) [$(since "$t0")]"
}

# dockerd stops its containers first (15 s default each), hence the margin.
down_docker() { down_one docker "$DOCKER_PID_FILE" 90 dockerd_is_ours; }

# Sets DOCKER_UP (1 when dockerd answers), which status_images reads.
# shellcheck disable=SC2034  # DOCKER_UP, STATUS_OK: read by cmd_status
status_docker() {
  local pid who ver
  DOCKER_UP=0
  if docker_answers; then
    DOCKER_UP=1
    ver=$(timeout 15 docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
    if pid=$(docker_pid); then who="pid $pid, started by scripts/services"; else who="not started by scripts/services"; fi
    printf '%-24s running (dockerd %s, %s)\n' docker "$ver" "$who"
  else
    STATUS_OK=0
    printf '%-24s missing (docker info does not answer)\n' docker
  fi
}
