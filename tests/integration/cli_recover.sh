#!/usr/bin/env bash
# CLI behaviour end to end: exit statuses, Ctrl-C abort reverts and reports,
# SIGKILL of the harness: the guardian reverts; with no guardian, `recover` does.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-cli-XXXXXX)
fail=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

# -- usage and validation exit statuses
"$ASH" >/dev/null 2>&1; check "no command exits 2" '[ $? = 2 ]'
"$ASH" --version | grep -q '^aftershock '; check "--version" '[ $? = 0 ]'
"$ASH" run --help | grep -q -- '--repeat'; check "run --help lists --repeat" '[ $? = 0 ]'
printf 'version: 1\nname: x\nprobez: []\n' > "$T/bad.yaml"
out=$("$ASH" validate "$T/bad.yaml" 2>&1); st=$?
check "validate bad scenario exits 2" '[ $st = 2 ]'
check "error has file:line:col" 'echo "$out" | grep -q "bad.yaml:3:1:"'
"$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/bad.yaml" >/dev/null 2>&1; st=$?
check "run bad scenario exits 2" '[ $st = 2 ]'
check "no report for invalid scenario" '[ ! -d "$T/reports" ] || [ -z "$(ls -A "$T/reports")" ]'

# -- a scenario whose fault SIGSTOPs a service for 30 s
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/stop.yaml" <<YAML
version: 1
name: stop-service
services:
  - name: target
    # nohup: the service ignores SIGHUP, so when the harness dies and the
    # kernel sends its orphaned process group SIGHUP+SIGCONT, it survives:
    # only aftershock's own undo can clean it up.
    command: ["nohup", "$B/tests/ash_target", "--port", "$port"]
    ready: { http: "http://127.0.0.1:$port/healthz" }
probes:
  - name: health
    http: { url: "http://127.0.0.1:$port/healthz" }
    every: 50ms
    timeout: 100ms
faults:
  - name: freeze
    kind: process
    target: target
    action: stop
    duration: 30s
expect:
  warmup: 300ms
  timeout: 60s
YAML
target_pid() { pgrep -f -x "$B/tests/ash_target --port $port" | head -1; }
wait_stopped() { for _ in $(seq 100); do p=$(target_pid); [ -n "$p" ] && [ "$(ps -o stat= -p "$p" | cut -c1)" = T ] && return 0; sleep 0.1; done; return 1; }

# Ctrl-C mid-fault: revert, stop services, report 'aborted', exit 1
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r1" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; check "fault stopped the service" '[ $? = 0 ]'
kill -INT "$h"; wait "$h"; st=$?
check "SIGINT run exits 1" '[ $st = 1 ]'
check "report says aborted" 'grep -q "\"verdict\": \"aborted\"" "$T"/r1/*/report.json'
check "no target left after abort" '[ -z "$(target_pid)" ]'
check "no journal left after abort" '[ -z "$(ls -A "$T/state" 2>/dev/null)" ]'

# SIGKILL with no guardian: the service stays stopped until `recover`
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r2" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
kill -KILL "$h"; wait "$h" 2>/dev/null
sleep 0.3
check "after SIGKILL the orphaned service survives" '[ -n "$(target_pid)" ]'
"$ASH" recover --state-dir "$T/state" >"$T/recover.out" 2>&1; st=$?
check "recover exits 0" '[ $st = 0 ]'
sleep 0.3
check "recover killed the orphaned service" '[ -z "$(target_pid)" ]'
check "recover emptied the state dir" '[ -z "$(ls -A "$T/state")" ]'

# SIGKILL with the guardian: it reverts by itself
"$ASH" run -q --state-dir "$T/state" --report-dir "$T/r3" "$T/stop.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
wait_stopped; p=$(target_pid); pids+=("$p")
kill -KILL "$h"; wait "$h" 2>/dev/null
for _ in $(seq 50); do [ -z "$(target_pid)" ] && break; sleep 0.1; done
check "guardian killed the orphaned service" '[ -z "$(target_pid)" ]'
check "guardian emptied the state dir" '[ -z "$(ls -A "$T/state")" ]'

# -- a committed exec revert is carried out by recover after SIGKILL
sed -e '/^faults:/,$d' "$T/stop.yaml" > "$T/exec.yaml"
cat >> "$T/exec.yaml" <<YAML
faults:
  - name: marker
    kind: exec
    inject: ["touch", "$T/injected"]
    revert: ["touch", "$T/reverted"]
    duration: 30s
expect:
  warmup: 300ms
  timeout: 60s
YAML
"$ASH" run --no-guardian -q --state-dir "$T/state" --report-dir "$T/r4" "$T/exec.yaml" >/dev/null 2>&1 &
h=$!; pids+=("$h")
for _ in $(seq 100); do [ -e "$T/injected" ] && break; sleep 0.1; done
kill -KILL "$h"; wait "$h" 2>/dev/null
"$ASH" recover --state-dir "$T/state" >"$T/recover4.out" 2>&1; st=$?
check "recover runs the exec revert the journal committed to" '[ $st = 0 ] && [ -e "$T/reverted" ]'

# -- journals planted by another local user are never carried out (root code execution before)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  S=$(mktemp -d /tmp/ash-shared-XXXXXX); chmod 1777 "$S"
  mkdir "$T/hosts"; echo keep > "$T/hosts/file"
  cat > "$T/evil.txt" <<JOURNAL
{"journal":1,"run":"evil01","pid":1,"pid_start":1}
{"id":1,"op":"exec.revert","data":{"argv":["sh","-c","id > $T/pwned"],"timeout_ns":1000000000}}
{"id":2,"op":"sandbox.files","data":{"dir":"$T/hosts","run":"evil01"}}
JOURNAL
  setpriv --reuid 65534 --regid 65534 --clear-groups sh -c "cat > $S/evil01.journal" < "$T/evil.txt"
  harmless() { [ ! -e "$T/pwned" ] && [ -e "$T/hosts/file" ]; }
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "a world-writable state dir is refused (exit 3)" '[ $st = 3 ] && echo "$out" | grep -q "writable by group or others"'
  check "  and nothing in it was carried out" harmless
  chmod 0700 "$S"
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "a journal owned by another user is refused" '[ $st = 1 ] && echo "$out" | grep -q "owned by uid 65534"'
  check "  and nothing in it was carried out" harmless
  chown 0:0 "$S/evil01.journal"
  out=$("$ASH" recover --state-dir "$S" 2>&1); st=$?
  check "an uncommitted exec.revert record is refused" '[ $st = 1 ] && echo "$out" | grep -q "did not commit"'
  check "a tree without the run's marker is not removed" 'echo "$out" | grep -q "holds no marker of run evil01"'
  check "  and nothing in it was carried out" harmless
  check "  the refused records stay for a person to read" '[ -e "$S/evil01.journal" ]'
  rm -rf "$S"
else
  echo "skip planted-journal checks: they need root and a 'nobody' user to plant as"
fi

exit $fail
