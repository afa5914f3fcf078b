# shellcheck shell=bash
# scripts/services.d/k8s.sh: `k8s`, a one-node Kubernetes v1.34.4 cluster on
# this machine (issue 19's test environment, `scripts/services up k8s`):
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
#     kubectl built once from the Go module proxy into $CACHE/k8s/bin through
#     a wrapper module ($CACHE/k8s/mod, k8s-conf.sh), and the fake-GPU device
#     plugin (k8s-fakegpu/, Go) in the same module;
#   - etcd (Debian's etcd-server 3.4.23), plain HTTP on 127.0.0.1:23790;
#   - the control plane on 127.0.0.1 with its own CA (openssl, EC keys,
#     $STATE/k8s/pki); apiserver on 127.0.0.1:6443, authorization Node,RBAC;
#   - our own containerd (Debian's 1.6.20 + runc 1.1.5; root $STATE/k8s/containerd,
#     socket /run/benchyard-k8s/containerd.sock), separate from the ones
#     docker and the test hosts run; CNI: Debian's containernetworking-plugins
#     bridge + host-local, pods in 10.251.1.0/24 on bridge byk8scni0;
#   - a kubelet (cgroupfs driver, cgroup v1, no systemd) registering node
#     benchyard-k8s-node at 10.251.0.1 (a port-less bridge byk8s0), untainted,
#     labelled as NVIDIA's GPU feature discovery would (K8S_NODE_LABELS);
#   - k8s-fakegpu: nvidia.com/gpu = 2 backed by /dev/k8s-fakegpu0,1 (char
#     120:0,1, see k8s-conf.sh), handed to pods by the kubelet's real
#     device-plugin path with NVIDIA_VISIBLE_DEVICES;
#   - examples/kubernetes-rbac.yaml applied (namespace benchyard, its
#     ServiceAccount, Role, node reader), namespace benchyard-foreign, and a
#     context benchyard-limited (that ServiceAccount's token) in the admin
#     kubeconfig $STATE/k8s/admin.kubeconfig (context benchyard-k8s).
# The pause image is built here from the kubernetes module's pause.c (static
# gcc) and imported into containerd. Benchmark images are pulled from the
# local registry (127.0.0.1:5000, plain HTTP, by tag or digest), or imported
# from the machine's docker (k8s_import_docker_image). Logs and pid files in
# $STATE/k8s/*.log|*.pid.
#
# Findings on the dev VM (2 cores, cgroup v1 hybrid, no systemd, kernel 6.18):
#   * a cold build (fresh machine: empty go module and build caches): the 5
#     binaries in one `go build` took 212 s (modules fetched from the proxy
#     included; 343 s once on a busier machine), leaving 3.1 GB of go build
#     cache and 0.6 GB of modules; the plugin ~1-16 s. CI should cache
#     $CACHE/k8s/bin (~410 MB), not the build cache: with it nothing is
#     compiled (binaries checked by version, the plugin by a sha256 of its
#     source).
#   * up with binaries cached, everything stopped: 3.5-8.4 s to a Ready node
#     with both GPUs (~5 s from an empty $STATE/k8s); a warm `up k8s` (all
#     running) 0.7-1.5 s; `kubectl run ... -- true` Succeeded ~2 s after the
#     create; down 17 s, up to ~40 s when clients hold watches (the apiserver
#     drains them before it exits).
#   * kubelet restarted: the plugin registers again within ~1 s, the node
#     shows nvidia.com/gpu 2 again ~3 s after the restart (status sync 2 s).
#   * root lacks CAP_SYS_RESOURCE, so no process may lower oom_score_adj:
#     runc failed every sandbox ("can't get final child's PID from pipe:
#     EOF"; with --debug: "failed to update /proc/self/oom_score_adj:
#     Permission denied") until containerd got restrict_oom_score_adj and
#     the kubelet oomScoreAdj: 0 (k8s-conf.sh).
#   * etcd 3.4.23 suits apiserver 1.34 (it only notes RequestWatchProgress
#     is unsupported); containerd 1.6 pulls from 127.0.0.1:5000 over HTTP.
#   * the kubelet's device-plugin socket is /var/lib/kubelet/device-plugins/
#     whatever --root-dir says, and it wipes that dir when it starts: the
#     plugin then registers again by itself.
#   * the apiserver has no --service-account-max-token-expiration, so the
#     limited context's token lasts the year asked for; up renews it when it
#     has under a week left or no longer authenticates.

