#!/usr/bin/env bash
# `aftershock doctor` names every section and every item with yes/no and a
# reason, exits 0, leaves nothing behind (its throw-away namespaces, links,
# cgroup and nftables table), and its answers agree with this machine.
set -u
. "$(dirname "$0")/lib/skip.sh"
bin=${ASH_BUILD_DIR:-build}/aftershock
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "doctor.sh: $*"; cat "$out"; exit 1; }

"$bin" doctor >"$out" 2>&1 || fail "exit status $? (want 0)"
for s in privileges namespaces cgroups qdiscs nftables seccomp psi containers; do
    grep -qx "\[$s\]" "$out" || fail "section [$s] missing"
done
for item in root CAP_SYS_ADMIN "network namespace" "named namespace" bridge "veth pair" "cgroup mode" "memory controller" \
    "cpu controller" "cgroup.freeze (v2)" "cgroup.kill (v2)" "freezer (v1)" "qdisc tbf" "qdisc htb" \
    "qdisc netem" nftables "seccomp user notification" "PSI (pressure stall info)" "container engine"; do
    grep -Eq "^  $(printf '%s' "$item" | sed 's/[].[()]/\\&/g') +(yes|no) +[^ ]" "$out" || fail "no yes/no line with a reason for '$item'"
done
# Every item line says yes or no and why.
bad=$(grep -Ev '^\[|^$|^  .{28} (yes|no )  .+' "$out") && fail "malformed lines: $bad"
"$bin" doctor extra >/dev/null 2>&1
[ $? -eq 2 ] || fail "'doctor extra' should be a usage error (2)"

# Answers that must agree with the machine when we are root here.
if [ "$(id -u)" = 0 ]; then
    grep -Eq '^  root +yes' "$out" || fail "root not reported"
    grep -Eq '^  network namespace +yes' "$out" || fail "network namespaces should work as root"
    grep -Eq '^  named namespace +yes' "$out" || fail "named network namespaces should work as root"
    ls /run/netns 2>/dev/null | grep -q '^ash-doctor' && fail "doctor left a named namespace behind"
    # The kernel's own answer, in a namespace of this test's that goes with the
    # command (a netem built in has no module file, and a blacklisted one has one).
    if ! command -v tc >/dev/null || ! command -v unshare >/dev/null; then
        ash_skip_part "no tc or unshare here to ask the kernel, so doctor's netem answer is not checked"
    elif unshare -n tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
        grep -Eq '^  qdisc netem +yes' "$out" || fail "sch_netem exists but doctor says no"
    else
        grep -Eq '^  qdisc netem +no  .*netem' "$out" || fail "sch_netem is absent but doctor does not say so"
    fi
    ip link show 2>/dev/null | grep -q 'ash-doctor' && fail "doctor left links behind"
    nft list tables 2>/dev/null | grep -q 'ash-doctor' && fail "doctor left an nftables table behind"
    ls -d /sys/fs/cgroup/ash-doctor-* /sys/fs/cgroup/unified/ash-doctor-* 2>/dev/null | grep -q . &&
        fail "doctor left a cgroup behind"
fi
cat "$out"
exit 0
