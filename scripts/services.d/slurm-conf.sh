# shellcheck shell=bash
# scripts/services.d/slurm-conf.sh: part of `slurm` (slurm.sh): what the
# daemons need before they start: the packages, munged, the controller's
# address (byh0) and the iptables rule for it, the user benchforeign, the
# fake GPUs, and slurm.conf, gres.conf and cgroup.conf (in /etc/slurm, where
# every Slurm command on this machine and on the test hosts looks without
# extra environment: the filesystem is shared).
#
# Finding: to this machine a local 10.250.x address is reached through lo,
# which the hosts guard (hosts-net.sh) drops: one mangle OUTPUT rule before
# the guard's DROP lets lo traffic to 10.250.0.1 through (slurm_net_up).
#
# Choices (the findings behind them are in slurm.sh's header):
#   * select/cons_tres + CR_Core_Memory, DefMemPerCPU=1024: cores, memory and
#     GRES are consumable; without DefMemPerCPU one job takes all of a node's
#     memory and the next one pends on Resources.
#   * AccountingStorageType=accounting_storage/none (no slurmdbd; with it
#     AccountingStorageTRES=gres/gpu is fatal): no sacct, so MinJobAge=3600
#     keeps finished jobs readable by `scontrol show job` / `squeue -t all`.
#   * KillWait=2 (SIGTERM to SIGKILL on cancel/timeout), SlurmdTimeout=300:
#     the SSH-host tests cut h1's link for ~60 s; at 30 s the node went down*
#     (~40 s into the cut) and came back only 2-4 min after the link, stalling
#     the Slurm tests that ran next; a cut that short now leaves it up.
#     ReturnToService=2 (a node that did go down comes back by itself), sched_interval=5 and
#     bf_interval=5 (pending jobs are looked at every 5 s rather than 60/30;
#     the event-driven scheduling on submit and job end does most of it).
#   * SlurmUser=root: slurmctld's state, log and pid files stay root's like
#     everything else in $STATE; slurmd always runs as root.
#   * ProctrackType=proctrack/cgroup, TaskPlugin=task/cgroup,task/affinity,
#     cgroup/v1 with ConstrainCores/RAMSpace/Devices (see slurm.sh for the
#     two slurmds sharing one hierarchy) where the v1 controllers are
#     mounted, as on the dev VM. Elsewhere (cgroup v2 only: Slurm 22.05's
#     cgroup/v2 wants systemd, which does not run here) proctrack/linuxproc
#     and task/affinity: jobs run, but nothing confines their devices.
#   * %n in slurmd's spool, pid and log paths: one slurmd per node name.

SLURM_ETC=/etc/slurm
SLURM_CONF_FILE=$SLURM_ETC/slurm.conf
SLURM_CTLD_IF=byh0
SLURM_MUNGE_DIR=$SLURM_STATE/munge
SLURM_MUNGE_PID_FILE=$SLURM_MUNGE_DIR/munged.pid
SLURM_MUNGE_LOG=$SLURM_MUNGE_DIR/munged.log
SLURM_MUNGE_KEY=/etc/munge/munge.key
SLURM_FOREIGN_USER=benchforeign
SLURM_CLUSTER=benchyard
SLURM_PARTITION=bench
SLURM_CTLD_ADDR=10.250.0.1
SLURM_CTLD_PORT=6817
# The first line of each file we write: a file without it is someone
# else's, and `up slurm` refuses to overwrite it.
SLURM_CONF_MARK='# Written by scripts/services (benchyard test cluster)'

ensure_slurm_installed() {
  local t0=$EPOCHREALTIME
  [[ -x /usr/sbin/slurmctld && -x /usr/sbin/slurmd && -x /usr/sbin/munged && -x /usr/bin/sinfo ]] && return
  log "slurm: installing slurmctld slurmd munge slurm-client (apt) ..."
  apt_install_no_start "$STATE/apt-slurm.log" --no-install-recommends slurmctld slurmd munge slurm-client ||
    die "slurm: apt-get install slurmctld slurmd munge slurm-client failed$(tail_of "$STATE/apt-slurm.log")"
  log "slurm: installed [$(since "$t0")]"
}

ensure_foreign_user() {
  id -u "$SLURM_FOREIGN_USER" >/dev/null 2>&1 && return
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SLURM_FOREIGN_USER" ||
    die "slurm: useradd $SLURM_FOREIGN_USER failed"
}

# Our rule as `iptables -S` prints it.
slurm_lo_rule() { echo "-A OUTPUT -d $SLURM_CTLD_ADDR/32 -o lo -j ACCEPT"; }

