# shellcheck shell=bash
# scripts/services.d/slurm.sh: `slurm`, a real Slurm cluster (Debian
# bookworm's slurm-wlm 22.05.8 and munge 0.5.15) over the test hosts
# (hosts.sh):
#   - munged as user munge on this machine (socket /run/munge/munge.socket.2,
#     key /etc/munge/munge.key, pid file and log in $STATE/slurm/munge/); one
#     munged serves every node: the namespaces share the filesystem;
#   - slurmctld on this machine, reached by everyone at 10.250.0.1:6817, an
#     address on byh0, a bridge with no ports (the kernel here has no dummy
#     interfaces) that no test cuts: the nodes reach it through their own
#     link, so cutting byh1 leaves h2 in touch;
#   - one slurmd per test host, `slurmd -N hN` in hN's network namespace,
#     node hN at 10.250.N.2:6818 with the machine's CPUs and memory, two fake
#     GPUs (Gres=gpu:fake:2: h1 /dev/fakegpu0-1, h2 /dev/fakegpu2-3,
#     character devices c 195 M) and features (h1 fpga0,fake; h2 fake);
#     partition `bench` (default) = h1,h2; cluster `benchyard`;
#   - user benchforeign, for "someone else's job" in tests.
# Config files in /etc/slurm (slurm-conf.sh): every Slurm command, here, in
# a namespace or over SSH on h1 (the login node), finds them without extra
# environment. State, logs and pid files in $STATE/slurm/ (slurmctld.*,
# slurmd-hN.*, spool-hN/, ctld/ = StateSaveLocation); *.out: the daemons'
# stderr (with -D also a copy of their log). `scripts/services env slurm`
# prints the BENCHYARD_SLURM_* exports a test evals (env_slurm).
#
# Findings on the dev VM (2 cores, 24 GiB, cgroup v1 + v2 hybrid):
#   * apt (8 packages with --no-install-recommends) ~4 s, starting nothing;
#     `up slurm` after it ~1.6 s (of which `up hosts` ~0.6 s), a warm one
#     ~1.1 s; `down slurm` ~7 s. Jobs survive down/up: their slurmstepds
#     outlive slurmd and are found again.
#   * Debian builds Slurm with multiple-slurmd support: each slurmd keeps its
#     cgroups under <controller>/slurm_hN/uid_U/job_J/..., so the two share
#     the v1 hierarchies without colliding; proctrack/cgroup and
#     task/cgroup,task/affinity work. With ConstrainDevices=yes a job can
#     open only its own fake GPU (others: EPERM; its own: ENXIO, no driver);
#     every /dev/fakegpu* stays visible. The mpi/pmix errors in the logs are
#     harmless (no PMIx library; MpiDefault=none).
#   * GPU indices are per node: the job given /dev/fakegpu2 (h2's first) has
#     SLURM_JOB_GPUS=0 and GRES=gpu:fake:1(IDX:0) in `scontrol show job -d`:
#     IDX is the position in the node's gres.conf File list, not the number
#     in the file name. CUDA_VISIBLE_DEVICES counts from 0 (SLURM_JOB_GPUS=1
#     -> CUDA_VISIBLE_DEVICES=0); in an srun step: SLURM_STEP_GPUS.
#   * --exclusive --gres=gpu:fake:1 takes the whole node: all CPUs
#     (CPU_IDs=0-1) and ALL its GPUs (JOB_GRES=gpu:fake:2, IDX:0-1), but
#     memory only DefMemPerCPU x CPUs (Mem=2048) unless --mem asks more.
#   * sbatch --parsable returns in ~10 ms; RUNNING 0.1-0.3 s later (up to ~3
#     s while the node still ends the previous job). scancel -> CANCELLED
#     (what squeue %T shows after COMPLETING) 0.1-1.8 s; a pending job takes
#     the freed node ~1.7 s later. Pending, `squeue -h -o '%i|%T|%r|%N'`
#     says `10|PENDING|Resources|` (empty node list).
#   * Time limits are checked every 30 s (slurmctld, fixed): --time=1 ends
#     as TIMEOUT after ~75 s. `scontrol update JobId=J TimeLimit=0:01` is
#     accepted but stored as 00:01:00 (minutes). The fast kill: as root,
#     `scontrol update JobId=J EndTime=now` -> TIMEOUT 11-22 s later (right
#     after the start it may answer "Job is not running": retry).
#   * A cut link (ip link set byh2 down): h2 `allocated*` after ~28 s,
#     `down*` after ~55 s (SlurmdTimeout=30); then a batch job submitted
#     with --no-requeue is NODE_FAIL (Reason NodeDown), a requeueable one
#     (JobRequeue=1 is the default) goes back to PENDING with a BeginTime
#     ~2 min ahead. Link back: h2 idle within ~1 s (ReturnToService=2).
#   * `scontrol show job -d -o` quotes nothing (Comment=a b  StdErr=...);
#     once a job ends the per-node GRES= is empty but JOB_GRES stays.
#     Examples of every state: test/fixtures/slurm/.
#   * Over SSH on h1 (the login node) sbatch/squeue/scontrol/scancel/sinfo
#     work as here (~0.3 s a login). `runuser -u benchforeign -- sbatch -o
#     /dev/null ...` (a writable cwd or -o) runs a job as that user.
#   * slurmd's shutdown waits for its RPC threads, which retry slurmctld:
#     with slurmctld gone first a SIGTERM takes minutes. `down slurm` stops
#     the slurmds first, and cancels no job.
#   * slurmctld -i on every start: state files are read when they are good,
#     errors in them (first start, changed node list) are ignored instead of
#     fatal.

