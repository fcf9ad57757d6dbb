#!/usr/bin/env bash
# A control for lib/machine.sh's "forwarding" (ash_forward_drops), which two
# tests ask only to explain traffic through this namespace's forward hook
# failing (targets_container_net's containers on one bridge, test_sandbox_fw's
# routed control): each firewall shape it claims to see is made in a network
# namespace of this test's own (unshare -n: the machine's firewall is never
# touched), and it must name it; shapes that forward must not be reported.
set -u
S=${ASH_SOURCE_DIR:?}
. "$S/tests/integration/lib/skip.sh"
[ "$(id -u)" = 0 ] || ash_skip_all "needs root (a network namespace and its firewall)"
command -v unshare >/dev/null && command -v nft >/dev/null || ash_skip_all "needs unshare and nft"
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
# in_ns SETUP: run SETUP in a fresh network namespace, then ask; prints
# "rc=N why" on one line ("rc=setup-failed" when SETUP did).
in_ns() {
  unshare -n bash -c "{ $1
} || { echo rc=setup-failed; exit; }
. '$S/tests/integration/lib/machine.sh'
why=\$(machine_lacks forwarding); echo \"rc=\$? \$why\""
}
out=$(in_ns ':')
check "a namespace without a firewall forwards (got: $out)" '[ "${out%% *}" = rc=1 ]'
out=$(in_ns 'nft add table ip tf && nft add chain ip tf forw "{ type filter hook forward priority 0; policy drop; }"')
check "an nftables forward chain with policy drop is named (got: $out)" \
  '[ "${out%% *}" = rc=0 ] && [[ $out == *"table ip tf, chain forw: hook forward, policy drop"* ]]'
out=$(in_ns 'nft add table ip6 tf && nft add chain ip6 tf forw "{ type filter hook forward priority 0; policy drop; }"')
check "an ip6 forward chain with policy drop is not reported: no IPv4 passes it (got: $out)" '[ "${out%% *}" = rc=1 ]'
out=$(in_ns 'nft add table bridge tf && nft add chain bridge tf forw "{ type filter hook forward priority 0; policy drop; }"')
check "a bridge forward chain with policy drop is named (got: $out)" \
  '[ "${out%% *}" = rc=0 ] && [[ $out == *"table bridge tf, chain forw"* ]]'
out=$(in_ns 'nft add table inet tf && nft add chain inet tf forw "{ type filter hook forward priority 0; policy accept; }" &&
  nft add chain inet tf in "{ type filter hook input priority 0; policy drop; }"')
check "policy accept on forward (drop on input) is not reported (got: $out)" '[ "${out%% *}" = rc=1 ]'
# iptables-legacy loads ip_tables and iptable_filter into the kernel for any
# namespace: asked only where both are loaded already, or where the kernel has
# no modules at all (no /proc/modules: built in), so nothing is left behind.
legacy_ok() {
  [ ! -e /proc/modules ] || { grep -q "^ip_tables " /proc/modules && grep -q "^iptable_filter " /proc/modules; }
}
if command -v iptables-legacy >/dev/null && legacy_ok; then
  out=$(in_ns 'iptables-legacy -P FORWARD DROP')
  check "iptables-legacy's FORWARD policy DROP is named (got: $out)" \
    '[ "${out%% *}" = rc=0 ] && [[ $out == *"iptables-legacy: FORWARD policy DROP"* ]]'
  out=$(in_ns 'iptables-legacy -P FORWARD ACCEPT')
  check "iptables-legacy's FORWARD policy ACCEPT is not reported (got: $out)" '[ "${out%% *}" = rc=1 ]'
else
  ash_skip_part "no iptables-legacy, or its modules not loaded here (loading them would outlive the test): its FORWARD policy is not checked"
fi
ash_exit "$fail"
