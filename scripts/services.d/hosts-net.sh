# shellcheck shell=bash
# scripts/services.d/hosts-net.sh: part of `hosts` (hosts.sh): each test
# host's network namespace and veth pair, and the iptables guard that keeps
# 10.250.0.0/16 traffic on this machine.
#
# Finding: with byhN down the kernel drops the route to 10.250.N.0/24 and
# traffic for 10.250.N.2 would go to the default gateway: the mangle DROP
# rules (hosts_guard_rules) make a cut hang instead, as a real one does. h1
# and h2 do not reach each other (the main engine's FORWARD policy is DROP),
# nor anything outside; nobody needs that.

# The test hosts' addresses must never be looked for anywhere else: with byhN
# down (a simulated cut) the kernel drops the 10.250.N.0/24 route and would
# send their traffic to the default gateway. These rules (mangle table, which
# dockerd leaves alone) drop it instead, so connections hang as in a real cut;
# and the hosts cannot open connections to anything but the other test hosts
# (replies still pass: containers of the main engine can reach the hosts).
# `down hosts` leaves them in place (harmless, and still guarding).
hosts_guard_rules() {
  printf '%s\n' "OUTPUT -d $HOSTS_NET ! -o byh+ -j DROP" \
    "FORWARD -d $HOSTS_NET ! -o byh+ -j DROP" \
    "FORWARD -i byh+ ! -o byh+ -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP"
}

hosts_guard_ok() {
  local rule
  while read -r rule; do
    # shellcheck disable=SC2086  # a rule is several words
    iptables -w -t mangle -C $rule 2>/dev/null || return 1
  done < <(hosts_guard_rules)
}

hosts_guard_up() {
  local chain rest out
  while read -r chain rest; do
    # shellcheck disable=SC2086
    iptables -w -t mangle -C "$chain" $rest 2>/dev/null && continue
    # shellcheck disable=SC2086
    out=$(iptables -w -t mangle -I "$chain" 1 $rest 2>&1) ||
      die "hosts: iptables -t mangle -I $chain $rest failed (needed so the test hosts' traffic never leaves by the default route): $out"
    log "hosts: added iptables guard: -t mangle $chain $rest"
  done < <(hosts_guard_rules)
}

# The namespace, the veth pair, addresses and routes; repairs half states
# (namespace file left unmounted, a veth whose peer sits elsewhere) and a cut
# link.
host_net_up() {
  local n=$1 ns nsf veth gw addr created=0
  ns=$(host_ns "$n")
  nsf=$(host_ns_file "$n")
  veth=$(host_veth "$n")
  gw=$(host_gw "$n")
  addr=$(host_addr "$n")
  if ! nsenter --net="$nsf" true 2>/dev/null; then
    if [[ -e $nsf ]]; then
      ip netns delete "$ns" 2>/dev/null || rm -f "$nsf"
    fi
    ip netns add "$ns" || die "hosts: h$n: ip netns add $ns failed"
    log "hosts: h$n: created network namespace $ns"
  fi
  if ! ip link show "$veth" >/dev/null 2>&1 || ! in_host "$n" ip link show eth0 >/dev/null 2>&1; then
    ip link del "$veth" 2>/dev/null || true
    in_host "$n" ip link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns" ||
      die "hosts: h$n: ip link add $veth type veth peer name eth0 netns $ns failed"
    log "hosts: h$n: created veth $veth <-> $ns:eth0"
    created=1
  fi
  ip addr replace "$gw/24" dev "$veth" || die "hosts: h$n: cannot set $gw/24 on $veth"
  if ! ip link show "$veth" | head -n 1 | grep -q '[<,]UP[,>]'; then
    ip link set "$veth" up || die "hosts: h$n: ip link set $veth up failed"
    ((created)) || log "hosts: h$n: $veth was down (network cut?); brought it up"
  fi
  in_host "$n" ip addr replace "$addr/24" dev eth0 || die "hosts: h$n: cannot set $addr/24 on $ns:eth0"
  in_host "$n" ip link set lo up
  in_host "$n" ip link set eth0 up
  in_host "$n" ip route replace default via "$gw" dev eth0 || die "hosts: h$n: cannot add the default route in $ns"
}
