#!/usr/bin/env bash
# The webhook receiver's port (issue 15 item 4): by default it no longer takes
# Alertmanager's own 127.0.0.1:9093 but a free port, which the scenario's
# commands name as {webhook_port} / {webhook_url}; and a port someone else
# holds is an environment error (exit 3) naming the holder's pid and command.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-whport-XXXXXX)
fail=0
holder=
cleanup() {
  if [ -n "$holder" ]; then kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; fi
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# scenario TAG LISTEN-KEYS PORT-ARG [ALERTPOST-ARGS]
scenario() {
  cat <<YAML
version: 1
name: webhook-port-$1
services:
  - name: monitor
    command: ["$B/tests/ash_alertpost", "--port", "$3", "--alertname", "PortTest",
              "--ready-file", "{run_dir}/monitor-ready"${4:-}]
    ready: { exec: [test, -e, "{run_dir}/monitor-ready"] }
  - name: url
    command: ["sh", "-c", "echo url={webhook_url} port={webhook_port} run={run_id} > {run_dir}/placeholders; exec sleep 60"]
probes:
  - name: alive
    exec: [sh, -c, "test ! -e {run_dir}/broken"]
    every: 100ms
  # A probe's address is substituted too: the receiver itself answers it.
  - name: receiver
    tcp: "127.0.0.1:{webhook_port}"
    every: 200ms
detectors:
  - name: pager
    webhook: { alertname: PortTest$2 }
faults:
  - name: break
    kind: exec
    inject: [touch, "{run_dir}/broken"]
    revert: [rm, -f, "{run_dir}/broken"]
    duration: 600ms
  - name: page
    kind: process
    target: monitor
    action: signal
    signal: SIGUSR1
    at: 300ms
expect:
  warmup: 500ms
  stable_for: 1s
  detect_within: 3s
  timeout: 6s
YAML
}

# 1. Default listener: a free port, and the service reached it through {webhook_port}.
scenario default "" "{webhook_port}" > "$T/default.yaml"
"$ASH" run --state-dir "$T/state" --report-dir "$T/r1" "$T/default.yaml" > "$T/default.out" 2>&1
st=$?
check "default listener: the run passes (exit $st)" '[ "$st" = 0 ]'
rep=$(ls -d "$T/r1"/webhook-port-default-*/ 2>/dev/null | head -1)
ttd=$(field "$rep/report.json" 'r["runs"][0]["ttd_ms"]')
check "the alert posted to {webhook_port} was detected (ttd $ttd)" '[ "$ttd" != None ]'
line=$(grep -o 'webhook-listening.*' "$T/default.out" | head -1)
port=$(echo "$line" | sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p')
check "it listened on a port the kernel picked, not 9093 ($line)" '[ -n "$port" ] && [ "$port" != 9093 ]'
ph=$(cat "$rep/placeholders" 2>/dev/null)
runid=$(field "$rep/report.json" 'r["runs"][0]["run_id"]')
check "{webhook_url}, {webhook_port}, {run_id} substituted ($ph)" \
  '[ "$ph" = "url=http://127.0.0.1:$port/alerts port=$port run=$runid" ]'

# impact_to_detect_ms: detection counted from the impact, not from t_inject.
i2d=$(field "$rep/report.json" 'r["runs"][0]["impact_to_detect_ms"]')
impact=$(field "$rep/report.json" 'r["runs"][0]["impact_ms"]')
check "impact_to_detect_ms ($i2d) = ttd ($ttd) - impact ($impact)" \
  "python3 -c 'import sys; sys.exit(0 if abs($i2d - ($ttd - $impact)) < 0.01 and $i2d > 0 else 1)'"
# The alert's own startsAt (ash_alertpost: the signal's wall-clock time) is reported beside TTD.
fired=$(field "$rep/report.json" 'r["runs"][0]["ttd_fired_ms"]')
check "ttd_fired_ms ($fired) is the alert's startsAt, at most 20 ms before its notification ($ttd)" \
  "python3 -c 'import sys; sys.exit(0 if 0 <= $ttd - $fired <= 20 else 1)'"

check "report.html says when the alert fired beside TTD" 'grep -q "the alert fired at [0-9.]* ms, [0-9.]* ms after the impact" "$rep/report.html"'
check "report.md has the per-alert table" 'grep -q "^## Alerts" "$rep/report.md" && grep -q "| PortTest |" "$rep/report.md"'

# 1b. A group re-sent three times (same fingerprint) is one alert, one detection.
scenario resent "" "{webhook_port}" ', "--fingerprint", "fp1", "--sends", "3"' > "$T/resent.yaml"
"$ASH" run --state-dir "$T/state" --report-dir "$T/r3" "$T/resent.yaml" > "$T/resent.out" 2>&1
st=$?
rep=$(ls -d "$T/r3"/webhook-port-resent-*/ 2>/dev/null | head -1)
check "re-sent group: the run passes (exit $st)" '[ "$st" = 0 ]'
n=$(field "$rep/report.json" 'len(r["runs"][0]["alerts"]), len(r["runs"][0]["detections"]), r["runs"][0]["alerts"][0]["fingerprint"], r["runs"][0]["alerts"][0]["counted"]')
check "re-sent group: one alert record and one detection ($n)" '[ "$n" = "(1, 1, '"'fp1'"', True)" ]'

# 1c. An alert that started before the fault was in effect is flagged, not a detection.
scenario early "" "{webhook_port}" ', "--starts-ago-ms", "60000"' > "$T/early.yaml"
"$ASH" run --state-dir "$T/state" --report-dir "$T/r4" "$T/early.yaml" > "$T/early.out" 2>&1
st=$?
rep=$(ls -d "$T/r4"/webhook-port-early-*/ 2>/dev/null | head -1)
check "already firing: not detected, so detect_within fails (exit $st)" '[ "$st" = 1 ]'
n=$(field "$rep/report.json" 'r["runs"][0]["ttd_ms"], r["runs"][0]["alerts"][0]["already_firing"], r["runs"][0]["alerts"][0]["role"]')
check "already firing: ttd null, the alert flagged ($n)" '[ "$n" = "(None, True, '"'already-firing'"')" ]'
check "already firing: the timeline says so" 'grep -q "alert-already-firing" "$T/early.out"'

# 1d. A service of the scenario that wants the receiver's port (an Alertmanager
# configured with the old default) is told that aftershock holds it, and its
# last output starts at a whole line, not mid-word.
cat > "$T/collide.yaml" <<YAML
version: 1
name: webhook-port-collide
services:
  - name: alertmanager
    command: ["sh", "-c", "for i in \$(seq 60); do echo line-\$i starting up with a long line of output; done;
              exec python3 -c 'import socket; socket.socket().bind((\"127.0.0.1\", {webhook_port}))'"]
    ready: { tcp: "127.0.0.1:{webhook_port}" }
probes:
  - name: alive
    exec: ["true"]
detectors:
  - name: pager
    webhook: {}
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r5" "$T/collide.yaml" > "$T/collide.out" 2>&1
st=$?
msg=$(sed -n '/^aftershock:/,/^report:/p' "$T/collide.out") # the last output spans lines
check "a service colliding with the receiver fails (exit $st)" '[ "$st" != 0 ]'
check "its error says aftershock itself listens there" \
  'echo "$msg" | grep -q "Address already in use (aftershock itself listens: pager: http://127.0.0.1:[0-9]*/alerts)"'
tail_text=$(echo "${msg#*last output: }" | head -1)
check "its last output starts at a whole line (${tail_text:0:40}...)" \
  'echo "$tail_text" | grep -qE "^(line-[0-9]+ starting|Traceback)"'

# 1e. A ready check on {webhook_port} is answered by aftershock's own receiver,
# not by the service: not ready (it passed, the placeholder left unparsed).
cat > "$T/selfready.yaml" <<YAML
version: 1
name: webhook-port-selfready
services:
  - name: am
    command: [sleep, "30"]
    ready: { tcp: "127.0.0.1:{webhook_port}", timeout: 1s }
probes:
  - name: alive
    exec: ["true"]
detectors:
  - name: pager
    webhook: {}
YAML
"$ASH" run --state-dir "$T/state" --report-dir "$T/r6" "$T/selfready.yaml" > "$T/selfready.out" 2>&1
st=$?
check "a ready check answered by aftershock's own receiver does not pass (exit $st)" \
  '[ "$st" != 0 ] && grep -q "is answered by pid [0-9]* (aftershock), not by service '"'"'am'"'"'" "$T/selfready.out"'

check "run --help names the placeholders" '"$ASH" run --help | grep -q "{webhook_url} / {webhook_port}"'

# 2. A port another process holds: exit 3, and the error names the holder.
busy=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); open(sys.argv[2],"w").close(); time.sleep(60)' \
  "$busy" "$T/holder-ready" &
holder=$!
for _ in $(seq 50); do [ -e "$T/holder-ready" ] && break; sleep 0.1; done
scenario busy ", listen: \"127.0.0.1:$busy\"" "$busy" > "$T/busy.yaml"
"$ASH" run --state-dir "$T/state" --report-dir "$T/r2" "$T/busy.yaml" > "$T/busy.out" 2>&1
st=$?
check "a busy port is an environment error: exit 3 (got $st)" '[ "$st" = 3 ]'
check "the error names the holder (pid $holder, python3)" \
  'grep -q "cannot listen on 127.0.0.1:$busy: pid $holder (python3) listens there" "$T/busy.out"'
[ "$fail" = 0 ] || { echo "--- output"; cat "$T/default.out" "$T/busy.out" | tail -30; }
ash_exit "$fail"
