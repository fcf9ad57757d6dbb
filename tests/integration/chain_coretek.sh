#!/usr/bin/env bash
# coretek-host-crash tells incident 004's chain, not only its verdict. From the
# report's timeline and probe series: the shared-services logins failed from
# the crash on while the unmigrated client's logins never failed; the
# monitoring's alert came after the crash; the restart followed the root-cause
# finding; the key services answered again before users could log in; user
# access stayed blocked from the 16:30 block until the 19:30 re-enable, which
# followed the profiles' repair; the repaired profiles check whole and the
# ones they replaced are the crash's damage.
set -u
. "$(dirname "$0")/lib/skip.sh"
. "$(dirname "$0")/lib/machine.sh"
. "$(dirname "$0")/lib/chain.sh"
: "${ASH_BUILD_DIR:?}" "${ASH_SOURCE_DIR:?}"
chain_replay "$ASH_SOURCE_DIR/scenarios/coretek-host-crash.yaml" "${ASH_SANDBOX_FEATURES[@]}" freezer
python3 - "$CHAIN_REPORT" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
fail = False
def check(what, ok):
    global fail
    print(("ok   " if ok else "FAIL ") + what)
    fail |= not ok
def first(event, prefix=""):
    return next((e["t_ms"] for e in run["timeline"] if e["event"] == event and e["detail"].startswith(prefix)), None)
def series(name):
    return next(p["series"] for p in run["probes"] if p["name"] == name)  # [t_ms, latency_ms, ok]
def rem(name):
    return next(m for m in run["remediations"] if m["name"] == name)
def first_fail(s, after):
    return next((t for t, _, ok in s if t >= after and not ok), None)
def last_fail(s):
    return max((t for t, _, ok in s if not ok), default=None)
t0 = run["t_inject_ms"]
login, legacy, keysvc = series("shared-services-login"), series("legacy-login"), series("key-services")
detected = first("detected", "monitoring-alert")
finding, restarted = rem("identify-root-cause"), rem("restart-host")
block, repair, reenable = rem("block-user-access"), rem("recreate-damaged-profiles"), rem("re-enable-user-access")
fl = first_fail(login, t0)
check("shared-services logins fail from the crash on (first failure %s ms, crash %.1f)" % (fl, t0),
      fl is not None and fl - t0 < 200)
check("the unmigrated client's logins never failed (%d samples)" % len(legacy),
      len(legacy) > 50 and all(ok for _, _, ok in legacy))
check("the legacy client was sampled over the whole outage",
      legacy[0][0] < t0 and legacy[-1][0] > reenable["at_ms"])
check("the monitoring's alert came after the crash and before any remediation (%s ms)" % detected,
      detected is not None and t0 < detected < finding["at_ms"])
check("the restart followed the root-cause finding",
      finding["ok"] and restarted["ok"] and restarted["at_ms"] >= finding["at_ms"]
      and first("remediation", "restart-host") >= finding["at_ms"])
check("the host came back with the restart (fault reverted by it)", first("fault-reverted", "vhost1-failure") is not None)
key_back = next((t for t, _, ok in keysvc if t > restarted["at_ms"] and ok), None)
check("the key services answered again before users could log in (key %s ms, block %.1f ms)" % (key_back, block["at_ms"]),
      key_back is not None and key_back < reenable["at_ms"] and last_fail(keysvc) < key_back)
blocked = [ok for t, _, ok in login if block["at_ms"] + 60 < t < reenable["at_ms"] - 60]
check("user access stayed blocked from the block to the re-enable (%d samples)" % len(blocked),
      len(blocked) > 20 and not any(blocked))
check("the re-enable followed the profiles' repair",
      repair["ok"] and reenable["ok"] and reenable["at_ms"] > repair["at_ms"]
      and first("remediation", "re-enable-user-access") >= repair["at_ms"])
lf = last_fail(login)
check("users' access came back with the re-enable: TTR measures it (last failure %.1f, re-enable %.1f, TTR %.1f)"
      % (lf, reenable["at_ms"], run["ttr_ms"]),
      reenable["at_ms"] - 200 < lf < reenable["at_ms"] + 200 and t0 + run["ttr_ms"] >= reenable["at_ms"])
v = {c["name"]: c for c in run["verify"]}
check("the repaired profiles are whole", v["user-profiles-intact"]["outcome"] == "pass")
check("the profiles replaced were corrupted by the crash: " + v["recreated-profiles-were-damaged"]["output"].strip(),
      v["recreated-profiles-were-damaged"]["outcome"] == "fail"
      and "corrupted" in v["recreated-profiles-were-damaged"]["output"])
check("the legacy client's profiles are intact", v["legacy-profiles-intact"]["outcome"] == "pass")
sys.exit(1 if fail else 0)
PY
