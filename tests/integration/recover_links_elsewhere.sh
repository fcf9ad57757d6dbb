#!/usr/bin/env bash
# `aftershock recover` in another network namespace than the one a run's links
# (bridge, veths, VXLAN overlay) and guard table were made in: the links are not there, so it
# says it found nothing to remove for those records (not "removed"), marks them
# done (exit 0), and -v still prints each raw record. In the links' own
# namespace it removes them and says so. The same for the hub shape
# (sandbox.hub: a named hub namespace and its gateway link), whose name is in
# the mount namespace: recover in another one says it found neither. A
# network fault's qdisc record from the run's own namespace (netns "" and its
# inode): recover elsewhere refuses and keeps it, a same-named link's qdisc
# there untouched. All namespaces are the test's own.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/journal.sh"
DEAD_START=$(ash_dead_start)
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
[ "$(id -u)" = 0 ] || ash_skip_all "needs root (network namespaces and links)"
command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 || ash_skip_all "needs ip and tc (iproute2) to make the links"
id=$(printf '%04x%04x' $((RANDOM)) $$ | cut -c1-8)
LINKS=ash-rle$id-links # where the run's links are
OTHER=ash-rle$id-other # where recover runs first
HUB=ash-rle$id-hub     # a sandbox.hub record's hub namespace
T=$(mktemp -d /tmp/ash-rle-XXXXXX)
fail=0
cleanup() {
  ip netns del "$LINKS" 2>/dev/null # its links go with it
  ip netns del "$OTHER" 2>/dev/null
  ip netns del "$HUB" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
recover_in() { # namespace name [recover options]: recover there, into $T/name.out (printed); its exit status in st
  local ns=$1 out=$T/$2.out
  shift 2
  ip netns exec "$ns" "$ASH" recover "$@" --state-dir "$T/state" >"$out" 2>&1
  st=$?
  cat "$out"
}
ip netns add "$LINKS" && ip netns add "$OTHER" || ash_skip_all "cannot make network namespaces (ip netns add)"

bridge=ash-$id prefix=ash${id}v vx=ashx$id
ip -n "$LINKS" link add "$bridge" type bridge || ash_skip_all "cannot make a bridge"
ip -n "$LINKS" link add "${prefix}0" type veth peer name eth0 || ash_skip_all "cannot make a veth pair"
ip -n "$LINKS" link set "${prefix}0" master "$bridge"
fw=1
ip netns exec "$LINKS" nft add table inet "$bridge" 2>/dev/null ||
  { fw=0; ash_skip "the guard table part: cannot make an nftables table (nft)"; }
vxlan=1
ip -n "$LINKS" link add "$vx" type vxlan id 42 dstport 4789 dev "$bridge" 2>/dev/null ||
  { vxlan=0; ash_skip "the VXLAN part: this kernel cannot make a vxlan link"; }

mkdir -m 0700 "$T/state"
journal() { # run records...: a dead run's journal (its pid 1 with another start time), one record a line
  local run=$1
  shift
  { printf '{"journal":1,"run":"%s","pid":1,"pid_start":%s}\n' "$run" "$DEAD_START"; printf '%s\n' "$@"; } >"$T/state/$run.journal"
  chmod 0600 "$T/state/$run.journal"
}
plant() { # the sandbox's link record, and the overlay's and guard table's when there are some
  local r=("$(printf '{"id":1,"op":"sandbox.link","data":{"bridge":"%s","veth_prefix":"%s"}}' "$bridge" "$prefix")")
  [ "$vxlan" = 1 ] && r+=("$(printf '{"id":2,"op":"sandbox.overlay","data":{"link":"%s"}}' "$vx")")
  [ "$fw" = 1 ] && r+=("$(printf '{"id":3,"op":"sandbox.fw","data":{"table":"%s"}}' "$bridge")")
  journal "rle$id" "${r[@]}"
}
here() { ip -n "$LINKS" link show "$1" >/dev/null 2>&1; }
table_here() { ip netns exec "$LINKS" nft list table inet "$bridge" >/dev/null 2>&1; }

# -- recover in the other namespace: nothing there, and it says so
plant
recover_in "$OTHER" other -v
check "recover elsewhere exits 0 (a missing link is not an error) (exit $st)" '[ $st = 0 ]'
check "  says it found no bridge nor veth there" \
  'grep -qF "  nothing to undo for sandbox.link on this network namespace: no bridge $bridge nor veth $prefix* is here" "$T/other.out"'
check "  and does not claim to have removed them" '! grep -q "removed bridge\|removed the fleet overlay" "$T/other.out"'
if [ "$vxlan" = 1 ]; then
  check "  says it found no overlay link there" \
    'grep -qF "  nothing to undo for sandbox.overlay on this network namespace: no link $vx is here" "$T/other.out"'
fi
if [ "$fw" = 1 ]; then
  check "  says it found no guard table there" \
    'grep -qF "  nothing to undo for sandbox.fw on this network namespace: no nftables table inet $bridge is here" "$T/other.out"'
  check "  does not claim to have removed it, and it is still there" \
    '! grep -q "removed the sandbox.s nftables table" "$T/other.out" && table_here'
fi
check "  -v prints the raw record under its line" \
  'grep -qF "    undone sandbox.link {\"bridge\":\"$bridge\",\"veth_prefix\":\"$prefix\"" "$T/other.out"'
check "  marks the records done (no journal left)" '[ -z "$(ls -A "$T/state")" ]'
check "  and the links are still in their own namespace" 'here "$bridge" && here "${prefix}0"'

# -- recover in the links' namespace: removed, and said so
plant
recover_in "$LINKS" links
check "recover in the links' namespace exits 0 (exit $st)" '[ $st = 0 ]'
check "  says it removed the bridge and its veths" \
  'grep -qF "  removed bridge $bridge and its veths ($prefix*)" "$T/links.out" && ! grep -q "nothing to undo" "$T/links.out"'
check "  and they are gone" '! here "$bridge" && ! here "${prefix}0"'
if [ "$vxlan" = 1 ]; then
  check "  says it removed the overlay link, which is gone" \
    'grep -qF "  removed the fleet overlay link $vx" "$T/links.out" && ! here "$vx"'
fi
if [ "$fw" = 1 ]; then
  check "  says it removed the guard table, which is gone" \
    'grep -qF "  removed the sandbox'"'"'s nftables table $bridge" "$T/links.out" && ! table_here'
fi
check "  no journal left" '[ -z "$(ls -A "$T/state")" ]'

# -- the hub shape: sandbox.hub names a hub namespace (in /run/netns, so in the
# mount namespace) and its gateway link (in the run's network namespace).
gw=ash${id}g
hub_here() { [ -e "/run/netns/$HUB" ]; }
if ! ip netns add "$HUB" || ! ip -n "$LINKS" link add "$gw" type veth peer name up netns "$HUB"; then
  ash_skip "the sandbox.hub part: cannot make a named namespace with a veth into it"
elif ! ip netns exec "$OTHER" unshare -m --propagation private true 2>/dev/null; then
  ash_skip "the sandbox.hub part: cannot make a mount namespace (unshare -m)"
else
  plant_hub() {
    journal "rlh$id" "$(printf '{"id":1,"op":"sandbox.hub","data":{"hub":"%s","link":"%s","bridge":"%s"}}' \
      "$HUB" "$gw" "$bridge")"
  }
  # Another network namespace and another mount namespace (an empty /run/netns):
  # neither the hub's name nor the link is there.
  plant_hub
  ip netns exec "$OTHER" unshare -m --propagation private sh -c \
    'mount -t tmpfs ash-rle /run/netns && exec "$0" recover -v --state-dir "$1"' "$ASH" "$T/state" >"$T/hub-other.out" 2>&1
  st=$?
  cat "$T/hub-other.out"
  check "sandbox.hub, recover elsewhere: exits 0 (exit $st)" '[ $st = 0 ]'
  check "  says it found no hub namespace nor gateway link there" \
    'grep -qF "  nothing to undo for sandbox.hub on this network namespace: no hub namespace $HUB nor link $gw is here" "$T/hub-other.out"'
  check "  does not claim to have removed them, and both are still there" \
    '! grep -q "removed gateway link" "$T/hub-other.out" && hub_here && here "$gw"'
  check "  marks the record done (no journal left)" '[ -z "$(ls -A "$T/state")" ]'
  # The run's network namespace, this mount namespace: both removed, and said so.
  plant_hub
  recover_in "$LINKS" hub-links
  check "sandbox.hub, recover in the run's namespace: exits 0 (exit $st)" '[ $st = 0 ]'
  check "  says it removed the gateway link and the hub namespace" \
    'grep -qF "  removed gateway link $gw and hub network namespace $HUB" "$T/hub-links.out" && ! grep -q "nothing to undo" "$T/hub-links.out"'
  check "  and both are gone" '! hub_here && ! here "$gw"'
  check "  no journal left" '[ -z "$(ls -A "$T/state")" ]'
fi

# -- a network fault's record made in the run's own namespace (netns "" with its
# inode): a link of the same name in another namespace is not the run's. recover
# there touches nothing, says why, fails and keeps the record; in the run's
# namespace it removes the qdisc.
dl=ash${id}d
tbf() { tc -n "$1" qdisc add dev "$dl" root tbf rate 1mbit burst 32kbit latency 50ms 2>/dev/null; }
tbf_in() { tc -n "$1" qdisc show dev "$dl" 2>/dev/null | grep -q '^qdisc tbf'; }
if ! ip -n "$LINKS" link add "$dl" type veth peer name "${dl}p" 2>/dev/null ||
  ! ip -n "$OTHER" link add "$dl" type veth peer name "${dl}p" 2>/dev/null; then
  ash_skip "the network.qdisc part: cannot make a veth pair"
elif ! tbf "$LINKS" || ! tbf "$OTHER"; then
  ash_skip "the network.qdisc part: cannot add a tbf qdisc"
else
  ino=$(stat -L -c %i "/run/netns/$LINKS")
  plant_qdisc() {
    journal "rlq$id" "$(printf '{"id":1,"op":"network.qdisc","data":{"ifname":"%s","netns":"","netns_ino":%s}}' "$dl" "$ino")"
  }
  plant_qdisc
  recover_in "$OTHER" q-other
  check "network.qdisc, recover in another namespace: fails (exit $st)" '[ $st != 0 ]'
  check "  says the record is the run's namespace's and nothing was touched here" \
    'grep -qF "made in the network namespace the run was in (inode $ino), but recover runs in another" "$T/q-other.out" &&
     grep -qF "nothing touched here" "$T/q-other.out"'
  check "  the same-named link's qdisc there is still there" 'tbf_in "$OTHER"'
  check "  the record is kept" '[ -n "$(ls -A "$T/state")" ]'
  recover_in "$LINKS" q-links
  check "network.qdisc, recover in the run's namespace: exits 0 (exit $st)" '[ $st = 0 ]'
  check "  says it removed the qdisc" 'grep -qF "removed the qdisc on $dl in" "$T/q-links.out"'
  check "  it is gone there and still in the other namespace" '! tbf_in "$LINKS" && tbf_in "$OTHER"'
  check "  no journal left" '[ -z "$(ls -A "$T/state")" ]'
  # The interface gone from the run's namespace: its qdisc went with it, and recover
  # says it found nothing rather than "removed".
  plant_qdisc
  ip -n "$LINKS" link del "$dl"
  recover_in "$LINKS" q-gone
  check "network.qdisc, interface gone: exits 0 and says there was nothing to undo (exit $st)" \
    '[ $st = 0 ] && grep -qF "no such interface here any more" "$T/q-gone.out" && ! grep -q "removed the qdisc" "$T/q-gone.out"'
fi

ash_exit "$fail"
