#!/usr/bin/env bash
# The AskCody replay (000_c77ba6c079faf663.txt) tells its chain, read from the
# report: memory depletes on some VMs (both North America VMs OOM-kill their
# service under the shrunk limit), the Management Portal and the Outlook
# add-in both error for their customers while the Europe portal stays green
# (the blast radius is one region), the customers (probes) detect it, and
# service comes back only with the fix (memory raised beyond the original,
# services restarted). The incident's TTD reads unknown, not 0 (no onset
# stated), and recovered_at means service back (18:50), as in the other
# replays. The variant with the promised memory alerting detects before
# customers see errors.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
FEATURES=("${ASH_SANDBOX_FEATURES[@]}" "memory controller")
. "$(dirname "$0")/lib/report_chain.sh"
S=${ASH_SOURCE_DIR:?}

chain_replay "$S"/scenarios/askcody-memory-exhaustion{,-alerting}.yaml
chain_check "$(chain_report askcody-memory-exhaustion)" '
inc = r["incident"]
check(inc["ttd_ms"] is None and inc["ttd_basis"] == "unknown", "the incident TTD is unknown, not 0 (%s, %s)" % (inc["ttd_ms"], inc["ttd_basis"]))
check(inc["recovered_at"] == "18:50", "recovered_at is service back (the fix in place, 18:50), not the 20:30 end of monitoring")
fix = max(t for t, d in events("fault-reverted") if "memory-depletion" in d)
restarted = max(t for t, d in events("remediation-done") if "restart-" in d)
for vm in ("na-portal", "na-addins"):
    check(any(("host %s:" % vm) in d and "of 40.0 MiB" in d for t, d in events("memory-usage")), "%s: its memory shrinks to 40 MiB" % vm)
    check(any(("host %s:" % vm) in d for t, d in events("oom-kill")), "%s: the depleted memory OOM-kills its service" % vm)
check(not any("eu-portal" in d for t, d in events("oom-kill")), "eu-portal: no OOM kill (not affected)")
for vm in ("na-portal", "na-addins"):
    check(any(("host %s:" % vm) in d and "limit 160.0 MiB, beyond the 96.0 MiB" in d for t, d in events("memory-raised")),
          "%s: the fix raises its memory beyond the original 96 MiB" % vm)
for p in ("na-management-portal", "na-outlook-addin"):
    ss = probe(p)
    first = [t for t, ok in ss if t >= 0 and not ok]
    check(first and first[0] < 2000, "%s: customers get errors (from %.0f ms)" % (p, first[0] if first else -1))
    held = [ok for t, ok in ss if 2000 <= t <= fix]
    check(held and sum(held) <= len(held) // 10, "%s: mostly errors until the fix (%d of %d ok)" % (p, sum(held), len(held)))
    check(any(ok for t, ok in ss if t > restarted), "%s: back after the fix" % p)
eu = probe("eu-management-portal")
check(eu and all(ok for t, ok in eu), "eu-management-portal stays green throughout: the blast radius is North America")
check(run["detected_by"] == "customer-reports" and run["ttd_ms"] >= run["impact_ms"], "customers detect it, after they saw errors")
check(run["ttr_ms"] is not None and run["ttr_ms"] >= fix, "service back only after the fix")
'
chain_check "$(chain_report askcody-memory-exhaustion-alerting)" '
check(run["detected_by"] and run["detected_by"].startswith("memory-alert-na-"), "alerting: a North America VM memory alert detects it (%s)" % run["detected_by"])
check(run["ttd_ms"] is not None and run["impact_ms"] is not None and run["ttd_ms"] < run["impact_ms"], "alerting: the alert comes before customers see errors")
check(not any("memory-alert-eu-portal" in d for t, d in events("detected")), "alerting: no alert from the unaffected Europe VM")
check(all(ok for t, ok in probe("eu-management-portal")), "alerting: eu-management-portal stays green")
'
ash_exit "$chain_fail"
