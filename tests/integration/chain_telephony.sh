#!/usr/bin/env bash
# telephony-table-lock tells incident 002's chain, not only its verdict. From
# the report's timeline and probe series: after the lock, registrations
# queued unserved (the watched phone's requests time out), then the queue was
# full and new ones were dropped (fast refusals), then phones deregistered,
# all before the operations centre's alert, which itself reports half the
# phones gone; the reboot of the backend alone ended the lock (its session
# ended, the fault ended by itself: no separate revert); the backend served
# again at once while the other phones came back only later, as their retry
# timers ran out (the re-registration tail), and TTR waited for them.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
. "$(dirname "$0")/lib/chain.sh"
: "${ASH_BUILD_DIR:?}" "${ASH_SOURCE_DIR:?}"
chain_replay "$ASH_SOURCE_DIR/scenarios/telephony-table-lock.yaml" "${ASH_SANDBOX_FEATURES[@]}"
python3 - "$CHAIN_REPORT" <<'PY'
import json, re, sys
run = json.load(open(sys.argv[1]))["runs"][0]
fail = False
def check(what, ok):
    global fail
    print(("ok   " if ok else "FAIL ") + what)
    fail |= not ok
def first(event, needle=""):
    return next((e for e in run["timeline"] if e["event"] == event and needle in e["detail"]), None)
def series(name):
    return next(p for p in run["probes"] if p["name"] == name)
t0 = run["t_inject_ms"]
reg, regs = series("register"), series("registrations")
timeout = 300.0  # the register probe's timeout in the scenario
det = first("detected", "phones-deregistering")
t_alert = det["t_ms"] if det else None
after = [(t, l, ok) for t, l, ok in reg["series"] if t >= t0]
queued = next((t for t, l, ok in after if not ok and l >= 0.9 * timeout), None)
dropped = next((t for t, l, ok in after if not ok and l < 0.3 * timeout and queued and t > queued), None)
dereg = next((t for t, _, ok in regs["series"] if t >= t0 and not ok), None)
print("lock %.0f, queued %s, dropped %s, first phone deregistered %s, alert %s (ms)" % (t0, queued, dropped, dereg, t_alert))
check("registrations queued unserved after the lock (the watched phone's request timed out)",
      queued is not None and queued - t0 < 1000)
check("then the queue was full and new registrations were dropped (refused fast)", dropped is not None)
check("then phones deregistered (the registrations probe failed)", dereg is not None and dropped is not None and dereg > dropped)
check("all of it before the operations centre's alert", t_alert is not None and dereg is not None and dereg < t_alert)
m = re.search(r"(\d+) of (\d+) phones deregistered", det["detail"] if det else "")
check("the alert reports at least half the phones deregistered (%s)" % (m.group(0) if m else None),
      m is not None and 2 * int(m.group(1)) >= int(m.group(2)))
rems = {m["name"]: m for m in run["remediations"]}
check("the reboot is the only remediation, after the alert",
      list(rems) == ["reboot-registration-backend"] and rems["reboot-registration-backend"]["ok"]
      and first("remediation", "reboot-registration-backend")["t_ms"] > t_alert)
ended = first("lock-holder-ended", "its owner registrar stopped")
rev = first("fault-reverted", "maintenance-lock (ended by itself)")
restarted = first("service-restarting", "registrar")
check("the reboot ended the lock: its session ended with the backend, the fault ended by itself",
      ended is not None and rev is not None and restarted is not None
      and first("remediation", "reboot-registration-backend")["t_ms"] <= ended["t_ms"] <= restarted["t_ms"])
t_reboot = rems["reboot-registration-backend"]["at_ms"]
back = next((t for t, _, ok in reg["series"] if t > ended["t_ms"] and ok), None) if ended else None
last_reg_fail = max(t for t, _, ok in reg["series"] if not ok)
last_regs_fail = max(t for t, _, ok in regs["series"] if not ok)
print("reboot done %.0f, watched phone back %s, last phone back after %.0f, TTR end %.0f (ms)"
      % (t_reboot, back, last_regs_fail, t0 + run["ttr_ms"]))
check("the backend served again right after the reboot (the watched phone)",
      back is not None and back - t_reboot < 1000 and last_reg_fail < back)
check("the other phones came back later, as their retry timers ran out (a tail of %.1f s)" % ((last_regs_fail - t_reboot) / 1000),
      last_regs_fail - t_reboot > 1000)
check("TTR waited for every phone", t0 + run["ttr_ms"] > last_regs_fail)
sys.exit(1 if fail else 0)
PY
