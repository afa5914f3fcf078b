# shellcheck shell=bash
# scripts/services.d/images.sh: `images`, built on this machine's engine
# (`up images` starts dockerd first):
#   benchyard/base:bookworm  a debootstrap minbase rootfs, `docker import`ed;
#                            the rootfs tarball is cached in $CACHE
#   benchyard/<name>:<version>  one per images/<name>/Dockerfile (version from
#                            its `# benchyard-image-version: N` line, default
#                            1), labelled with the Dockerfile's sha256 and
#                            rebuilt when that changes; an optional
#                            `# benchyard-smoke-test: CMD` line runs after a
#                            build; `# benchyard-services: skip` leaves it out.
# Build logs in $STATE/build-<name>.log. Nothing to stop: no `down images`.
#
# Finding on the dev VM: Debian bookworm ships no docker-buildx, and CLI 28
# refuses DOCKER_BUILDKIT=1 without buildx; builds use the legacy builder
# (DOCKER_BUILDKIT=0) unless `docker buildx version` works.

SUITE=bookworm
BASE_IMAGE=benchyard/base:$SUITE
BASE_TARBALL=$CACHE/rootfs-$SUITE-minbase.tar
IMAGE_PREFIX=benchyard
SHA_LABEL=benchyard.dockerfile-sha

# ------------------------------------------------------------ base image --

# The Debian mirror this machine's apt uses for suite $1 (first match in
# /etc/apt/sources.list and sources.list.d/*.list|*.sources, which are the
# only files apt reads). Prints nothing when not found.
apt_mirror_for() {
  local suite=$1 f
  local files=()
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  ((${#files[@]})) || return 0
  awk -v suite="$suite" '
    function flush() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ")) {
        split(uris, u, /[ \t]+/); if (u[1] != "" && !found) { print u[1]; found = 1 }
      }
      types = ""; uris = ""; suites = ""; enabled = ""
    }
    FNR == 1 { flush() }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($0 ~ /^#/) next
      line = $0; key = tolower(line); sub(/:.*/, "", key); sub(/^[^:]*:[ \t]*/, "", line)
      if (key == "types") types = line
      else if (key == "uris") uris = line
      else if (key == "suites") suites = line
      else if (key == "enabled") enabled = tolower(line)
      next
    }
    $1 == "deb" && !found {
      i = 2
      if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == suite) { print $i; found = 1 }
    }
    END { flush() }
  ' "${files[@]}"
}

build_base_tarball() {
  local t0=$EPOCHREALTIME mirror security tmp
  mirror=$(apt_mirror_for "$SUITE")
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(apt_mirror_for "$SUITE-security")
  if ! command -v debootstrap >/dev/null 2>&1; then
    mkdir -p "$STATE"
    apt_install "$STATE/apt-debootstrap.log" debootstrap ||
      die "base image: apt-get install debootstrap failed$(tail_of "$STATE/apt-debootstrap.log")"
  fi

  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.rootfs.XXXXXX")
  # shellcheck disable=SC2064  # expand $tmp now
  trap "rm -rf '$tmp'" EXIT
  log "base image: debootstrap --variant=minbase $SUITE from $mirror (log $STATE/debootstrap.log) ..."
  if ! debootstrap --variant=minbase "$SUITE" "$tmp/rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1; then
    die "base image: debootstrap failed$(tail_of "$STATE/debootstrap.log")"
  fi
  local r=$tmp/rootfs
  # Same suites as the host uses, so `apt-get update` works in image builds.
  {
    echo "deb $mirror $SUITE main"
    echo "deb $mirror $SUITE-updates main"
    [[ -n $security ]] && echo "deb $security $SUITE-security main"
  } >"$r/etc/apt/sources.list"
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin \
    "$r"/var/lib/apt/lists/* "$r"/var/log/bootstrap.log
  mkdir -p "$r/var/lib/apt/lists/partial"
  # Docker bind-mounts these at run time; don't bake the host's copies in.
  : >"$r/etc/resolv.conf"
  : >"$r/etc/hostname"
  tar --numeric-owner -C "$r" -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$BASE_TARBALL"
  rm -rf "$tmp"
  trap - EXIT
  log "base image: rootfs tarball cached: $BASE_TARBALL ($(du -m "$BASE_TARBALL" | cut -f1) MB) [$(since "$t0")]"
}

up_base_image() {
  local t0=$EPOCHREALTIME
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image: $BASE_IMAGE present (skipped) [$(since "$t0")]"
    return
  fi
  if [[ -s $BASE_TARBALL ]]; then
    log "base image: using cached rootfs $BASE_TARBALL (skipped debootstrap)"
  else
    build_base_tarball
  fi
  docker import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL benchyard.base-suite=$SUITE" \
    --message "benchyard base: debootstrap --variant=minbase $SUITE" \
    "$BASE_TARBALL" "$BASE_IMAGE" >/dev/null ||
    die "base image: docker import $BASE_TARBALL failed"
  log "base image: $BASE_IMAGE imported [$(since "$t0")]"
}

# ------------------------------------------------------ benchmark images --

docker_build() {
  if docker buildx version >/dev/null 2>&1; then
    DOCKER_BUILDKIT=1 docker build "$@"
  else
    DOCKER_BUILDKIT=0 docker build "$@"
  fi
}

dockerfile_version() {
  local v
  v=$(sed -n 's/^#[[:space:]]*benchyard-image-version:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$1" | head -n 1)
  echo "${v:-1}"
}

dockerfile_smoke_test() {
  sed -n 's/^#[[:space:]]*benchyard-smoke-test:[[:space:]]*//p' "$1" | head -n 1
}