# In start order; down stops them in reverse.
K8S_DAEMONS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet k8s-fakegpu)

k8s_bin() { case $1 in etcd) echo /usr/bin/etcd ;; containerd) echo /usr/bin/containerd ;; *) echo "$K8S_BIN/$1" ;; esac; }
# Ours: the process runs our binary and its command line names our state dir
# (docker's and the test hosts' containerd run the same /usr/bin/containerd);
# the plugin's binary is ours alone, and may have been rebuilt under it.
k8s_is_ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ ${exe% (deleted)} == "$(k8s_bin "$K8S_WHICH")" ]] && { [[ $K8S_WHICH == k8s-fakegpu ]] || cmdline_has "$1" "$K8S_STATE"; }
}
k8s_pid() { K8S_WHICH=$1 our_pid "$K8S_STATE/$1.pid" k8s_is_ours; }
kubectl_k8s() { timeout 30 "$K8S_BIN/kubectl" --kubeconfig "$K8S_ADMIN_KUBECONFIG" "$@"; }

build_k8s() {
  local t0=$EPOCHREALTIME b missing=() log=$K8S_STATE/build.log minor=${K8S_VERSION#*.}
  mkdir -p "$K8S_STATE" "$K8S_BIN"
  for b in "${K8S_BINARIES[@]}"; do
    # kubectl has `version --client` where the daemons have --version.
    [[ -x $K8S_BIN/$b && $("$K8S_BIN/$b" $([[ $b == kubectl ]] && echo version --client || echo --version) 2>/dev/null) == *"v$K8S_VERSION"* ]] ||
      missing+=("$b")
  done
  if ((${#missing[@]} == 0)); then
    log "k8s: binaries v$K8S_VERSION cached in $K8S_BIN (skipped build)"
    k8s_build_fakegpu
    return
  fi
  command -v go >/dev/null || die "k8s: go is needed to build ${missing[*]}"
  k8s_write_module
  log "k8s: building ${missing[*]} (one go build: they share the cache; 3.5-6 min on 2 cores when cold; log $log) ..."
  # One invocation, so the packages the commands share compile once.
  (cd "$K8S_CACHE/mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 timeout 3600 go build -trimpath -o "$K8S_BIN/" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*}" \
    "${missing[@]/#/k8s.io/kubernetes/cmd/}") >"$log" 2>&1 ||
    die "k8s: go build failed$(tail_of "$log")"
  log "k8s: built ${missing[*]} [$(since "$t0")]"
  k8s_build_fakegpu
}

# k8s_start NAME CMD...: start a daemon unless ours already runs.
k8s_start() {
  local name=$1 pid
  shift
  if pid=$(k8s_pid "$name"); then
    log "k8s: $name running (pid $pid)"
    return
  fi
  printf '\n=== %s scripts/services starts %s ===\n' "$(date -Is)" "$name" >>"$K8S_STATE/$name.log"
  (cd / && exec setsid nohup "$@" </dev/null >>"$K8S_STATE/$name.log" 2>&1 9>&-) &
  echo $! >"$K8S_STATE/$name.pid"
  K8S_STARTED+=" $name "
  log "k8s: started $name (pid $!, log $K8S_STATE/$name.log)"
}

# k8s_wait NAME SECONDS CHECK...: until CHECK succeeds; the log tail when not.
k8s_wait() {
  local name=$1 secs=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    k8s_pid "$name" >/dev/null || die "k8s: $name exited$(tail_of "$K8S_STATE/$name.log")"
    ((SECONDS < deadline)) || die "k8s: $name not ready after ${secs}s ($*)$(tail_of "$K8S_STATE/$name.log")"
    sleep 1
  done
}

k8s_net_up() {
  ip link show "$K8S_NODE_IF" >/dev/null 2>&1 || ip link add "$K8S_NODE_IF" type bridge
  ip link set "$K8S_NODE_IF" up
  ip -4 addr show dev "$K8S_NODE_IF" | grep -qF " $K8S_NODE_IP/" || ip addr add "$K8S_NODE_IP/32" dev "$K8S_NODE_IF"
}

# k8s_import_image TAR: into containerd's k8s.io namespace, where the CRI looks.
k8s_import_image() { timeout 300 ctr --address "$K8S_SOCK" -n k8s.io images import "$1"; }

# k8s_import_docker_image REF: a benchmark image from the machine's docker
# (docker.io/<repo>:<tag> in containerd; use imagePullPolicy Never/IfNotPresent).
k8s_import_docker_image() {
  docker save "$1" | timeout 300 ctr --address "$K8S_SOCK" -n k8s.io images import - >>"$K8S_STATE/images.log" 2>&1 ||
    die "k8s: importing $1 from docker failed$(tail_of "$K8S_STATE/images.log")"
}

# Tests run pods from benchyard/base (imagePullPolicy Never): imported once
# from docker when docker has it (`up images`), left out otherwise.
k8s_base_image() {
  local ref=${BASE_IMAGE:-benchyard/base:bookworm} t0=$EPOCHREALTIME
  [[ -n $(timeout 10 ctr --address "$K8S_SOCK" -n k8s.io images ls -q "name==docker.io/$ref" 2>/dev/null) ]] && return 0
  if timeout 15 docker image inspect "$ref" >/dev/null 2>&1; then
    k8s_import_docker_image "$ref"
    log "k8s: imported $ref from docker [$(since "$t0")]"
  else
    log "k8s: $ref is not in docker (scripts/services up images), so not in the node's containerd either"
  fi
}

up_k8s() {
  local t0=$EPOCHREALTIME p=$K8S_STATE/pki
  K8S_STARTED=''
  need_root
  command -v etcd >/dev/null && [[ -d /usr/lib/cni ]] ||
    apt_install_no_start "$STATE/apt-k8s.log" etcd-server etcd-client containerd runc containernetworking-plugins ||
    die "k8s: apt-get install failed$(tail_of "$STATE/apt-k8s.log")"
  build_k8s
  k8s_write_pki
  k8s_write_configs
  k8s_pause_image
  k8s_net_up

  k8s_start etcd etcd --name benchyard-k8s --data-dir "$K8S_STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((K8S_ETCD_PORT + 10))" \
    --initial-cluster "benchyard-k8s=http://127.0.0.1:$((K8S_ETCD_PORT + 10))"
  k8s_start containerd containerd --config "$K8S_STATE/containerd.toml"
  k8s_wait etcd 30 etcdctl --endpoints "http://127.0.0.1:$K8S_ETCD_PORT" endpoint health

  k8s_start kube-apiserver "$K8S_BIN/kube-apiserver" --bind-address=127.0.0.1 --secure-port="$K8S_API_PORT" \
    --advertise-address="$K8S_NODE_IP" --endpoint-reconciler-type=none \
    --etcd-servers="http://127.0.0.1:$K8S_ETCD_PORT" --service-cluster-ip-range="$K8S_SERVICE_CIDR" \
    --client-ca-file="$p/ca.crt" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$p/sa.pub" \
    --service-account-signing-key-file="$p/sa.key" --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction --allow-privileged=true --profiling=false
  k8s_wait containerd 30 ctr --address "$K8S_SOCK" version
  k8s_import_image "$K8S_CACHE/images/pause.tar" >>"$K8S_STATE/images.log" 2>&1 ||
    die "k8s: ctr import of the pause image failed$(tail_of "$K8S_STATE/images.log")"
  k8s_base_image
  k8s_wait kube-apiserver 120 kubectl_k8s get --raw /readyz

  local common=(--authentication-kubeconfig="$K8S_STATE/X.kubeconfig" --bind-address=127.0.0.1 --leader-elect=false)
  k8s_start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
    "${common[@]/X/controller-manager}" --authorization-kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
    --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key"
  k8s_start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
    "${common[@]/X/scheduler}" --authorization-kubeconfig="$K8S_STATE/scheduler.kubeconfig"
  k8s_start kubelet "$K8S_BIN/kubelet" --config="$K8S_STATE/kubelet.yaml" --kubeconfig="$K8S_STATE/kubelet.kubeconfig" \
    --hostname-override="$K8S_NODE" --node-ip="$K8S_NODE_IP" --root-dir="$K8S_STATE/kubelet" --cert-dir="$K8S_STATE/kubelet/pki"
  # healthz first: after a restart the node object is still Ready from before.
  k8s_wait kubelet 60 curl -sf http://127.0.0.1:10248/healthz
  k8s_fakegpu_devices
  if ((K8S_FAKEGPU_BUILT)) && k8s_pid k8s-fakegpu >/dev/null; then
    K8S_WHICH=k8s-fakegpu down_one "k8s k8s-fakegpu (rebuilt)" "$K8S_STATE/k8s-fakegpu.pid" 10 k8s_is_ours
  fi
  k8s_start k8s-fakegpu "$K8S_BIN/k8s-fakegpu" -resource nvidia.com/gpu "${K8S_FAKEGPUS[@]}"
  k8s_wait kubelet 120 kubectl_k8s wait --for=condition=Ready "node/$K8S_NODE" --timeout=5s
  k8s_node_up
  k8s_limited_up
  # A pod created before the service account controller made `default`
  # fails admission ("serviceaccount default not found").
  k8s_wait kube-controller-manager 60 kubectl_k8s -n default get serviceaccount default
  log "k8s: node $K8S_NODE Ready, nvidia.com/gpu: ${#K8S_FAKEGPUS[@]}; KUBECONFIG=$K8S_ADMIN_KUBECONFIG [$(since "$t0")]"
}

# The node as the tests expect it: labelled, and the plugin's GPUs allocatable
# (one kubectl call when it already is).
k8s_node_gpus() {
  kubectl_k8s get nodes -l "$(IFS=,; echo "${K8S_NODE_LABELS[*]}")" -o jsonpath='{.items[*].status.allocatable.nvidia\.com/gpu}'
}
k8s_node_up() {
  # A kubelet started just now may not have posted its status yet: the node
  # would still show the GPUs of the one before, registered or not.
  if [[ $K8S_STARTED == *" kubelet "* ]]; then k8s_wait k8s-fakegpu 60 k8s_plugin_registered; fi
  [[ $(k8s_node_gpus 2>/dev/null) == "${#K8S_FAKEGPUS[@]}" ]] && return 0
  kubectl_k8s label node "$K8S_NODE" --overwrite "${K8S_NODE_LABELS[@]}" >/dev/null
  k8s_wait k8s-fakegpu 60 k8s_gpus_allocatable
}
k8s_plugin_registered() {
  kubectl_k8s get --raw "/api/v1/nodes/$K8S_NODE/proxy/metrics" |
    grep '^kubelet_device_plugin_registration_total{resource_name="nvidia.com/gpu"} [1-9]' >/dev/null # not -q: SIGPIPE + pipefail
}
k8s_gpus_allocatable() { [[ $(k8s_node_gpus) == "${#K8S_FAKEGPUS[@]}" ]]; }

# k8s_token_days_left FILE: whole days until the JWT in FILE expires (-1 if unreadable).
k8s_token_days_left() {
  local payload exp
  payload=$(cut -d. -f2 "$1" 2>/dev/null | tr '_-' '/+') || payload=
  while ((${#payload} % 4)); do payload+='='; done
  exp=$(base64 -d <<<"$payload" 2>/dev/null | grep -o '"exp":[0-9]*' | cut -d: -f2) || exp=
  [[ -n $exp ]] && echo $(((exp - $(date +%s)) / 86400)) || echo -1
}

k8s_limited_ok() { [[ $(kubectl_k8s --context "$K8S_LIMITED_CONTEXT" auth can-i create pods -n benchyard 2>/dev/null) == yes ]]; }

# The RBAC example, a namespace for "someone else's" pods, and the limited
# context; the token is renewed when it expires within a week or is refused
# (new ServiceAccount, new signing key).
k8s_limited_up() {
  local sum stamp=$K8S_STATE/rbac.sha256 token=$K8S_STATE/limited.token
  sum=$(sha256sum <"$K8S_RBAC" | cut -d' ' -f1)
  if [[ $(cat "$stamp" 2>/dev/null) == "$sum" ]] && (($(k8s_token_days_left "$token") >= 7)) && k8s_limited_ok; then
    return 0
  fi
  { kubectl_k8s apply -f "$K8S_RBAC" &&
    kubectl_k8s create namespace benchyard-foreign --dry-run=client -o yaml | kubectl_k8s apply -f -; } >>"$K8S_STATE/rbac.log" 2>&1 ||
    die "k8s: applying $K8S_RBAC failed$(tail_of "$K8S_STATE/rbac.log")"
  echo "$sum" >"$stamp"
  if (($(k8s_token_days_left "$token") < 7)) || ! k8s_limited_ok; then
    kubectl_k8s -n benchyard create token benchyard --duration=8760h >"$token.new" 2>>"$K8S_STATE/rbac.log" ||
      die "k8s: kubectl create token failed$(tail_of "$K8S_STATE/rbac.log")"
    chmod 600 "$token.new"
    mv -f "$token.new" "$token"
    k8s_kubeconfig "$K8S_ADMIN_KUBECONFIG" admin
    k8s_limited_ok || die "k8s: context $K8S_LIMITED_CONTEXT may not create pods in benchyard with a new token (see $K8S_STATE/rbac.log)"
    log "k8s: context $K8S_LIMITED_CONTEXT: token for serviceaccount benchyard/benchyard, $(k8s_token_days_left "$token") days"
  fi
}

down_k8s() {
  local t0=$EPOCHREALTIME d i
  # Pods first, while the kubelet still runs: it stops their containers and
  # sandboxes (and CNI frees their addresses); containerd would not.
  if k8s_pid kubelet >/dev/null && k8s_pid kube-apiserver >/dev/null; then
    kubectl_k8s delete pods --all --all-namespaces --grace-period=1 --wait=true --timeout=60s >>"$K8S_STATE/down.log" 2>&1 ||
      log "k8s: deleting the pods failed (see $K8S_STATE/down.log)"
  fi
  # Whatever is left (pods of a kubelet that died): kill the tasks, so no
  # containerd-shim outlives our containerd.
  if k8s_pid containerd >/dev/null; then
    local t
    for t in $(timeout 10 ctr --address "$K8S_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      timeout 10 ctr --address "$K8S_SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
      timeout 10 ctr --address "$K8S_SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
  fi
  for ((i = ${#K8S_DAEMONS[@]} - 1; i >= 0; i--)); do
    d=${K8S_DAEMONS[i]}
    K8S_WHICH=$d down_one "k8s $d" "$K8S_STATE/$d.pid" 30 k8s_is_ours
  done
  # The kubelet bind-mounts its root dir onto itself (to make it rshared);
  # the mount outlives it.
  if mountpoint -q "$K8S_STATE/kubelet" && ! k8s_pid kubelet >/dev/null; then
    umount -R "$K8S_STATE/kubelet" || log "k8s: umount $K8S_STATE/kubelet failed"
  fi
  for d in "$K8S_NODE_IF" byk8scni0; do
    if ip link show "$d" >/dev/null 2>&1; then ip link del "$d"; fi
  done
  if ! k8s_pid k8s-fakegpu >/dev/null; then rm -f "${K8S_FAKEGPUS[@]}"; fi
  log "k8s: down [$(since "$t0")]"
}

env_k8s() {
  if [[ ! -r $K8S_ADMIN_KUBECONFIG ]] || ! kubectl_k8s get --raw /readyz >/dev/null 2>&1; then
    printf 'services: k8s is not up (no apiserver answers on 127.0.0.1:%s): scripts/services up k8s\n' "$K8S_API_PORT" >&2
    return 3
  fi
  printf 'export %s=%q\n' KUBECONFIG "$K8S_ADMIN_KUBECONFIG" BENCHYARD_K8S_CONTEXT "$K8S_CONTEXT" \
    BENCHYARD_K8S_LIMITED_CONTEXT "$K8S_LIMITED_CONTEXT"
}

# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_k8s() {
  local pid ready gpus
  if ! pid=$(k8s_pid kube-apiserver) || ! kubectl_k8s get --raw /readyz >/dev/null 2>&1; then
    ((K8S_IN_ALL)) && STATUS_OK=0
    printf '%-24s missing (no apiserver answers on 127.0.0.1:%s)\n' k8s "$K8S_API_PORT"
    return
  fi
  ready=$(kubectl_k8s get node "$K8S_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) || ready=
  gpus=$(kubectl_k8s get node "$K8S_NODE" -o jsonpath='{.status.allocatable.nvidia\.com/gpu}' 2>/dev/null) || gpus=
  if [[ $ready == True && $gpus == "${#K8S_FAKEGPUS[@]}" ]] && k8s_pid kubelet >/dev/null; then
    printf '%-24s running (apiserver pid %s on 127.0.0.1:%s; node %s Ready, nvidia.com/gpu %s)\n' k8s "$pid" "$K8S_API_PORT" "$K8S_NODE" "$gpus"
  else
    ((K8S_IN_ALL)) && STATUS_OK=0
    printf '%-24s degraded (apiserver pid %s; node %s Ready=%s, nvidia.com/gpu %s)\n' k8s "$pid" "$K8S_NODE" "${ready:-?}" "${gpus:-0}"
  fi
}
