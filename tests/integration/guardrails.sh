#!/usr/bin/env bash
# Guardrails (issue 16 item 2): each condition kind aborts the run at once with
# verdict `aborted`, every fault reverted (the exec fault's revert ran, the
# journal is gone), the guardrail named in report.json and in the terminal
# summary, and the stop latency (condition true -> every fault reverted) under
# 100 ms for in-process faults (an exec fault, a process SIGSTOP); a guardrail
# that never becomes true changes nothing.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-guardrails-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# $1 name, $2 probe command (YAML list), $3 fault inject, $4 fault revert, $5 guardrails, $6 fault duration
scenario() {
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
probes:
  - name: health
    exec: $2
    every: 20ms
    timeout: 500ms
    slow: 400ms
faults:
  - name: harm
    kind: exec
    inject: $3
    revert: $4
    duration: ${6:-20s}
expect:
  warmup: 200ms
  stable_for: 200ms
  timeout: 30s
guardrails:
$5
YAML
}
run() { # $1 name; sets st, d (run dir), out (stdout)
  rm -rf "$T/state"
  local t0=$(date +%s%N)
  out=$("$ASH" run --no-guardian --quiet --state-dir "$T/state" --report-dir "$T/reports" "$T/$1.yaml" 2>"$T/$1.err")
  st=$?
  took_ms=$((($(date +%s%N) - t0) / 1000000))
  d=$(ls -d "$T"/reports/"$1"-*/ 2>/dev/null | head -1)
}
aborted_by() { # $1 scenario, $2 guardrail name, $3 file that must exist again (reverted)
  local sc=$1 g=$2 keep=$3
  check "$sc: exit 1 (got $st; $(head -c 300 "$T/$sc.err"))" '[ $st = 1 ]'
  check "$sc: verdict aborted" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verdict\"]")" = aborted ]'
  check "$sc: report names guardrail $g" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"guardrail\"][\"name\"]")" = "$g" ]'
  check "$sc: the error says it tripped" 'field "$d/report.json" "r[\"runs\"][0][\"error\"]" | grep -q "guardrail .$g. tripped"'
  check "$sc: the fault was reverted" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"faults\"][0][\"revert\"]")" = reverted ] && [ -e "$keep" ]'
  check "$sc: nothing left in the journal" '[ -z "$(ls "$T/state" 2>/dev/null)" ]'
  check "$sc: the summary names it" 'printf "%s\n" "$out" | grep -q "aborted by guardrail .$g."'
  check "$sc: report.md names it" 'grep -q "stopped by guardrail $g" "$d/report.md"'
  check "$sc: did not wait for the 20 s fault (took ${took_ms} ms)" '[ $took_ms -lt 10000 ]'
}

# 1. error ratio: the probe fails while $T/healthy is gone.
touch "$T/healthy"
scenario errors '["test", "-e", "'"$T"'/healthy"]' '["rm", "-f", "'"$T"'/healthy"]' '["touch", "'"$T"'/healthy"]' \
  '  - name: too-many-errors
    probe: health
    error_ratio: 50%
    for: 200ms'
run errors
aborted_by errors too-many-errors "$T/healthy"
lat=$(field "$d/report.json" "r['runs'][0]['guardrail']['stop_latency_ms']")
check "errors: stop latency ${lat} ms < 100 ms" 'python3 -c "import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 100 else 1)" "$lat"'
check "errors: the condition became true after the fault (true_ms > t_inject_ms)" \
  '[ "$(field "$d/report.json" "r[\"runs\"][0][\"guardrail\"][\"true_ms\"] > r[\"runs\"][0][\"t_inject_ms\"]")" = True ]'
check "errors: the window (from the fault phase on) was full before it tripped (true - phase start >= 200 ms)" \
  '[ "$(field "$d/report.json" "r[\"runs\"][0][\"guardrail\"][\"true_ms\"] - [e[\"t_ms\"] for e in r[\"runs\"][0][\"timeline\"] if e[\"event\"] == \"steady-state\"][0] >= 200")" = True ]'

# 2. latency: every sample slower than 40 ms while $T/slow exists.
scenario slow '["sh", "-c", "[ -e '"$T"'/slow ] && sleep 0.08; exit 0"]' '["touch", "'"$T"'/slow"]' \
  '["rm", "-f", "'"$T"'/slow"]' '  - name: too-slow
    probe: health
    latency: 40ms
    for: 200ms'
run slow
aborted_by slow too-slow "$T/healthy"
check "slow: \$T/slow removed by the revert" '[ ! -e "$T/slow" ]'