up_bench_images() {
  local df dir name version sha tag current t0 blog smoke found=0
  for df in "$REPO_ROOT"/images/*/Dockerfile; do
    [[ -f $df ]] || continue
    grep -q '^# benchyard-services: skip' "$df" && continue
    found=1
    t0=$EPOCHREALTIME
    dir=$(dirname "$df")
    name=$(basename "$dir")
    [[ $name =~ ^[a-z0-9]+([._-][a-z0-9]+)*$ ]] ||
      die "images: directory name '$name' is not a valid docker image name"
    version=$(dockerfile_version "$df")
    sha=$(sha256sum "$df" | cut -d' ' -f1)
    tag=$IMAGE_PREFIX/$name:$version
    current=$(docker image inspect --format "{{ index .Config.Labels \"$SHA_LABEL\" }}" "$tag" 2>/dev/null || true)
    if [[ $current == "$sha" ]]; then
      log "image $tag: up to date (skipped) [$(since "$t0")]"
      continue
    fi
    if [[ -n $current ]]; then
      log "image $tag: Dockerfile changed, rebuilding (log $STATE/build-$name.log) ..."
    else
      log "image $tag: building (log $STATE/build-$name.log) ..."
    fi
    blog=$STATE/build-$name.log
    docker_build --label "$SHA_LABEL=$sha" --label "benchyard.image-version=$version" \
      -t "$tag" -f "$df" "$dir" >"$blog" 2>&1 ||
      die "image $tag: docker build failed$(tail_of "$blog" 40)"
    smoke=$(dockerfile_smoke_test "$df")
    if [[ -n $smoke ]]; then
      docker run --rm "$tag" /bin/sh -c "$smoke" >"$STATE/smoke-$name.log" 2>&1 ||
        die "image $tag: smoke test failed: $smoke$(tail_of "$STATE/smoke-$name.log")"
    fi
    log "image $tag: built${smoke:+ and smoke-tested} [$(since "$t0")]"
  done
  ((found)) || log "images: no images/*/Dockerfile found (nothing to build)"
}

up_images() {
  up_base_image
  up_bench_images
}

# status_images DOCKER_UP: one line for the base image and one per benchmark
# image (missing, stale or present); "unknown" while dockerd does not answer.
# shellcheck disable=SC2034  # STATUS_OK is read by cmd_status (scripts/services)
status_images() {
  local docker_up=$1 df name version sha tag current
  if ((!docker_up)); then
    STATUS_OK=0
    printf '%-24s unknown (docker not running)\n' "$BASE_IMAGE"
  elif docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    printf '%-24s present\n' "$BASE_IMAGE"
  else
    STATUS_OK=0
    printf '%-24s missing\n' "$BASE_IMAGE"
  fi

  for df in "$REPO_ROOT"/images/*/Dockerfile; do
    [[ -f $df ]] || continue
    grep -q '^# benchyard-services: skip' "$df" && continue
    name=$(basename "$(dirname "$df")")
    version=$(dockerfile_version "$df")
    tag=$IMAGE_PREFIX/$name:$version
    if ((!docker_up)); then
      STATUS_OK=0
      printf '%-24s unknown (docker not running)\n' "$tag"
      continue
    fi
    sha=$(sha256sum "$df" | cut -d' ' -f1)
    current=$(docker image inspect --format "{{ index .Config.Labels \"$SHA_LABEL\" }}" "$tag" 2>/dev/null || echo __missing__)
    if [[ $current == "$sha" ]]; then
      printf '%-24s present\n' "$tag"
    elif [[ $current == __missing__ ]]; then
      STATUS_OK=0
      printf '%-24s missing\n' "$tag"
    else
      STATUS_OK=0
      printf '%-24s stale (Dockerfile changed since the build)\n' "$tag"
    fi
  done
}
