# shellcheck shell=bash
# scripts/services.d/moto.sh: `moto`, the AWS API emulator moto[server] 5.2.5
# (PyPI, venv in $CACHE/moto-venv) on 127.0.0.1:${BENCHYARD_MOTO_PORT:-5055};
# state lives in memory (POST /moto-api/reset clears it). Pid file and log in
# $STATE (moto.pid, moto.log).
#
# Findings for `moto` (5.2.5, checked with curl and @aws-sdk/client-ec2):
#   * Endpoint http://127.0.0.1:5055/ for every service: moto picks the
#     service and region from the SigV4 Authorization header's credential
#     scope (no header: S3) and checks no signature; any access key/secret
#     works, account 123456789012. The SDK needs explicit dummy credentials
#     (else its default chain looks for instance metadata) and a region;
#     each region has its own state. GET /moto-api/ is an HTML dashboard;
#     POST /moto-api/reset clears all state.
#   * AMIs: ~1300 known by default (us-east-1: 1301), e.g. ami-12c6146b
#     (Windows Server 2008 R2), ami-1e749f67 / ami-785db401 (Ubuntu 14.04 /
#     16.04), ami-9b32e8e2 (Ubuntu CUDA9 DLAMI), ami-999844e0 /
#     ami-dca37ea5 (Deep Learning AMI), ami-04681a1dbd79675a5 (amzn2),
#     ami-03c3da4cfa8e8943a (al2023); the older ids exist in every region.
#     RunInstances accepts unknown AMI ids unless MOTO_ENABLE_AMI_VALIDATION
#     is set, unknown instance types (even "zz9.huge") unless
#     MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION is, and unknown KeyNames
#     unless MOTO_ENABLE_KEYPAIR_VALIDATION is; this script sets none.
#   * DescribeInstanceTypes knows 1395 types, 65 with GpuInfo (g4dn.*, g5.*,
#     g5g.*, g6.*, g6e.*, g6f.*, g7*, gr6*, p3dn.24xlarge, p4d/p4de, p5*,
#     p6*): g4dn.xlarge = 4 vCPU, 16384 MiB, GpuInfo {Gpus: [{Name: T4,
#     Manufacturer: NVIDIA, Count: 1, MemoryInfo.SizeInMiB: 16384}],
#     TotalGpuMemoryInMiB: 16384}. p3.2xlarge is NOT known:
#     InvalidInstanceType "The following supplied instance types do not
#     exist: [p3.2xlarge]" (RunInstances still accepts it, without GPU info).
#   * RunInstances returns State pending; the next DescribeInstances says
#     running; TerminateInstances answers shutting-down, then terminated (the
#     instance stays listed until a reset). TagSpecifications (instance)
#     tags come back on RunInstances and DescribeInstances and work in
#     tag:KEY filters; UserData and InstanceInitiatedShutdownBehavior are
#     stored and returned by DescribeInstanceAttribute (moto runs nothing).
#     Unknown instance ids: InvalidInstanceID.NotFound.
#   * Without a SubnetId an instance gets a random private IP in 10.0.0.0/8
#     and a public one in 54.214.0.0/16: made up, never connect to them.
#   * pip install moto[server] takes ~1 min and ~320 MB (it pulls every
#     service's dependencies); moto_server starts in ~1-3 s.

MOTO_VERSION=5.2.5
MOTO_VENV=$CACHE/moto-venv
MOTO_PORT=${BENCHYARD_MOTO_PORT:-5055}
MOTO_URL=http://127.0.0.1:$MOTO_PORT
MOTO_PID_FILE=$STATE/moto.pid
MOTO_LOG=$STATE/moto.log
# moto routes a request to a service by the SigV4 credential scope in the
# Authorization header (no header: S3). It checks no signature.
MOTO_EC2_AUTH='Authorization: AWS4-HMAC-SHA256 Credential=benchyard/20000101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0'

moto_is_ours() { cmdline_has "$1" "$MOTO_VENV/bin/moto_server"; }
moto_pid() { our_pid "$MOTO_PID_FILE" moto_is_ours; }

moto_answers() {
  curl -sS -m 5 -X POST -H "$MOTO_EC2_AUTH" --data 'Action=DescribeRegions&Version=2016-11-15' \
    "$MOTO_URL/" 2>/dev/null | grep -q '<DescribeRegionsResponse'
}

