#!/usr/bin/env bash
# The webhook receiver cannot be starved (issue 22 item 5): the system's real
# alert (ash_alertpost, posted when a process fault signals it) is detected as
# fast under 2000 idle and 64 slowloris connections from loopback (ash_connflood,
# reconnecting whatever the receiver closes) as without them, and the report
# says the receiver shed connections (webhook-saturated, rate-limited).
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-whflood-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# File descriptors: the flood needs 2064 sockets, more than the usual soft
# limit of 1024, so ash_connflood raises its own soft limit (it cannot go above
# the hard one). The harness runs with the usual 1024 on purpose: the receiver
# bounds its connections (max_connections, default 256) and must not need more.
hard=$(ulimit -H -n)
if [ "$hard" != unlimited ] && [ "$hard" -lt 2200 ]; then
  ash_skip_all "the hard RLIMIT_NOFILE is $hard; 2000 + 64 flood sockets need about 2100 (raise it with ulimit -H -n)"
fi
ulimit -S -n 1024
echo "ulimit -n for the harness: $(ulimit -n) (hard $hard)"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The flood's rate: each connection the receiver closes comes back after
# reconnect_ms, so 2000 of them arrive at up to 10 000 a second at 200 ms.
# An optimized build's receiver handles that with about 30 % of a core. Under
# ASan+UBSan each connection costs it several times more: at 200 ms it sat at
# 94 % of a core, the listen backlog grew, and the alert waited behind it
# (136-177 ms) however the guard chose whom to shed. That measures the
# sanitizers' cost, not the admission control this test is about, so a
# sanitizer build gets a fifth of the rate: the same occupancy, the same
# shedding, the same headroom.
reconnect_ms=200
grep -q '^ASH_SANITIZE:BOOL=ON' "$B/CMakeCache.txt" 2>/dev/null && reconnect_ms=1000
echo "flood reconnect delay: $reconnect_ms ms"

# scenario TAG IDLE SLOW [WEBHOOK-KEYS]: the monitor, and a flood of IDLE idle
# and SLOW slowloris connections
scenario() {
  local tag=$1 idle=$2 slow=$3 keys=${4:-}
  cat <<YAML
version: 1
name: webhook-flood-$tag
services:
  - name: monitor
    command: ["$B/tests/ash_alertpost", "--port", "$port", "--alertname", "FloodTest",
              "--truth-file", "$T/truth-$tag", "--ready-file", "$T/monitor-ready-$tag"]
    ready: { exec: [test, -e, "$T/monitor-ready-$tag"] }
YAML
  if [ "$idle" != 0 ] || [ "$slow" != 0 ]; then
    cat <<YAML
  - name: flood
    command: ["$B/tests/ash_connflood", "--port", "$port", "--idle", "$idle", "--slow", "$slow",
              "--reconnect-ms", "$reconnect_ms", "--ready-file", "$T/flood-ready-$tag"]
    ready: { exec: [test, -e, "$T/flood-ready-$tag"], timeout: 10s }
YAML
  fi
  # A probe that always holds keeps the run observing for stable_for after
  # the (instantaneous) fault, long enough for the alert to arrive. The fault
  # comes 2.5 s after the flood started: past the first request deadline, so
  # the slowloris connections are being closed and reopened around it.
  cat <<YAML
probes:
  - name: alive
    exec: [true]
    every: 100ms
detectors:
  - name: pager
    webhook: { listen: "127.0.0.1:$port", alertname: FloodTest$keys }
faults:
  - name: page
    kind: process
    target: monitor
    action: signal
    signal: SIGUSR1
expect:
  warmup: 2500ms
  stable_for: 1500ms
  detect_within: 3s
  timeout: 6s
YAML
}

field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
saturated() { field "$1" '"\n".join(e["detail"] for e in r["runs"][0]["timeline"] if e["event"] == "webhook-saturated")'; }

# run TAG IDLE SLOW: runs the scenario; sets $rep to its report.json
run() {
  scenario "$1" "$2" "$3" "${4:-}" > "$T/$1.yaml"
  "$ASH" run --state-dir "$T/state" --report-dir "$T/reports-$1" "$T/$1.yaml" > "$T/$1.out" 2>&1
  echo "$?" > "$T/$1.status"
  rep=$(ls -d "$T/reports-$1"/webhook-flood-"$1"-*/ 2>/dev/null | head -1)report.json
}

run quiet 0 0
check "without a flood the run passes (exit $(cat "$T/quiet.status"))" '[ "$(cat "$T/quiet.status")" = 0 ]'
ttd_quiet=$(field "$rep" 'r["runs"][0]["ttd_ms"]')
check "without a flood the alert is detected (ttd $ttd_quiet ms)" '[ -n "$ttd_quiet" ] && [ "$ttd_quiet" != None ]'
check "without a flood nothing is shed" '[ -z "$(saturated "$rep")" ]'

