#!/usr/bin/env bash
# `aftershock mark` and `aftershock abort` from another terminal (issue 16 item 3):
# a run in the background with a `human` detector; `mark detected` sent at a known
# CLOCK_MONOTONIC time gives a TTD within 5 ms of (send time - t_inject) and
# detected_by the human detector; marks and notes are in report.json's timeline
# and the terminal summary; `abort` ends a run with verdict aborted, its fault
# reverted and the journal gone; with two live runs, no --run is an error naming
# both; the socket is 0600 in the 0700 state directory and gone after the run.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-control-XXXXXX)
fail=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
mono() { python3 -c 'import time; print(time.monotonic_ns())'; }
wait_for() { # $1 file, up to 15 s
  for _ in $(seq 300); do [ -e "$1" ] && return 0; sleep 0.05; done
  return 1
}

scenario() { # $1 name, $2 fault duration
  cat >"$T/$1.yaml" <<YAML
version: 1
name: $1
probes:
  - name: health
    exec: ["test", "-e", "$T/$1.healthy"]
    every: 20ms
detectors:
  - name: on-call
    human: on-call engineer
faults:
  - name: harm
    kind: exec
    inject: ["sh", "-c", "rm -f $T/$1.healthy; touch $T/$1.injected"]
    revert: ["touch", "$T/$1.healthy"]
    until: remediated
remediation:
  - name: fix
    when: detected
    after: 100ms
    action: { revert: harm }
expect:
  warmup: 200ms
  stable_for: 300ms
  timeout: ${2:-20s}
YAML
  touch "$T/$1.healthy"
}
start() { # $1 name: run in the background; its pid in $pid
  "$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/$1.yaml" >"$T/$1.out" 2>"$T/$1.err" &
  pid=$!
  pids+=($pid)
}

# ---- mark detected gives TTD ----
scenario marked
start marked
wait_for "$T/marked.injected"; check "the fault was injected" '[ -e "$T/marked.injected" ]'
sock=$(ls "$T"/state/*.sock 2>/dev/null | head -1)
check "control socket in the state directory ($sock)" '[ -S "$sock" ]'
check "socket 0600, state directory 0700" '[ "$(stat -c %a "$sock")" = 600 ] && [ "$(stat -c %a "$T/state")" = 700 ]'
sleep 0.3
"$ASH" mark --state-dir "$T/state" note "paged the on-call" >/dev/null; check "mark note: exit 0" '[ $? = 0 ]'
sent=$(mono)
"$ASH" mark --state-dir "$T/state" detected >"$T/mark.out" 2>&1; st=$?
check "mark detected: exit 0 ($(cat "$T/mark.out"))" '[ $st = 0 ]'
"$ASH" mark --state-dir "$T/state" mitigated >/dev/null
"$ASH" mark --state-dir "$T/state" bogus >/dev/null 2>&1; st=$?
check "mark bogus: exit 2 (got $st)" '[ $st = 2 ]'
wait "$pid"; st=$?
check "the run passed after the remediation (exit $st: $(head -c 300 "$T/marked.err"))" '[ $st = 0 ]'
d=$(ls -d "$T"/reports/marked-*/ | head -1)
check "detected_by the human detector" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"detected_by\"]")" = on-call ]'
# The mark's send time as `aftershock mark` took it (printed), and as the test saw it
# before starting the command: the run must count TTD from the former, which lies
# after the latter by no more than a process start.
said=$(sed -n 's/.*CLOCK_MONOTONIC \([0-9]*\) ns.*/\1/p' "$T/mark.out")
ttd_err=$(python3 - "$d/report.json" "$said" "$sent" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
said, sent = int(sys.argv[2]), int(sys.argv[3])
want = (said - run["monotonic_ns"]["inject"]) / 1e6
print("%.3f %.3f" % (run["ttd_ms"] - want, (said - sent) / 1e6))
PY
)
check "TTD = the mark's send time - t_inject within 1 ms, sent within 200 ms of the test's clock (off by, late by: $ttd_err ms)" \
  'python3 -c "import sys; a, b = map(float, sys.argv[1].split()); sys.exit(0 if abs(a) < 1 and 0 <= b < 200 else 1)" "$ttd_err"'
check "marks and the note in the timeline" \
  '[ "$(field "$d/report.json" "\",\".join(sorted(e[\"event\"] for e in r[\"runs\"][0][\"timeline\"] if e[\"event\"].startswith(\"mark-\")))")" = "mark-detected,mark-mitigated,mark-note" ]'
check "the note text in the timeline" 'grep -q "paged the on-call" "$d/report.json"'
check "marks in the terminal summary" 'grep -q "marked run 1: detected" "$T/marked.out" && grep -q "marked run 1: note" "$T/marked.out"'
check "socket removed after the run" '[ -z "$(ls "$T"/state/*.sock 2>/dev/null)" ]'
"$ASH" mark --state-dir "$T/state" detected >/dev/null 2>&1; st=$?
check "mark with no live run: exit 1 (got $st)" '[ $st = 1 ]'

# ---- abort from another terminal ----
scenario aborted
start aborted
wait_for "$T/aborted.injected"
sleep 0.2
"$ASH" abort --state-dir "$T/state" >/dev/null 2>&1; st=$?
check "abort: exit 0 (got $st)" '[ $st = 0 ]'
wait "$pid"; st=$?
check "the aborted run exits 1 (got $st)" '[ $st = 1 ]'
d=$(ls -d "$T"/reports/aborted-*/ | head -1)
check "verdict aborted" '[ "$(field "$d/report.json" "r[\"runs\"][0][\"verdict\"]")" = aborted ]'
check "the error says who aborted it" 'field "$d/report.json" "r[\"runs\"][0][\"error\"]" | grep -q "aftershock abort"'
check "the fault was reverted" \
  '[ "$(field "$d/report.json" "r[\"runs\"][0][\"faults\"][0][\"revert\"]")" = reverted ] && [ -e "$T/aborted.healthy" ]'
check "the journal is gone" '[ -z "$(ls "$T"/state/*.journal 2>/dev/null)" ]'

# ---- two live runs: say which ----
scenario one 3s
scenario two 3s
start one
p1=$pid
start two
p2=$pid
wait_for "$T/one.injected" && wait_for "$T/two.injected"
"$ASH" mark --state-dir "$T/state" detected >/dev/null 2>"$T/two.err2"; st=$?
check "two live runs, no --run: exit 2 (got $st)" '[ $st = 2 ]'
check "... naming both runs" '[ "$(grep -o "[0-9a-f]\{6\}" "$T/two.err2" | sort -u | wc -l)" -ge 2 ]'
id=$(ls "$T"/state/*.sock | head -1 | xargs basename | sed 's/\.sock$//')
"$ASH" mark --state-dir "$T/state" --run "$id" detected >/dev/null; st=$?
check "--run $id: exit 0 (got $st)" '[ $st = 0 ]'
wait "$p1" "$p2"

exit $fail
