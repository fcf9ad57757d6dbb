#!/usr/bin/env bash
# A control for scripts/check-leftovers.sh (issue 21): plant each kind of
# leftover it claims to find, one at a time, and check it is reported (the
# line naming it, and exit 1); remove exactly what was planted and check it is
# no longer reported; and a scanner without ip, tc or nft exits 2, not "no
# leftovers". Everything planted is named ash-st<pid> ("st" is not hex: no run
# id, which is 6 hex digits, names an object so), lives only a few seconds and
# is removed by pid or name on exit. Not planted: a pending journal in
# /run/aftershock (a real `aftershock recover` on this machine would replay
# it). ASH_LEFTOVERS_SCANNER runs another scanner (to show this test failing
# against a broken one).
set -u
B=${ASH_BUILD_DIR:?}
S=${ASH_SOURCE_DIR:?}
. "$S/tests/integration/lib/skip.sh"
SCAN=${ASH_LEFTOVERS_SCANNER:-$S/scripts/check-leftovers.sh}
[ "$(id -u)" = 0 ] || ash_skip_all "needs root (links, namespaces, tables, cgroups)"
tag=ash-st$$
fail=0 pids=() T=$(mktemp -d /tmp/ash-lst-XXXXXX)
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip link del "$tag" 2>/dev/null
  ip link del "${tag}g" 2>/dev/null
  ip netns del "$tag" 2>/dev/null
  ip netns del "lst$$" 2>/dev/null
  nft delete table inet "$tag" 2>/dev/null
  rmdir "/sys/fs/cgroup/$tag" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

scan() { out=$(bash "$SCAN" 2>&1); st=$?; }
# NAME EXPECTED-LINE-REGEX: after the planting command ran
expect() {
  pat=$2
  scan
  check "$1: reported (exit $st)" '[ $st = 1 ] && echo "$out" | grep -Eq "^leftover: $pat"'
  [ "$fail" = 0 ] || echo "$out" | sed 's/^/    /'
}
gone() { # NAME REGEX: after removing it
  pat=$2
  scan
  check "$1: no longer reported once removed" '! echo "$out" | grep -Eq "^leftover: $pat"'
}

ip link add "$tag" type bridge
expect "an ash- link" "link $tag\$"
tc qdisc add dev "$tag" root tbf rate 1mbit burst 10k latency 10ms
expect "a qdisc on an ash link" "qdisc tbf [0-9a-f]+: on $tag\$"
ip link del "$tag"
gone "the link and its qdisc" "(link|qdisc .*) $tag\$"

ip netns add "$tag"
expect "a network namespace" "network namespace $tag\$"
ip netns exec "$tag" tc qdisc add dev lo root tbf rate 1mbit burst 10k latency 10ms
expect "a qdisc inside an ash namespace" "qdisc tbf [0-9a-f]+: on lo in network namespace $tag\$"
ip netns del "$tag"
gone "the namespace" "network namespace $tag\$"

# A sandbox's hub left behind (src/env/sandbox.c): a named namespace holding
# the bridge and its ports, joined to this one by a veth (the gateway link).
ip netns add "$tag"
ip link add "${tag}g" type veth peer name "${tag}u" netns "$tag"
ip -n "$tag" link add "$tag" type bridge
ip -n "$tag" link set "${tag}u" master "$tag"
expect "a sandbox's hub namespace" "network namespace $tag\$"
expect "the bridge in the hub" "link $tag in network namespace $tag\$"
expect "a port of the hub's bridge" "link ${tag}u in network namespace $tag\$"
expect "the hub's gateway link here" "link ${tag}g\$"
ip link del "${tag}g"
ip netns del "$tag"
gone "the hub and its links" "(network namespace $tag|link ${tag}[gu]?( in network namespace $tag)?)\$"

# A link in another named namespace (a fleet node's, not ash-named itself).
ip netns add "lst$$"
ip -n "lst$$" link add "$tag" type bridge
expect "an ash link in another named namespace" "link $tag in network namespace lst$$\$"
ip netns del "lst$$"
gone "the node's link" "link $tag in network namespace lst$$\$"

# A namespace named in another mount namespace only (a swarm task's /run/netns).
mkdir -p /run/netns
unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run/netns && : >"/run/netns/$1" && exec sleep 60' sh "$tag" &
mp=$!; pids+=("$mp")
for _ in $(seq 50); do [ -e "/proc/$mp/root/run/netns/$tag" ] && break; sleep 0.1; done
expect "a namespace named in another mount namespace" "network namespace $tag in the mount namespace of pid $mp "
kill -KILL "$mp"; wait "$mp" 2>/dev/null
gone "the other mount namespace's name" "network namespace $tag in the mount namespace of pid $mp "

