# shellcheck shell=bash
# scripts/services.d/hosts-sshd.sh: part of `hosts` (hosts.sh): OpenSSH's
# sshd in each test host's namespace, its host key, and the client key and
# known_hosts file the tests use.
#
# Finding: an ssh login takes ~0.4 s (more under load), most of it root's
# ~/.bashrc (bash sources it for commands run by sshd). 30 channels over one
# connection (MaxSessions 100) and 40 parallel connections work.

ensure_sshd_installed() {
  local t0=$EPOCHREALTIME
  [[ -x /usr/sbin/sshd ]] && return
  log "hosts: installing openssh-server (apt) ..."
  mkdir -p "$STATE" /etc/ssh
  # The distro's sshd must never run in the host's own namespace: Debian's
  # init script does nothing while this file exists, and a policy-rc.d that
  # says 101 keeps the package's postinst from starting the service.
  touch /etc/ssh/sshd_not_to_be_run
  apt_install_no_start "$STATE/apt-openssh.log" --no-install-recommends openssh-server ||
    die "hosts: apt-get install openssh-server failed$(tail_of "$STATE/apt-openssh.log")"
  [[ -x /usr/sbin/sshd ]] || die "hosts: openssh-server installed but /usr/sbin/sshd is missing"
  log "hosts: openssh-server installed [$(since "$t0")]"
}

# The client key pair the tests use, authorized for root on every host.
ensure_client_key() {
  mkdir -p "$HOSTS_STATE"
  chmod 700 "$HOSTS_STATE"
  if [[ ! -s $HOSTS_CLIENT_KEY ]]; then
    rm -f "$HOSTS_CLIENT_KEY" "$HOSTS_CLIENT_KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C benchyard-tests -f "$HOSTS_CLIENT_KEY" ||
      die "hosts: ssh-keygen (client key) failed"
    log "hosts: created client key $HOSTS_CLIENT_KEY"
  fi
  [[ -s $HOSTS_CLIENT_KEY.pub ]] || ssh-keygen -y -f "$HOSTS_CLIENT_KEY" >"$HOSTS_CLIENT_KEY.pub"
  cut -d' ' -f1,2 "$HOSTS_CLIENT_KEY.pub" | write_if_changed "$HOSTS_AUTHORIZED_KEYS" 644 || true
}

ensure_host_key() {
  local key
  key=$(host_dir "$1")/ssh_host_ed25519_key
  mkdir -p "$(host_dir "$1")"
  if [[ ! -s $key ]]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "benchyard-h$1" -f "$key" || die "hosts: h$1: ssh-keygen (host key) failed"
  fi
  [[ -s $key.pub ]] || ssh-keygen -y -f "$key" >"$key.pub"
}

write_known_hosts() {
  local n
  for n in "${HOST_NUMBERS[@]}"; do
    printf '%s %s\n' "$(host_addr "$n")" "$(cut -d' ' -f1,2 "$(host_dir "$n")/ssh_host_ed25519_key.pub")"
  done | write_if_changed "$HOSTS_KNOWN_HOSTS" 644 || true
}

host_sshd_config() {
  local n=$1 dir
  dir=$(host_dir "$n")
  cat <<CONF
# Written by scripts/services (rewritten on every 'up hosts'): test host h$n.
ListenAddress $(host_addr "$n")
Port 22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $HOSTS_AUTHORIZED_KEYS
StrictModes no
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
UsePAM no
MaxSessions 100
MaxStartups 100:30:200
LogLevel INFO
PrintMotd no
Subsystem sftp internal-sftp
CONF
}

host_sshd_up() {
  local n=$1 dir cfg pid changed=0 deadline
  dir=$(host_dir "$n")
  cfg=$dir/sshd_config
  host_sshd_config "$n" | write_if_changed "$cfg" 644 && changed=1
  # Privilege separation directory; Debian's init script would create it.
  mkdir -p /run/sshd
  chmod 755 /run/sshd
  if pid=$(host_pid "$n" sshd); then
    # The host key it loaded is not the one on disk (state wiped and recreated).
    cmp -s "$dir/ssh_host_ed25519_key.pub" "$dir/sshd.loaded-key.pub" || changed=1
    if ! pid_in_host "$pid" "$n"; then
      log "hosts: h$n: sshd pid $pid runs in a stale network namespace; restarting it"
      stop_pid "hosts: h$n: sshd" "$pid" 10
      pid=
    elif ((changed)); then
      /usr/sbin/sshd -t -f "$cfg" 2>&1 || die "hosts: h$n: sshd -t -f $cfg failed"
      kill -HUP "$pid"
      cp "$dir/ssh_host_ed25519_key.pub" "$dir/sshd.loaded-key.pub"
      log "hosts: h$n: sshd_config or host key changed; sshd pid $pid reloaded (SIGHUP)"
      sleep 0.5
    fi
  fi
  if [[ -z $pid ]]; then
    rm -f "$dir/sshd.pid"
    local out
    out=$(/usr/sbin/sshd -t -f "$cfg" 2>&1) || die "hosts: h$n: sshd -t -f $cfg: $out"
    printf '\n=== %s scripts/services starts sshd ===\n' "$(date -Is)" >>"$dir/sshd.log"
    # sshd daemonizes and writes its pid file itself.
    in_host "$n" /usr/sbin/sshd -f "$cfg" -E "$dir/sshd.log" </dev/null 9>&- ||
      die "hosts: h$n: sshd failed to start$(tail_of "$dir/sshd.log")"
    cp "$dir/ssh_host_ed25519_key.pub" "$dir/sshd.loaded-key.pub"
    deadline=$((SECONDS + 10))
    until pid=$(host_pid "$n" sshd); do
      ((SECONDS < deadline)) || die "hosts: h$n: sshd wrote no live pid into $dir/sshd.pid within 10 s$(tail_of "$dir/sshd.log")"
      sleep 0.1
    done
    pid_in_host "$pid" "$n" || die "hosts: h$n: sshd pid $pid is not in $(host_ns "$n") (refusing to go on)"
    log "hosts: h$n: started sshd pid $pid on $(host_addr "$n"):22"
  fi
  deadline=$((SECONDS + 10))
  until host_sshd_listens "$n"; do
    ((SECONDS < deadline)) || die "hosts: h$n: nothing accepts on $(host_addr "$n"):22 (sshd pid $pid)$(tail_of "$dir/sshd.log")"
    sleep 0.2
  done
}
