#!/usr/bin/env bash
# Reverts and injections do not stop the probes' clock (issue 15 item 3): an exec
# fault whose inject and revert commands each take 60 ms runs beside a 10 ms tcp
# probe. Before, both ran inside the event loop and the ticks due meanwhile
# started ~60 ms late; now they run on the offloop worker. Bound: half the probe's
# interval (5 ms), so a late start cannot push a sample into the next one's slot
# (impact's resolution is one interval); report.json's late_ticks name a cause for
# every tick over 1 ms, and none of them may be the fault's inject or revert. A
# machine too loaded to keep 5 ms before the fault starts skips, saying so.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-offloop-XXXXXX)
fail=0
srv=
cleanup() {
  [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
command -v python3 >/dev/null || ash_skip_all "no python3"

# A loopback listener that accepts and closes: the tcp probe's target.
python3 - "$T/port" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(128)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept(); c.close()
PY
srv=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
port=$(cat "$T/port")

cat > "$T/slow.yaml" <<YAML
version: 1
name: offloop-lateness
probes:
  - name: tick
    tcp: 127.0.0.1:$port
    every: 10ms
faults:
  - name: slow-exec
    kind: exec
    inject: [sleep, "0.06"]
    revert: [sleep, "0.06"]
    at: 200ms
    duration: 300ms
expect:
  warmup: 300ms
  stable_for: 200ms
  timeout: 10s
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r" "$T/slow.yaml" > "$T/out" 2>&1
st=$?
rep=$(ls -d "$T"/r/offloop-lateness-*/ 2>/dev/null | head -1)
check "the run completes (exit $st)" '[ "$st" = 0 ] && [ -n "$rep" ]'
[ -n "$rep" ] || { cat "$T/out"; ash_exit 1; }
python3 - "$rep/report.json" > "$T/verdict" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
f = run["faults"][0]
lat = run["schedule_lateness_ms"]
# The ticks due while the fault's commands ran: [inject scheduled, injected] and
# [revert scheduled, reverted] (inject latency and the revert command's 60 ms).
inj_start = f["injected_ms"] - f["inject_latency_ms"]
windows = [(inj_start, f["injected_ms"]), (f["reverted_ms"] - 60, f["reverted_ms"])]
series = run["probes"][0]["series"]
during = [s for s in series if any(a <= s[0] <= b for a, b in windows)]
ticks = lat.get("late_ticks", [])
by_fault = [t for t in ticks if "fault 'slow-exec'" in t["cause"]]
print("max_late", lat["max"])
# Before the fault nothing of the harness is slow: a tick late there is the machine's load.
before = [t["late_ms"] for t in ticks if t["due_ms"] is not None and t["due_ms"] < inj_start]
print("before_fault_max", max(before) if before else 0)
print("during", len(during))
print("by_fault", len(by_fault))
over = lat.get("over_1ms")
print("causes_ok", over is not None and all(t["cause"] for t in ticks) and len(ticks) == min(over, 1000))
for t in sorted(ticks, key=lambda t: -t["late_ms"])[:5]:  # the worst, with their causes
    print("late", t["probe"], t["late_ms"], t["cause"])
PY
cat "$T/verdict"
v() { awk -v k="$1" '$1 == k {print $2}' "$T/verdict"; }
# The bound is the harness's; a machine that already misses it with no fault running
# (other work on its cores) cannot tell: say so instead of failing or passing on it.
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 5 else 1)" "$(v before_fault_max)"; then
  ash_skip_all "this machine is too loaded to hold a 5 ms bound: ticks before the fault were already $(v before_fault_max) ms late (rerun on a quieter machine)"
fi
check "the fault's commands took their 60 ms each" \
  'python3 -c "import json,sys; f=json.load(open(sys.argv[1]))[\"runs\"][0][\"faults\"][0]; sys.exit(0 if f[\"inject_latency_ms\"] >= 60 else 1)" "$rep/report.json"'
check "probe ticks kept sampling while the commands ran ($(v during) samples)" '[ "$(v during)" -ge 8 ]'
check "no tick over 5 ms late (max $(v max_late) ms)" 'python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 5 else 1)" "$(v max_late)"'
check "no late tick caused by the fault's inject or revert ($(v by_fault))" '[ "$(v by_fault)" = 0 ]'
check "every tick over 1 ms has a cause" '[ "$(v causes_ok)" = True ]'
[ "$fail" = 0 ] || tail -30 "$T/out"
ash_exit "$fail"
