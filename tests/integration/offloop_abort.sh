#!/usr/bin/env bash
# An abort while a fault's inject runs on the offloop worker (issue 15 item 3):
# the run waits for the inject to end, then reverts it. The exec fault's inject
# command logs "start", sleeps 0.6 s, logs "injected"; its revert logs
# "reverted". SIGINT arrives 0.2 s into the inject: the log must read start,
# injected, reverted, in that order, and the report says the fault was reverted
# on abort (the run's verdict: aborted).
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-offabort-XXXXXX)
fail=0
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

cat > "$T/abort.yaml" <<YAML
version: 1
name: offloop-abort
probes:
  - name: alive
    exec: ["true"]
    every: 20ms
faults:
  - name: slow-inject
    kind: exec
    inject: [sh, -c, "echo start >> $T/log; sleep 0.6; echo injected >> $T/log"]
    revert: [sh, -c, "echo reverted >> $T/log"]
    at: 100ms
    duration: 5s
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 20s
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r" "$T/abort.yaml" > "$T/out" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$T/log" ] && break; sleep 0.01; done
sleep 0.2
kill -INT "$pid"
wait "$pid"
st=$?
pid=
rep=$(ls -d "$T"/r/offloop-abort-*/ 2>/dev/null | head -1)
check "the inject started before the abort" '[ "$(head -1 "$T/log" 2>/dev/null)" = start ]'
check "the inject ended, then the revert ran ($(tr '\n' ' ' < "$T/log"))" \
  '[ "$(tr "\n" " " < "$T/log")" = "start injected reverted " ]'
check "the run says it was aborted (exit $st)" '[ -n "$rep" ] && grep -q "\"verdict\": \"aborted\"" "$rep/report.json"'
check "report.json: the fault was injected and reverted on abort" \
  'python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))[\"runs\"][0]
f = r[\"faults\"][0]
ev = [e[\"event\"] + \": \" + e[\"detail\"] for e in r[\"timeline\"]]
ok = f[\"revert\"] == \"reverted\" and any(e.startswith(\"fault-reverted: slow-inject (abort\") for e in ev)
order = [e.split(\":\")[0] for e in ev if e.split(\":\")[0] in (\"abort\", \"fault-injected\", \"fault-reverted\")]
sys.exit(0 if ok and order == [\"abort\", \"fault-injected\", \"fault-reverted\"] else 1)
" "$rep/report.json"'
check "no journal left behind" '[ -z "$(ls "$T/state"/*.journal 2>/dev/null)" ]'
[ "$fail" = 0 ] || tail -20 "$T/out"
ash_exit "$fail"