SLURM_STATE=$STATE/slurm
SLURM_CTLD_PID_FILE=$SLURM_STATE/slurmctld.pid
SLURM_CTLD_LOG=$SLURM_STATE/slurmctld.log

slurmd_pid_file() { echo "$SLURM_STATE/slurmd-h$1.pid"; }
slurmd_log() { echo "$SLURM_STATE/slurmd-h$1.log"; }

slurmctld_is_ours() { [[ $(cat "/proc/$1/comm" 2>/dev/null) == slurmctld ]] && cmdline_has "$1" "slurmctld -D -i -f $SLURM_CONF_FILE"; }
slurmctld_pid() { our_pid "$SLURM_CTLD_PID_FILE" slurmctld_is_ours; }
slurmctld_answers() { timeout 10 scontrol ping 2>/dev/null | grep -q 'is UP'; }

slurmd_is_ours() {
  [[ $(cat "/proc/$1/comm" 2>/dev/null) == slurmd ]] && cmdline_has "$1" "slurmd -D -N h$2 -f $SLURM_CONF_FILE" && pid_in_host "$1" "$2"
}
# slurmd_pid N: our slurmd for hN, in hN's current namespace.
slurmd_pid() {
  local file pid
  file=$(slurmd_pid_file "$1")
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  pid_alive "$pid" && slurmd_is_ours "$pid" "$1" || return 1
  echo "$pid"
}

slurmctld_up() {
  local pid deadline out=$SLURM_STATE/slurmctld.out
  if pid=$(slurmctld_pid); then
    slurmctld_answers || log "slurm: slurmctld pid $pid is running; waiting for it to answer"
  elif slurmctld_answers; then
    die "slurm: a slurmctld not started by scripts/services answers on $SLURM_CTLD_ADDR:$SLURM_CTLD_PORT (its pid is not in $SLURM_CTLD_PID_FILE); stop it first"
  else
    rm -f "$SLURM_CTLD_PID_FILE"
    printf '\n=== %s scripts/services starts slurmctld ===\n' "$(date -Is)" >>"$out"
    (cd / && exec setsid nohup slurmctld -D -i -f "$SLURM_CONF_FILE" </dev/null >>"$out" 2>&1 9>&-) &
    pid=$!
  fi
  deadline=$((SECONDS + 30))
  until slurmctld_answers; do
    pid_alive "$pid" || die "slurm: slurmctld (pid $pid) exited during startup$(tail_of "$out" 20)"
    ((SECONDS < deadline)) || die "slurm: slurmctld (pid $pid) did not answer scontrol ping within 30 s$(tail_of "$SLURM_CTLD_LOG" 20)"
    sleep 0.2
  done
  log "slurm: slurmctld pid $pid answers on $SLURM_CTLD_ADDR:$SLURM_CTLD_PORT"
}

