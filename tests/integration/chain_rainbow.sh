#!/usr/bin/env bash
# The Rainbow replay (003_950be08496ca8dfd.txt) tells its chain, read from the
# report: the congestion on the module's link (not the backend itself: its
# probe stays green) takes the core module down; the coinciding cause (no
# defence: the module stops serving) keeps it down after the congestion is
# relieved, until the restoration's restart; recovery is measured from the
# revert of a fault that lasted until remediated. The variants are the
# contingency plan's items: with added backend capacity users see no outage,
# with fortified defences the module is back when the congestion is relieved.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
FEATURES=("${ASH_SANDBOX_FEATURES[@]}" "qdisc tbf" nftables relay)
. "$(dirname "$0")/lib/report_chain.sh"
S=${ASH_SOURCE_DIR:?}

chain_replay "$S"/scenarios/rainbow-network-congestion{,-capacity,-defences}.yaml
rep=$(chain_report rainbow-network-congestion)
chain_check "$rep" '
relieved = event_at("fault-reverted", "dc-congestion (remediation)")
restart = event_at("remediation-done", "restore-core-module")
check(relieved is not None and restart is not None and relieved < restart, "the congestion is relieved (a remediation reverts it), then the module restarted")
core = probe("core-health")
check(any(not ok for t, ok in core if 0 <= t < 2000), "the congestion takes the core module down")
check(all(ok for t, ok in probe("backend1-health") if t >= 0), "the backend itself stays up: the harm is the link")
held = [ok for t, ok in core if relieved + 150 <= t <= restart]
check(held and not any(held), "the module stays down after the congestion is relieved, until the restart (%d samples)" % len(held))
check(any(ok for t, ok in core if t > restart), "it serves again after the restart")
rtr = run["revert_to_recover_ms"]
check(rtr is not None and rtr >= restart - relieved, "revert-to-recover counts the wait for the restart (%s ms)" % rtr)
check(r["incident"]["ttd_basis"] == "unknown" and r["incident"]["ttr_basis"] == "assumed", "the incident TTD reads unknown, its TTR assumed")
'
grep -q "wedged after" "$(dirname "$rep")/logs/core.log" 2>/dev/null &&
  echo "ok   the core module stopped serving (wedged) during the congestion" ||
  { echo "FAIL the core module never wedged"; chain_fail=1; }

cap=$(chain_report rainbow-network-congestion-capacity)
chain_check "$cap" '
check(all(ok for t, ok in probe("core-health") if t >= 0), "more backends: the core module never fails")
check(run["ttd_ms"] is None, "more backends: nothing to detect")
'
n=$(grep -c "peer backend1.*failed" "$(dirname "$cap")/logs/core.log" 2>/dev/null)
if [ "${n:-0}" -ge 3 ]; then echo "ok   more backends: calls to the congested backend still failed ($n)"; else echo "FAIL more backends: the congestion had no effect ($n)"; chain_fail=1; fi

def=$(chain_report rainbow-network-congestion-defences)
chain_check "$def" '
relieved = event_at("fault-reverted", "dc-congestion (remediation)")
check(any(not ok for t, ok in probe("core-health") if t >= 0), "defences: the congestion still takes the module down")
rtr = run["revert_to_recover_ms"]
# One call in flight (its 200 ms budget), the next check (100 ms), the next probe sample (100 ms):
# well before the as-it-was restart, 800 ms after the relief.
check(rtr is not None and rtr < 500, "defences: back within 500 ms of the relief, no restart (%s ms)" % rtr)
'
ash_exit "$chain_fail"