moto_installed() {
  [[ -x $MOTO_VENV/bin/moto_server ]] &&
    "$MOTO_VENV/bin/python" -c "import sys, moto, moto.server; sys.exit(moto.__version__ != '$MOTO_VERSION')" >/dev/null 2>&1
}

install_moto() {
  local t0=$EPOCHREALTIME python plog=$STATE/pip-moto.log
  # Debian's own python3 rather than whatever python3 comes first on PATH.
  if [[ -x /usr/bin/python3 ]]; then python=/usr/bin/python3; else python=$(command -v python3) || die "moto: no python3"; fi
  log "moto: creating $MOTO_VENV, pip install moto[server]==$MOTO_VERSION (log $plog) ..."
  rm -rf "$MOTO_VENV"
  mkdir -p "$CACHE"
  if ! "$python" -m venv "$MOTO_VENV" >"$plog" 2>&1; then
    # Debian splits venv/ensurepip off into python3-venv.
    rm -rf "$MOTO_VENV"
    apt_install "$STATE/apt-python3-venv.log" python3-venv ||
      die "moto: apt-get install python3-venv failed$(tail_of "$STATE/apt-python3-venv.log")"
    "$python" -m venv "$MOTO_VENV" >>"$plog" 2>&1 || {
      rm -rf "$MOTO_VENV"
      die "moto: $python -m venv $MOTO_VENV failed$(tail_of "$plog")"
    }
  fi
  if ! "$MOTO_VENV/bin/pip" install --no-input "moto[server]==$MOTO_VERSION" >>"$plog" 2>&1; then
    rm -rf "$MOTO_VENV"
    die "moto: pip install moto[server]==$MOTO_VERSION failed$(tail_of "$plog")"
  fi
  if ! moto_installed; then
    rm -rf "$MOTO_VENV"
    die "moto: installed, but moto $MOTO_VERSION does not import$(tail_of "$plog")"
  fi
  log "moto: installed into $MOTO_VENV [$(since "$t0")]"
}

up_moto() {
  local t0=$EPOCHREALTIME pid deadline
  if moto_answers; then
    log "moto: ready on $MOTO_URL (skipped: already answering) [$(since "$t0")]"
    return
  fi
  if pid=$(moto_pid); then
    log "moto: pid $pid (ours) is running but not answering yet; waiting"
  else
    rm -f "$MOTO_PID_FILE"
    port_in_use "$MOTO_PORT" &&
      die "moto: 127.0.0.1:$MOTO_PORT is in use by something that does not answer EC2 calls (set BENCHYARD_MOTO_PORT)"
    moto_installed || install_moto
    log "moto: starting moto_server on $MOTO_URL (log $MOTO_LOG)"
    printf '\n=== %s scripts/services starts moto_server ===\n' "$(date -Is)" >>"$MOTO_LOG"
    (cd / && exec setsid nohup "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" \
      </dev/null >>"$MOTO_LOG" 2>&1 9>&-) &
    pid=$!
    echo "$pid" >"$MOTO_PID_FILE"
  fi
  deadline=$((SECONDS + 60))
  until moto_answers; do
    if ! pid_alive "$pid"; then
      rm -f "$MOTO_PID_FILE"
      die "moto: moto_server (pid $pid) exited during startup$(tail_of "$MOTO_LOG")"
    fi
    ((SECONDS < deadline)) || die "moto: moto_server (pid $pid) did not answer EC2 DescribeRegions on $MOTO_URL within 60 s$(tail_of "$MOTO_LOG")"
    sleep 0.2
  done
  log "moto: ready on $MOTO_URL (pid $pid) [$(since "$t0")]"
}

down_moto() { down_one moto "$MOTO_PID_FILE" 15 moto_is_ours; }

# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_moto() {
  local pid who
  if moto_answers; then
    if pid=$(moto_pid); then who="pid $pid, started by scripts/services"; else who="not started by scripts/services"; fi
    printf '%-24s running (%s, %s)\n' moto "$MOTO_URL" "$who"
  else
    STATUS_OK=0
    printf '%-24s missing (no EC2 API answers on %s)\n' moto "$MOTO_URL"
  fi
}