slurmd_up() {
  local n=$1 pid out=$SLURM_STATE/slurmd-h$1.out
  mkdir -p "$SLURM_STATE/spool-h$n"
  if pid=$(slurmd_pid "$n"); then
    return 0
  fi
  rm -f "$(slurmd_pid_file "$n")"
  printf '\n=== %s scripts/services starts slurmd for h%s ===\n' "$(date -Is)" "$n" >>"$out"
  # nsenter execs slurmd, so $! is slurmd's pid.
  (cd / && exec setsid nohup nsenter --net="$(host_ns_file "$n")" slurmd -D -N "h$n" -f "$SLURM_CONF_FILE" \
    </dev/null >>"$out" 2>&1 9>&-) &
  pid=$!
  sleep 0.3
  pid_alive "$pid" || die "slurm: slurmd for h$n (pid $pid) exited during startup$(tail_of "$out" 20)"
  log "slurm: started slurmd -N h$n pid $pid in $(host_ns "$n")"
}

# slurm_node_state N: hN's state as `sinfo -N -o %T` says it (idle, mixed,
# allocated, down*, drained, idle*, ...; a * means not responding).
slurm_node_state() { timeout 10 sinfo -h -N -n "h$1" -o %T 2>/dev/null | head -n 1; }

# Wait until every node answers and takes jobs; resume those that came back
# down or drained (e.g. "Kill task failed", "Not responding" from before).
slurm_wait_nodes() {
  local n st deadline=$((SECONDS + 60)) ready
  local -A resumed=()
  while :; do
    ready=1
    for n in "${HOST_NUMBERS[@]}"; do
      st=$(slurm_node_state "$n")
      case $st in
        idle | mixed | allocated | completing) ;;
        down | drain* | fail*)
          ready=0
          [[ -n ${resumed[$n]:-} ]] && continue
          resumed[$n]=1
          log "slurm: h$n is $st; scontrol update nodename=h$n state=resume"
          timeout 10 scontrol update nodename="h$n" state=resume 2>&1 | sed 's/^/  /' || true
          ;;
        *) ready=0 ;;
      esac
    done
    ((ready)) && return 0
    for n in "${HOST_NUMBERS[@]}"; do
      slurmd_pid "$n" >/dev/null || die "slurm: slurmd for h$n exited$(tail_of "$SLURM_STATE/slurmd-h$n.out" 20)"
    done
    if ((SECONDS >= deadline)); then
      die "slurm: nodes not ready within 60 s: $(timeout 10 sinfo -h -N -o '%N %T %E' 2>&1 | tr '\n' ';')$(tail_of "$SLURM_CTLD_LOG" 15)$(tail_of "$(slurmd_log 1)" 10)$(tail_of "$(slurmd_log 2)" 10)"
    fi
    sleep 0.5
  done
}

up_slurm() {
  local t0=$EPOCHREALTIME n running=0
  for n in "${HOST_NUMBERS[@]}"; do
    nsenter --net="$(host_ns_file "$n")" true 2>/dev/null || die "slurm: test host h$n is not up (scripts/services up hosts)"
  done
  ensure_slurm_installed
  ensure_foreign_user
  slurm_net_up
  munge_up
  ensure_fake_gpus
  mkdir -p "$SLURM_STATE/ctld"
  if write_slurm_conf; then
    slurmctld_pid >/dev/null && running=1
    for n in "${HOST_NUMBERS[@]}"; do slurmd_pid "$n" >/dev/null && running=1; done
    if ((running)); then
      log "slurm: $SLURM_ETC changed; restarting the daemons"
      stop_slurm_daemons
    fi
  fi
  slurmctld_up
  for n in "${HOST_NUMBERS[@]}"; do slurmd_up "$n"; done
  slurm_wait_nodes
  log "slurm: ready: cluster $SLURM_CLUSTER, partition $SLURM_PARTITION ($(slurm_nodes_line)), login root@$(host_addr 1) [$(since "$t0")]"
}