# flood TAG IDLE SLOW WHAT [WEBHOOK-KEYS]: one flooded run and its checks;
# WHAT is the count its webhook-saturated lines must show (grep -E).
flood() {
  local tag=$1 what=$4
  run "$1" "$2" "$3" "${5:-}"
  echo "-- $tag: $2 idle, $3 slowloris connections${5:+ (webhook$5)}"
  check "$tag: the run passes (exit $(cat "$T/$tag.status"))" '[ "$(cat "$T/$tag.status")" = 0 ]'
  local ttd sent answered status inject
  ttd=$(field "$rep" 'r["runs"][0]["ttd_ms"]')
  check "$tag: the alert is detected (ttd $ttd ms)" '[ -n "$ttd" ] && [ "$ttd" != None ]'
  [ -f "$rep" ] || { echo "FAIL $tag: no report.json: $(tail -3 "$T/$tag.out")"; fail=1; return; }
  # The alert's own round trip, from the monitor's truth file: it must still
  # be answered at once (before the fix it waited behind a full receiver).
  sent=$(awk '/alert-sent/ {print $4; exit}' "$T/truth-$tag")
  answered=$(awk '/alert-answered/ {print $4; exit}' "$T/truth-$tag")
  status=$(awk '/alert-answered/ {print $6; exit}' "$T/truth-$tag")
  check "$tag: the receiver answered the real alert with 200 (status ${status:-none})" '[ "${status:-}" = 200 ]'
  inject=$(field "$rep" 'r["runs"][0]["monotonic_ns"]["inject"]')
  if [ -n "$sent" ] && [ -n "$answered" ] && [ "$ttd" != None ]; then
    local detected rtt_ms
    detected=$(python3 -c "print(int($inject + $ttd * 1e6))")
    # TTD resolution for a webhook is 0 ms (the POST's arrival is the moment);
    # the README's 3 ms of scheduling slack on each side of the round trip.
    check "$tag: the detection lies within the alert's round trip (sent $sent, detected $detected, answered $answered)" \
      '[ "$detected" -ge $((sent - 3000000)) ] && [ "$detected" -le $((answered + 3000000)) ]'
    rtt_ms=$(( (answered - sent) / 1000000 ))
    check "$tag: the alert's round trip took ${rtt_ms} ms (at most 50)" '[ "$rtt_ms" -le 50 ]'
  fi
  if [ -n "$ttd_quiet" ] && [ "$ttd_quiet" != None ] && [ "$ttd" != None ]; then
    check "$tag: TTD $ttd ms within 50 ms of $ttd_quiet ms without a flood" \
      "python3 -c 'import sys; sys.exit(0 if abs($ttd - $ttd_quiet) <= 50 else 1)'"
  fi
  local n_sat dur_s details
  n_sat=$(field "$rep" 'sum(e["event"] == "webhook-saturated" for e in r["runs"][0]["timeline"])')
  dur_s=$(field "$rep" 'int(r["runs"][0]["duration_ms"] / 1000) + 1')
  details=$(saturated "$rep")
  echo "$details" | sed 's/^/     /' | head -3
  check "$tag: the timeline says the receiver shed connections ($n_sat webhook-saturated events)" '[ "$n_sat" -ge 1 ]'
  check "$tag: webhook-saturated is rate-limited ($n_sat events in about $dur_s s)" '[ "$n_sat" -le $((dur_s + 1)) ]'
  check "$tag: its counts say what was shed ($what)" 'echo "$details" | grep -Eq "$what"'
  check "$tag: the progress log shows it" 'grep -q "webhook-saturated" "$T/$tag.out"'
  check "$tag: the report's HTML shows it" 'grep -q "webhook-saturated" "$(dirname "$rep")/report.html"'
}

# Defaults. Every flood connection comes from 127.0.0.1 like the alert, so the
# per-client cap (32) does the shedding. The alert may well be the oldest of
# its address when a burst of reconnects lands between its connect and its
# request (seen in CI): a connection is not judged idle within its grace
# (250 ms here), so only the flood's older, proven-idle ones give way.
# 2000 reconnecting at once: the grace lets the address hold twice its cap
# (64), no more; past that its oldest connections go, young or not.
flood idle 2000 0 'closed [1-9][0-9]* idle connections.*evicted over the per-client cap of 32'
flood slowloris 0 64 'evicted over the per-client cap of 32'
flood idle-and-slowloris 2000 64 'closed [1-9][0-9]* idle connections.*evicted over the per-client cap of 32'
# A per-client cap above the flood: the reserve and the request deadline must
# hold on their own (64 slowloris fit, so only their deadline closes them).
# (2000 reconnecting keep every slot young: the limit itself sheds them, from
# the client holding the most, so a new client still gets in.)
flood idle-reserve 2000 0 'evicted at the limit of 256 connections' ', per_client: 4000'
flood slowloris-deadline 0 64 '[1-9][0-9]* over the 2 s request deadline' ', per_client: 4000'

exit $fail