nft add table inet "$tag"
expect "an nftables table" "nftables table $tag\$"
nft delete table inet "$tag"
gone "the table" "nftables table $tag\$"

# A namespace with no name (a container's): a table and a qdisc on its eth0 inside it.
unshare -n sleep 60 &
np=$!; pids+=("$np")
waitns() { local i; for i in $(seq 50); do [ "$(stat -L -c %i /proc/$np/ns/net 2>/dev/null)" != "$(stat -L -c %i /proc/self/ns/net)" ] && return 0; sleep 0.1; done; return 1; }
if waitns && nsenter -t "$np" -n nft add table inet "$tag" && nsenter -t "$np" -n ip link add eth0 type veth peer name eth1 &&
  nsenter -t "$np" -n tc qdisc add dev eth0 root tbf rate 1mbit burst 32k latency 50ms &&
  nsenter -t "$np" -n ip link add "$tag" type bridge; then
  expect "a table in a container's namespace" "nftables table $tag in the network namespace of pid $np "
  expect "an ash link in a container's namespace" "link $tag in the network namespace of pid $np "
  expect "a qdisc on a container's eth0" "qdisc tbf [0-9a-f]+: on eth0 in the network namespace of pid $np "
  kill -KILL "$np"; wait "$np" 2>/dev/null
  gone "the container's namespace" "(nftables table $tag|qdisc tbf .*|link $tag) in the network namespace of pid $np "
else
  check "a table, a qdisc and a link can be planted in an unnamed namespace" false
  kill -KILL "$np"; wait "$np" 2>/dev/null
fi

if mkdir "/sys/fs/cgroup/$tag"; then
  expect "a cgroup" "cgroup /sys/fs/cgroup/$tag\$"
  rmdir "/sys/fs/cgroup/$tag"
  gone "the cgroup" "cgroup /sys/fs/cgroup/$tag\$"
else
  check "a cgroup can be planted in /sys/fs/cgroup" false
fi

sleep 60 &
p=$!; pids+=("$p")
kill -STOP "$p"
expect "a stopped process" "stopped process $p "
kill -KILL "$p"; wait "$p" 2>/dev/null
gone "the stopped process" "stopped process $p "

# A test daemon whose directory is gone (the podman leak this check was added for).
gone_dir=/tmp/ash-st$$-gone
# One process whose command line names the path, as a daemon's socket argument does.
python3 -c 'import time; time.sleep(60)' "$gone_dir/sock" &
p=$!; pids+=("$p")
sleep 0.2
expect "a test's process whose directory is gone" "process $p \\(python3\\) of a test whose directory $gone_dir is gone"
kill -KILL "$p"; wait "$p" 2>/dev/null
gone "the test's process" "process $p "

env ASH_RUN_ID=st$$ sleep 60 &
p=$!; pids+=("$p")
expect "a process carrying a run id" "process $p \\(sleep\\) of aftershock run st$$\$"
kill -KILL "$p"; wait "$p" 2>/dev/null
gone "the run's process" "process $p "

: >"$T/hold"
"$B/tests/ash_seccomp_hold" >"$T/hold" &
p=$!; pids+=("$p")
for _ in $(seq 50); do grep -q '^held ' "$T/hold" && break; sleep 0.1; done
held=$(sed -n 's/^held //p' "$T/hold")
check "ash_seccomp_hold started a held child (${held:-none})" '[ -n "$held" ]'
if [ -n "$held" ]; then
  pids+=("$held")
  expect "a process blocked in a seccomp notification" \
    "process $held \\(ash_seccomp_hol\\) blocked in a seccomp user notification \\(listener held by: .*$p \\(ash_seccomp_hol"
fi
kill -KILL "$p"; wait "$p" 2>/dev/null
sleep 0.2
gone "the blocked process" "process ${held:-none} "

# Without ip, tc or nft the scanner cannot look: exit 2 and the reason.
for missing in ip tc nft; do
  rm -rf "$T/bin"; mkdir "$T/bin"
  for c in bash ls grep awk cut find ps cat sort paste sed sleep tr head ip tc nft; do
    [ "$c" = "$missing" ] || ln -s "$(command -v "$c")" "$T/bin/$c"
  done
  out=$(PATH=$T/bin bash "$SCAN" 2>&1); st=$?
  check "without $missing: exit 2 naming it (exit $st: $(echo "$out" | tail -1))" \
    '[ $st = 2 ] && echo "$out" | grep -q "$missing is not installed"'
done

ash_exit "$fail"
