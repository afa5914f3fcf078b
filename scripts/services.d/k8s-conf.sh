# shellcheck shell=bash
# scripts/services.d/k8s-conf.sh: the files the `k8s` cluster (k8s.sh) runs
# with: the binaries' build module, certificates and kubeconfigs, the
# kubelet, containerd and CNI configs, and the pause image. Everything is
# written once and kept (write_if_changed), so a second `up` changes nothing.
# Findings: see the header of k8s.sh.

K8S_VERSION=1.34.4
K8S_PAUSE_REF=registry.k8s.io/pause:3.10.1 # kubelet 1.34's default sandbox image
K8S_CACHE=$CACHE/k8s                       # mod/ (wrapper module), bin/, images/
K8S_STATE=$STATE/k8s                       # pki/, etcd/, containerd/, kubelet/, cni/, logs, pids
K8S_RUN=/run/benchyard-k8s                 # containerd's state and socket
K8S_BIN=$K8S_CACHE/bin
K8S_NODE=benchyard-k8s-node
# The kubelet refuses a loopback node IP, so the node gets its own address on
# a port-less bridge (this kernel has no dummy interfaces; cf. slurm's byh0),
# outside 10.250.0.0/16, which the test hosts' iptables guard owns.
K8S_NODE_IF=byk8s0
K8S_NODE_IP=10.251.0.1
K8S_POD_CIDR=10.251.1.0/24
K8S_SERVICE_CIDR=10.96.0.0/24
K8S_API_PORT=${BENCHYARD_K8S_API_PORT:-6443}
K8S_ETCD_PORT=23790 # not 2379/2380: leave etcd's defaults to anyone else's etcd
K8S_SOCK=$K8S_RUN/containerd.sock
K8S_ADMIN_KUBECONFIG=$K8S_STATE/admin.kubeconfig
K8S_CONTEXT=benchyard-k8s
# A second context in the admin kubeconfig: the ServiceAccount benchyard/benchyard
# with only examples/kubernetes-rbac.yaml's rights (token in $K8S_STATE/limited.token).
K8S_LIMITED_CONTEXT=benchyard-limited
K8S_RBAC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)/examples/kubernetes-rbac.yaml
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
# The fake-GPU device plugin: Go source in the repo, built in the wrapper module.
K8S_FAKEGPU_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/k8s-fakegpu
# Fake GPUs: character devices 120:0 and 120:1. Majors 60-63, 120-127 and
# 240-254 are reserved for local/experimental use (Documentation/admin-guide/
# devices.txt) and the kernel hands out dynamic majors from 254 down to 234,
# so 120 can belong to no driver here: opening one fails with ENXIO, as it
# should. (Slurm's fake GPUs use NVIDIA's real major 195.)
K8S_FAKEGPU_MAJOR=120
K8S_FAKEGPUS=(/dev/k8s-fakegpu0 /dev/k8s-fakegpu1)
# What NVIDIA's GPU feature discovery would label the node with (memory in MiB).
K8S_NODE_LABELS=(nvidia.com/gpu.product=Fake-GPU-80GB nvidia.com/gpu.count=${#K8S_FAKEGPUS[@]}
  nvidia.com/gpu.memory=81920 benchyard.io/test-node=true)

# The wrapper module: k8s.io/kubernetes' go.mod replaces its 31 staging
# modules with ./staging/src/... paths, which mean nothing outside its own
# tree (and replace directives of dependencies are ignored anyway), so each
# is replaced here with its published v0.x.y.
k8s_write_module() {
  local mod=$K8S_CACHE/mod kmod staging
  mkdir -p "$mod"
  if [[ ! -f $mod/go.mod ]]; then
    (cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" >"$K8S_STATE/go-download.json") ||
      die "k8s: go mod download k8s.io/kubernetes@v$K8S_VERSION failed$(tail_of "$K8S_STATE/go-download.json")"
    kmod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod
    staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$kmod")
    {
      printf 'module benchyard.dev/k8sbins\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
      for m in $staging; do printf '\t%s => %s v0.%s\n' "$m" "$m" "${K8S_VERSION#1.}"; done
      printf ')\n'
    } >"$mod/go.mod"
  fi
  # A file that imports the commands, so `go mod tidy` keeps the requirements.
  printf '//go:build tools\n\npackage tools\n\nimport (\n%s)\n' \
    "$(for b in "${K8S_BINARIES[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done)" |
    write_if_changed "$mod/tools.go" 644 || true
}

# k8s_build_fakegpu: the device plugin, rebuilt when its source changed (a
# sha256 of the .go files next to the binary): copied into the wrapper
# module, whose go.sum already pins grpc and k8s.io/kubelet (~16 s with a
# warm go build cache). Sets K8S_FAKEGPU_BUILT=1 when it built.
k8s_build_fakegpu() {
  local t0=$EPOCHREALTIME out=$K8S_BIN/k8s-fakegpu sum log=$K8S_STATE/build-fakegpu.log
  K8S_FAKEGPU_BUILT=0
  sum=$(cat "$K8S_FAKEGPU_SRC"/*.go | sha256sum | cut -d' ' -f1)
  [[ -x $out && $(cat "$out.sha256" 2>/dev/null) == "$sum" ]] && return 0
  command -v go >/dev/null || die "k8s: go is needed to build the fake-GPU device plugin"
  k8s_write_module
  rm -rf "$K8S_CACHE/mod/fakegpu"
  mkdir -p "$K8S_CACHE/mod/fakegpu"
  cp "$K8S_FAKEGPU_SRC"/*.go "$K8S_CACHE/mod/fakegpu/"
  # -o to a new file, then mv: a running plugin keeps its (deleted) binary.
  (cd "$K8S_CACHE/mod" && GOFLAGS=-mod=mod CGO_ENABLED=0 timeout 1800 go build -trimpath -ldflags "-s -w" \
    -o "$out.new" ./fakegpu) >"$log" 2>&1 || die "k8s: go build of the fake-GPU device plugin failed$(tail_of "$log")"
  mv -f "$out.new" "$out"
  echo "$sum" >"$out.sha256"
  K8S_FAKEGPU_BUILT=1
  log "k8s: built the fake-GPU device plugin $out [$(since "$t0")]"
}

# k8s_fakegpu_devices: the device nodes, recreated if something else sits there.
k8s_fakegpu_devices() {
  local i dev
  for i in "${!K8S_FAKEGPUS[@]}"; do
    dev=${K8S_FAKEGPUS[i]}
    if [[ ! -c $dev || $(stat -c '%t:%T' "$dev") != "$(printf '%x:%x' "$K8S_FAKEGPU_MAJOR" "$i")" ]]; then
      rm -f "$dev"
      mknod -m 666 "$dev" c "$K8S_FAKEGPU_MAJOR" "$i" || die "k8s: mknod $dev c $K8S_FAKEGPU_MAJOR $i failed"
    fi
  done
}

# k8s_cert NAME CN O EKU [SAN]: an EC key and a certificate signed by our CA.
k8s_cert() {
  local name=$1 cn=$2 o=$3 eku=$4 san=${5:-} p=$K8S_STATE/pki
  [[ -s $p/$name.crt ]] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$p/$name.key" \
    -subj "/CN=$cn${o:+/O=$o}" -out "$p/$name.csr" 2>/dev/null
  openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial -days 3650 \
    -out "$p/$name.crt" -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s' \
      "$eku" "${san:+subjectAltName=$san}") 2>/dev/null
  rm -f "$p/$name.csr"
}

# k8s_kubeconfig FILE CERT_NAME: a kubeconfig for 127.0.0.1 with the certs
# embedded; the admin's also has the limited context once its token exists.
k8s_kubeconfig() {
  local file=$1 name=$2 p=$K8S_STATE/pki limited_user='' limited_ctx=''
  if [[ $name == admin && -s $K8S_STATE/limited.token ]]; then
    limited_user=$(printf -- '- name: %s\n  user:\n    token: %s' "$K8S_LIMITED_CONTEXT" "$(<"$K8S_STATE/limited.token")")
    limited_ctx=$(printf -- '- name: %s\n  context: { cluster: %s, user: %s, namespace: benchyard }' \
      "$K8S_LIMITED_CONTEXT" "$K8S_CONTEXT" "$K8S_LIMITED_CONTEXT")
  fi
  write_if_changed "$file" 600 <<EOF || true
apiVersion: v1
kind: Config
clusters:
- name: $K8S_CONTEXT
  cluster:
    server: https://127.0.0.1:$K8S_API_PORT
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$p/$name.crt")
    client-key-data: $(base64 -w0 "$p/$name.key")
$limited_user
contexts:
- name: $K8S_CONTEXT
  context: { cluster: $K8S_CONTEXT, user: $name }
$limited_ctx
current-context: $K8S_CONTEXT
EOF
}

k8s_write_pki() {
  local p=$K8S_STATE/pki
  mkdir -p "$p" && chmod 700 "$p"
  if [[ ! -s $p/ca.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$p/ca.key" -out "$p/ca.crt" \
      -days 3650 -subj /CN=benchyard-k8s-ca -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature 2>/dev/null
  fi
  k8s_cert apiserver kube-apiserver "" serverAuth \
    "IP:127.0.0.1,IP:$K8S_NODE_IP,IP:${K8S_SERVICE_CIDR%.0/*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  k8s_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  k8s_cert admin benchyard-admin system:masters clientAuth
  k8s_cert controller-manager system:kube-controller-manager "" clientAuth
  k8s_cert scheduler system:kube-scheduler "" clientAuth
  k8s_cert kubelet "system:node:$K8S_NODE" system:nodes clientAuth
  if [[ ! -s $p/sa.key ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out "$p/sa.key"
    openssl ec -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  fi
  k8s_kubeconfig "$K8S_ADMIN_KUBECONFIG" admin
  local c
  for c in controller-manager scheduler kubelet; do k8s_kubeconfig "$K8S_STATE/$c.kubeconfig" "$c"; done
}

k8s_write_configs() {
  mkdir -p "$K8S_STATE/cni/net.d" "$K8S_STATE/kubelet" "$K8S_RUN"
  write_if_changed "$K8S_STATE/containerd.toml" 644 <<EOF || true
version = 2
root = "$K8S_STATE/containerd"
state = "$K8S_RUN/containerd"
[grpc]
  address = "$K8S_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_PAUSE_REF"
  # Root here lacks CAP_SYS_RESOURCE, so nobody may lower an oom_score_adj:
  # runc's "failed to update /proc/self/oom_score_adj: Permission denied"
  # for the kubelet's -998 (sandboxes) and -997 (Guaranteed pods). Clamp
  # them to containerd's own value (0), as for rootless containerd.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
EOF
  # No portmap/iptables: nothing here needs hostPorts, and ipMasq stays off
  # so the bridge touches no NAT rule of docker's or the test hosts'.
  write_if_changed "$K8S_STATE/cni/net.d/10-benchyard.conflist" 644 <<EOF || true
{"cniVersion": "1.0.0", "name": "benchyard-k8s", "plugins": [
  {"type": "bridge", "bridge": "byk8scni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$K8S_STATE/cni/ipam",
            "ranges": [[{"subnet": "$K8S_POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}}]}
EOF
  write_if_changed "$K8S_STATE/kubelet.yaml" 644 <<EOF || true
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $K8S_NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
oomScoreAdj: 0 # not -999: see restrict_oom_score_adj above
containerRuntimeEndpoint: unix://$K8S_SOCK
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $K8S_STATE/pki/ca.crt }
authorization: { mode: Webhook }
resolvConf: /etc/resolv.conf
podLogsDir: $K8S_STATE/pod-logs
# The dev disk is shared and often half full: don't let the kubelet taint the
# node for disk pressure or collect the imported (unpullable) images.
evictionHard: { memory.available: 100Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2% }
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
# Not 10 s: a restarted kubelet shows nvidia.com/gpu 0 until the plugin has
# registered again AND the next status sync (it posts only what changed).
nodeStatusUpdateFrequency: 2s
EOF
}

# k8s_oci_tar OUT REF ROOTFS ENTRYPOINT USER: a one-layer OCI image archive
# that `ctr images import` names REF (io.containerd.image.name).
k8s_oci_tar() {
  local out=$1 ref=$2 rootfs=$3 entry=$4 user=$5 d ldig lsize cdig csize mdig msize
  d=$(mktemp -d)
  mkdir -p "$d/blobs/sha256"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name -cf "$d/layer" .
  ldig=$(sha256sum "$d/layer" | cut -d' ' -f1) lsize=$(stat -c %s "$d/layer")
  mv "$d/layer" "$d/blobs/sha256/$ldig"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["%s"],"User":"%s"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$entry" "$user" "$ldig" >"$d/c"
  cdig=$(sha256sum "$d/c" | cut -d' ' -f1) csize=$(stat -c %s "$d/c")
  mv "$d/c" "$d/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$d/m"
  mdig=$(sha256sum "$d/m" | cut -d' ' -f1) msize=$(stat -c %s "$d/m")
  mv "$d/m" "$d/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msize" "$ref" "${ref##*:}" >"$d/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
  tar -C "$d" -cf "$out" oci-layout index.json blobs
  rm -rf "$d"
}

# The pause image, built here (nothing can be pulled): pause.c from the
# kubernetes module, static, as its build/pause/Makefile does.
k8s_pause_image() {
  local out=$K8S_CACHE/images/pause.tar src d
  [[ -s $out ]] && return 0
  src=$(go env GOMODCACHE)/k8s.io/kubernetes@v$K8S_VERSION/build/pause/linux/pause.c
  [[ -f $src ]] || die "k8s: $src missing (go mod download k8s.io/kubernetes@v$K8S_VERSION first)"
  mkdir -p "$K8S_CACHE/images"
  d=$(mktemp -d)
  gcc -Os -Wall -Werror -static -DVERSION="v${K8S_PAUSE_REF##*:}-benchyard" -o "$d/pause" "$src" ||
    die "k8s: gcc -static pause.c failed"
  strip "$d/pause"
  k8s_oci_tar "$out" "$K8S_PAUSE_REF" "$d" /pause 65535:65535
  rm -rf "$d"
}