# 3. max_duration: the run may last 2.5 s in all.
scenario cap '["true"]' '["touch", "'"$T"'/capped"]' '["rm", "-f", "'"$T"'/capped"]' '  - name: time-cap
    max_duration: 2500ms'
run cap
aborted_by cap time-cap "$T/healthy"
check "cap: reverted (\$T/capped gone)" '[ ! -e "$T/capped" ]'
check "cap: true at 2500 ms of the run (+-100)" \
  '[ "$(field "$d/report.json" "abs(r[\"runs\"][0][\"guardrail\"][\"true_ms\"] - 2500) < 100")" = True ]'

# 4. exec: a canary command turning non-zero.
touch "$T/canary"
scenario canary '["true"]' '["rm", "-f", "'"$T"'/canary"]' '["touch", "'"$T"'/canary"]' '  - name: canary-died
    exec: ["test", "-e", "'"$T"'/canary"]
    every: 50ms'
run canary
aborted_by canary canary-died "$T/canary"
lat=$(field "$d/report.json" "r['runs'][0]['guardrail']['stop_latency_ms']")
check "canary: stop latency ${lat} ms < 100 ms" 'python3 -c "import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 100 else 1)" "$lat"'

# 5. alert: a Sev1 arriving on the webhook detector (besides the alert it waits for).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
touch "$T/alerted.healthy"
cat >"$T/alerted.yaml" <<YAML
version: 1
name: alerted
services:
  - name: monitor
    command: ["$B/tests/ash_alertpost", "--port", "$port", "--alertname", "Paged", "--also", "Sev1",
              "--ready-file", "$T/alert-ready"]
    ready: { exec: [test, -e, "$T/alert-ready"] }
probes:
  - name: health
    exec: ["test", "-e", "$T/alerted.healthy"]
    every: 20ms
detectors:
  - name: pager
    webhook: { listen: "127.0.0.1:$port", alertname: Paged }
faults:
  - name: harm
    kind: exec
    inject: ["rm", "-f", "$T/alerted.healthy"]
    revert: ["touch", "$T/alerted.healthy"]
    duration: 20s
  - name: page
    kind: process
    at: 300ms
    target: monitor
    action: signal
    signal: SIGUSR1
expect:
  warmup: 300ms
  stable_for: 200ms
  timeout: 30s
guardrails:
  - name: sev1
    alert: Sev1
    detector: pager
YAML
run alerted
aborted_by alerted sev1 "$T/alerted.healthy"
check "alerted: what it saw names the alert and the detector" \
  '[ "$(field "$d/report.json" "r[\"runs\"][0][\"guardrail\"][\"observed\"]")" = "alert Sev1 arrived firing on webhook detector pager" ]'

# 6. a process SIGSTOP: the service hangs, its HTTP probe times out; SIGCONT on the abort.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/stopped.yaml" <<YAML
version: 1
name: stopped
services:
  - name: web
    command: ["python3", "-m", "http.server", "--bind", "127.0.0.1", "$port", "--directory", "$T"]
    ready: { tcp: "127.0.0.1:$port" }
probes:
  - name: health
    http: { url: "http://127.0.0.1:$port/" }
    every: 20ms
    timeout: 100ms
faults:
  - name: hang
    kind: process
    target: service:web
    action: stop
    duration: 20s
expect:
  warmup: 300ms
  stable_for: 200ms
  timeout: 30s
guardrails:
  - name: web-down
    probe: health
    error_ratio: 50%
    for: 300ms
YAML
run stopped
aborted_by stopped web-down "$T"
lat=$(field "$d/report.json" "r['runs'][0]['guardrail']['stop_latency_ms']")
check "stopped: stop latency ${lat} ms < 100 ms (SIGCONT sent)" 'python3 -c "import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 100 else 1)" "$lat"'

# 7. a guardrail that never becomes true: the run ends as it would without it.
scenario calm '["test", "-e", "'"$T"'/healthy"]' '["rm", "-f", "'"$T"'/healthy"]' '["touch", "'"$T"'/healthy"]' \
  '  - name: never
    probe: health
    error_ratio: 100%
    for: 5s' 300ms
run calm
check "calm: exit 0 (got $st; $(head -c 300 "$T/calm.err"))" '[ $st = 0 ]'
check "calm: guardrail null in report.json" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"guardrail\"]")" = None ]'
check "calm: no guardrail line in the summary" '! printf "%s\n" "$out" | grep -q "aborted by guardrail"'

exit $fail