# slurmds first: their shutdown waits on slurmctld (see the header).
stop_slurm_daemons() {
  local n pid t0=$EPOCHREALTIME
  local -A pids=()
  # Side by side: ~2 s each even when idle.
  for n in "${HOST_NUMBERS[@]}"; do
    if pid=$(slurmd_pid "$n"); then
      pids[$n]=$pid
      log "slurm: stopping slurmd h$n pid $pid ..."
      kill -TERM "$pid" 2>/dev/null || true
    else
      log "slurm: slurmd h$n: not started by scripts/services (left alone)"
    fi
  done
  for n in "${!pids[@]}"; do
    stop_pid "slurm: slurmd h$n" "${pids[$n]}" 20
    rm -f "$(slurmd_pid_file "$n")"
    log "slurm: slurmd h$n stopped [$(since "$t0")]"
  done
  down_one "slurm: slurmctld" "$SLURM_CTLD_PID_FILE" 30 slurmctld_is_ours
}

down_slurm() {
  stop_slurm_daemons
  down_one "slurm: munged" "$SLURM_MUNGE_PID_FILE" 10 munged_is_ours
}

slurm_nodes_line() {
  local n line=
  for n in "${HOST_NUMBERS[@]}"; do line+="h$n $(slurm_node_state "$n" || true), "; done
  echo "${line%, }"
}

# One line. A cluster never started is `missing` but leaves STATUS_OK alone
# unless SLURM_IN_ALL (scripts/services) says `up all` starts it.
# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_slurm() {
  local pid nodes
  if ! slurmctld_answers; then
    ((SLURM_IN_ALL)) && STATUS_OK=0
    if pid=$(slurmctld_pid); then
      printf '%-24s degraded (slurmctld pid %s NOT answering scontrol ping)\n' slurm "$pid"
    else
      printf '%-24s missing (no slurmctld answers on %s:%s)\n' slurm "$SLURM_CTLD_ADDR" "$SLURM_CTLD_PORT"
    fi
    return
  fi
  pid=$(slurmctld_pid) || pid='not ours'
  nodes=$(slurm_nodes_line)
  if grep -qvE '^h[0-9]+ (idle|mixed|allocated|completing)$' <<<"${nodes//, /$'\n'}"; then
    ((SLURM_IN_ALL)) && STATUS_OK=0
    printf '%-24s degraded (slurmctld pid %s on %s:%s; %s)\n' slurm "$pid" "$SLURM_CTLD_ADDR" "$SLURM_CTLD_PORT" "$nodes"
  else
    printf '%-24s running (slurmctld pid %s on %s:%s, cluster %s; %s)\n' slurm "$pid" "$SLURM_CTLD_ADDR" "$SLURM_CTLD_PORT" "$SLURM_CLUSTER" "$nodes"
  fi
}

# What a test evals to reach the cluster: h1's sshd is the login node.
env_slurm() {
  if ! slurmctld_answers || [[ $(timeout 10 sinfo -h -p "$SLURM_PARTITION" -o %a 2>/dev/null) != up ]]; then
    printf 'services: slurm is not up (no slurmctld answers on %s:%s, or partition %s is not up): scripts/services up slurm\n' \
      "$SLURM_CTLD_ADDR" "$SLURM_CTLD_PORT" "$SLURM_PARTITION" >&2
    return 3
  fi
  printf 'export %s=%q\n' \
    BENCHYARD_SLURM_LOGIN "$(host_addr 1)" \
    BENCHYARD_SLURM_USER root \
    BENCHYARD_SLURM_KEY "$HOSTS_CLIENT_KEY" \
    BENCHYARD_SLURM_KNOWN_HOSTS "$HOSTS_KNOWN_HOSTS" \
    BENCHYARD_SLURM_PARTITION "$SLURM_PARTITION" \
    BENCHYARD_SLURM_CLUSTER "$SLURM_CLUSTER" \
    BENCHYARD_SLURM_FOREIGN_USER "$SLURM_FOREIGN_USER"
}
