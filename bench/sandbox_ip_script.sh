#!/usr/bin/env bash
# The obvious alternative to aftershock's netlink sandbox, for bench_sandbox:
# the same hosts built with `ip` commands (netns, veth into it, bridge port,
# addresses, loopback, default route), the same cgroup directories and
# generated hosts files, then torn down with `ip netns del` + `ip link del`.
# Usage: sandbox_ip_script.sh up|down RUN N   (RUN: short id, N hosts)
set -eu
op=$1 run=$2 n=$3
br="ash-$run"
cg=/sys/fs/cgroup
if [ "$op" = up ]; then
  ip link add "$br" type bridge
  ip addr add 10.254.250.1/24 dev "$br"
  ip link set "$br" up
  mkdir -p "$cg/unified/$br" "$cg/memory/$br"
  files=/run/aftershock/ipbench-$run
  mkdir -p "$files"
  for i in $(seq 0 $((n - 1))); do
    ns="ash-$run-h$i" v="ash${run}v$i" a="10.254.250.$((i + 2))"
    ip netns add "$ns"
    ip link add "$v" type veth peer name eth0 netns "$ns"
    ip link set "$v" master "$br" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$a/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via 10.254.250.1
    mkdir -p "$cg/unified/$br/h$i" "$cg/memory/$br/h$i" "$files/h$i/etc"
    printf '127.0.0.1 localhost\n%s h%s\n' "$a" "$i" > "$files/h$i/etc/hosts"
    printf 'nameserver 10.254.250.1\n' > "$files/h$i/etc/resolv.conf"
  done
else
  for i in $(seq 0 $((n - 1))); do
    ip netns del "ash-$run-h$i"
    rmdir "$cg/unified/$br/h$i" "$cg/memory/$br/h$i"
  done
  rmdir "$cg/unified/$br" "$cg/memory/$br"
  rm -rf "/run/aftershock/ipbench-$run"
  # wait for the namespaces' veths to go, as the netlink path does
  while ip -o link show | grep -q "ash${run}v"; do sleep 0.002; done
  ip link del "$br"
fi
