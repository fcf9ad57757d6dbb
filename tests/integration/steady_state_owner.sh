#!/usr/bin/env bash
# Issue 22 item 6: a service that died is not a steady state.
# 1. A listener this test started holds a port; the scenario's service tries
#    to bind the same port and exits 1 (address in use). Its `ready: tcp`
#    check reaches the test's listener, but that listener is not the
#    service's: the run must fail before the fault phase, naming the exit and
#    the port's owner (pid), and must not report "steady-state verified".
# 2. A service that exits during the warm-up (no ready check to catch it)
#    fails the steady state with its exit status and last output.
# Traffic goes to 127.0.0.1 only.
set -u
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-steady-XXXXXX)
fail=0
occupier=
cleanup() {
  [ -n "$occupier" ] && kill "$occupier" 2>/dev/null
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]; print(r.get(sys.argv[2]) or "")' "$@"; }
events() { python3 -c 'import json,sys; [print(e["event"], e["detail"]) for e in json.load(open(sys.argv[1]))["runs"][0]["timeline"]]' "$1"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1 &
occupier=$!
for _ in $(seq 50); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$port" 2>/dev/null && break
  sleep 0.1
done

cat > "$T/taken.yaml" <<YAML
version: 1
name: port-taken
services:
  - name: api
    command: [python3, -m, http.server, "$port", --bind, 127.0.0.1]
    ready: { tcp: "127.0.0.1:$port", timeout: 5s }
probes:
  - name: api
    tcp: "127.0.0.1:$port"
faults:
  - name: stop-api
    kind: process
    target: api
    action: stop
    at: 0s
    duration: 1s
expect:
  warmup: 500ms
  timeout: 5s
YAML
out=$("$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/taken.yaml" 2>&1); st=$?
dir=$(ls -d "$T"/reports/port-taken-*/ 2>/dev/null | tail -1)
err=$([ -n "$dir" ] && field "$dir/report.json" error | tr "\n" " ")
verdict=$([ -n "$dir" ] && field "$dir/report.json" verdict)
check "port taken: the run fails (exit $st, verdict ${verdict:-none})" '[ $st != 0 ] && [ "$verdict" != pass ]'
check "port taken: the error names the service's exit: $err" 'echo "$err" | grep -q "service '"'"'api'"'"' exited 1"'
check "port taken: the error names the port's owner (pid $occupier)" \
  'echo "$err" | grep -q "127.0.0.1:$port is answered by pid $occupier (python3), not by service '"'"'api'"'"'"'
check "port taken: no steady-state event, nothing injected" \
  '[ -n "$dir" ] && ! events "$dir/report.json" | grep -q "^steady-state\|^fault-injected"'
check "port taken: the test's listener is untouched" 'kill -0 $occupier'
check "port taken: journal empty" '[ -z "$(ls "$T/state"/*.journal 2>/dev/null)" ]'

# The same, when the service is already gone before its first ready check
# (it dies at once): the port's holder is still named.
cat > "$T/gone.yaml" <<YAML
version: 1
name: port-taken-gone
services:
  - name: api
    command: [sh, -c, "exit 1"]
    ready: { tcp: "127.0.0.1:$port", timeout: 5s }
probes:
  - name: api
    tcp: "127.0.0.1:$port"
faults:
  - name: noop
    kind: exec
    at: 0s
    inject: ["true"]
expect:
  warmup: 500ms
  timeout: 5s
YAML
out=$("$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/gone.yaml" 2>&1); st=$?
dir=$(ls -d "$T"/reports/port-taken-gone-*/ 2>/dev/null | tail -1)
err=$([ -n "$dir" ] && field "$dir/report.json" error | tr "\n" " ")
check "port taken, service gone first: the run fails (exit $st)" '[ $st != 0 ]'
check "port taken, service gone first: the error names the port's owner (pid $occupier): $err" \
  'echo "$err" | grep -q "127.0.0.1:$port is answered by pid $occupier (python3), not by service '"'"'api'"'"'"'

cat > "$T/dies.yaml" <<YAML
version: 1
name: dies-in-warmup
services:
  - name: flaky
    command: [sh, -c, "echo starting; sleep 0.3; echo 'fatal: lost my database' >&2; exit 3"]
probes:
  - name: always
    exec: ["true"]
faults:
  - name: noop
    kind: exec
    at: 0s
    inject: ["true"]
expect:
  warmup: 1s
  timeout: 5s
YAML
out=$("$ASH" run --no-guardian --state-dir "$T/state" --report-dir "$T/reports" "$T/dies.yaml" 2>&1); st=$?
dir=$(ls -d "$T"/reports/dies-in-warmup-*/ 2>/dev/null | tail -1)
err=$([ -n "$dir" ] && field "$dir/report.json" error | tr "\n" " ")
verdict=$([ -n "$dir" ] && field "$dir/report.json" verdict)
check "died in warm-up: the run fails (exit $st, verdict ${verdict:-none})" '[ $st != 0 ] && [ "$verdict" != pass ]'
check "died in warm-up: steady state not reached, with the exit and its last output: $err" \
  'echo "$err" | grep -q "steady state not reached.*service '"'"'flaky'"'"' exited 3.*fatal: lost my database"'
check "died in warm-up: nothing injected" '[ -n "$dir" ] && ! events "$dir/report.json" | grep -q "^fault-injected"'
exit $fail