# byh0 with the controller's address, and the one iptables rule that lets
# this machine's own traffic to it through; it must come before the guard's
# DROP (which `up hosts` inserts at the top when it is missing).
slurm_net_up() {
  local rules ours drop spec
  if ! ip link show "$SLURM_CTLD_IF" >/dev/null 2>&1; then
    ip link add "$SLURM_CTLD_IF" type bridge || die "slurm: ip link add $SLURM_CTLD_IF type bridge failed"
  fi
  ip addr replace "$SLURM_CTLD_ADDR/32" dev "$SLURM_CTLD_IF" || die "slurm: cannot set $SLURM_CTLD_ADDR/32 on $SLURM_CTLD_IF"
  ip link set "$SLURM_CTLD_IF" up || die "slurm: ip link set $SLURM_CTLD_IF up failed"
  rules=$(iptables -w -t mangle -S OUTPUT) || die "slurm: iptables -t mangle -S OUTPUT failed"
  ours=$(grep -nxF -- "$(slurm_lo_rule)" <<<"$rules" | head -n 1 | cut -d: -f1) || true
  drop=$(grep -nxF -- "-A OUTPUT -d $HOSTS_NET ! -o byh+ -j DROP" <<<"$rules" | head -n 1 | cut -d: -f1) || true
  [[ -n $ours && (-z $drop || $ours -lt $drop) ]] && return
  spec=$(slurm_lo_rule)
  spec=${spec#-A OUTPUT }
  # shellcheck disable=SC2086  # a rule is several words
  [[ -n $ours ]] && iptables -w -t mangle -D OUTPUT $spec
  # shellcheck disable=SC2086
  iptables -w -t mangle -I OUTPUT 1 $spec || die "slurm: iptables -t mangle -I OUTPUT 1 $spec failed"
  log "slurm: added iptables rule: -t mangle OUTPUT $spec (this machine reaching slurmctld)"
}

munged_is_ours() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == munged ]] && cmdline_has "$1" "$SLURM_MUNGE_DIR/"; }
munged_pid() { our_pid "$SLURM_MUNGE_PID_FILE" munged_is_ours; }
munge_answers() { timeout 5 munge -n 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; }

munge_up() {
  local pid deadline
  if [[ ! -s $SLURM_MUNGE_KEY ]]; then
    mkdir -p "$(dirname "$SLURM_MUNGE_KEY")"
    mungekey --create --keyfile="$SLURM_MUNGE_KEY" --force || die "slurm: mungekey --create failed"
    log "slurm: created munge key $SLURM_MUNGE_KEY"
  fi
  chown munge:munge "$SLURM_MUNGE_KEY" "$(dirname "$SLURM_MUNGE_KEY")"
  chmod 600 "$SLURM_MUNGE_KEY"
  munge_answers && return
  if ! pid=$(munged_pid); then
    # munged refuses group/world-writable directories on its paths.
    mkdir -p /run/munge "$SLURM_MUNGE_DIR"
    chown munge:munge /run/munge "$SLURM_MUNGE_DIR"
    chmod 755 /run/munge
    chmod 700 "$SLURM_MUNGE_DIR"
    rm -f "$SLURM_MUNGE_PID_FILE"
    # It daemonizes and writes its pid file; --force: a socket file left by
    # a dead munged (nothing answered above) is replaced.
    runuser -u munge -- /usr/sbin/munged --force --pid-file="$SLURM_MUNGE_PID_FILE" \
      --log-file="$SLURM_MUNGE_LOG" </dev/null >>"$SLURM_MUNGE_DIR/munged.out" 2>&1 9>&- ||
      die "slurm: munged failed to start$(tail_of "$SLURM_MUNGE_DIR/munged.out" 10)$(tail_of "$SLURM_MUNGE_LOG" 10)"
  fi
  deadline=$((SECONDS + 15))
  until munge_answers; do
    ((SECONDS < deadline)) || die "slurm: munged does not answer (munge -n | unmunge) within 15 s$(tail_of "$SLURM_MUNGE_LOG" 15)"
    sleep 0.2
  done
  pid=$(munged_pid) || pid='?'
  log "slurm: started munged pid $pid"
}

# Node hN's features and fake GPU device files (different files per node on
# purpose: the filesystem is shared). /dev/fakegpuM is c 195 M, NVIDIA's
# major, so a device cgroup would tell them apart.
slurm_features() { if [[ $1 == 1 ]]; then echo fpga0,fake; else echo fake; fi; }
slurm_gpu_numbers() { echo "$((2 * $1 - 2)) $((2 * $1 - 1))"; }

ensure_fake_gpus() {
  local n m dev
  for n in "${HOST_NUMBERS[@]}"; do
    for m in $(slurm_gpu_numbers "$n"); do
      dev=/dev/fakegpu$m
      if [[ ! -c $dev ]]; then
        rm -f "$dev"
        mknod "$dev" c 195 "$m" || die "slurm: mknod $dev c 195 $m failed"
      fi
      chmod 666 "$dev"
    done
  done
}

# The NodeName hardware words from `slurmd -C` (CPUs ... ThreadsPerCore), and
# RealMemory rounded down to whole GiB: a node whose RealMemory exceeds what
# slurmd finds is drained ("Low RealMemory"), and a rounded value does not
# change (and restart the daemons) when the total wobbles by a few MiB.
slurm_node_hw() {
  local out words mem
  out=$(slurmd -C 2>&1 | head -n 1) || die "slurm: slurmd -C failed: $out"
  words=$(grep -oE '(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' <<<"$out" | tr '\n' ' ')
  mem=$(grep -oE 'RealMemory=[0-9]+' <<<"$out" | cut -d= -f2)
  [[ -n $words && -n $mem ]] || die "slurm: cannot read the hardware from slurmd -C: $out"
  echo "${words}RealMemory=$((mem / 1024 * 1024))"
}

# 0 when the cgroup v1 controllers Slurm's cgroup plugins use are mounted.
slurm_cgroup_v1() {
  local c
  for c in cpuset memory devices freezer; do
    [[ $(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null) == cgroupfs ]] || return 1
  done
}

# slurm_conf_text HW: HW is slurm_node_hw's line (computed by the caller: a
# die in a pipeline's subshell would not stop the write).
slurm_conf_text() {
  local hw=$1 n
  cat <<CONF
$SLURM_CONF_MARK: rewritten on every
# 'up slurm'; see scripts/services.d/slurm-conf.sh for the choices.
ClusterName=$SLURM_CLUSTER
SlurmctldHost=$(hostname -s)($SLURM_CTLD_ADDR)
SlurmctldPort=$SLURM_CTLD_PORT
SlurmdPort=6818
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$SLURM_STATE/ctld
SlurmctldPidFile=$SLURM_STATE/slurmctld.pid
SlurmctldLogFile=$SLURM_STATE/slurmctld.log
SlurmdSpoolDir=$SLURM_STATE/spool-%n
SlurmdPidFile=$SLURM_STATE/slurmd-%n.pid
SlurmdLogFile=$SLURM_STATE/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
$(if slurm_cgroup_v1; then
    printf 'ProctrackType=proctrack/cgroup\nTaskPlugin=task/cgroup,task/affinity'
  else
    printf 'ProctrackType=proctrack/linuxproc\nTaskPlugin=task/affinity'
  fi)
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
DefMemPerCPU=1024
MinJobAge=3600
KillWait=2
InactiveLimit=0
SlurmdTimeout=300
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
CONF
  for n in "${HOST_NUMBERS[@]}"; do
    echo "NodeName=h$n NodeAddr=$(host_addr "$n") $hw Gres=gpu:fake:2 Feature=$(slurm_features "$n") State=UNKNOWN"
  done
  echo "PartitionName=$SLURM_PARTITION Nodes=$(printf 'h%s,' "${HOST_NUMBERS[@]}" | sed 's/,$//') Default=YES MaxTime=INFINITE State=UP"
}

slurm_gres_conf_text() {
  local n gpus
  echo "$SLURM_CONF_MARK: rewritten on every 'up slurm'."
  for n in "${HOST_NUMBERS[@]}"; do
    gpus=$(slurm_gpu_numbers "$n")
    echo "NodeName=h$n Name=gpu Type=fake File=/dev/fakegpu[${gpus// /-}]"
  done
}

slurm_cgroup_conf_text() {
  echo "$SLURM_CONF_MARK: rewritten on every 'up slurm'."
  slurm_cgroup_v1 || return 0
  printf '%s\n' CgroupPlugin=cgroup/v1 ConstrainCores=yes ConstrainRAMSpace=yes ConstrainDevices=yes
}

# write_slurm_conf: the three files; 0 when one of them changed (the daemons
# then need a restart), 1 when all were up to date.
write_slurm_conf() {
  local f hw changed=1
  mkdir -p "$SLURM_ETC"
  hw=$(slurm_node_hw) || exit 1
  for f in slurm.conf gres.conf cgroup.conf; do
    if [[ -s $SLURM_ETC/$f ]] && ! head -n 1 "$SLURM_ETC/$f" | grep -qF "$SLURM_CONF_MARK"; then
      die "slurm: $SLURM_ETC/$f was not written by scripts/services (its first line is not '$SLURM_CONF_MARK...'); move it away first"
    fi
  done
  slurm_conf_text "$hw" | write_if_changed "$SLURM_CONF_FILE" 644 && changed=0
  slurm_gres_conf_text | write_if_changed "$SLURM_ETC/gres.conf" 644 && changed=0
  slurm_cgroup_conf_text | write_if_changed "$SLURM_ETC/cgroup.conf" 644 && changed=0
  return "$changed"
}
