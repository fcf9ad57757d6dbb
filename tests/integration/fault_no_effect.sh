#!/usr/bin/env bash
# A fault that harmed nothing says so (issue 15 item 5): a DNS fault no client
# asks about gets a timeline warning once that is known, a fault-no-effect
# event at its revert, and report.json/report.md "fault had no effect"; a DNS
# fault a client does ask about gets none of them.
set -u
. "$(dirname "$0")/lib/skip.sh"
B=${ASH_BUILD_DIR:?}
ASH=$B/aftershock
T=$(mktemp -d /tmp/ash-noeffect-XXXXXX)
fail=0
cleanup() {
  "$ASH" recover --state-dir "$T/state" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
command -v getent >/dev/null || ash_skip_all "no getent (libc-bin)"

# The interpreter itself, not a wrapper: pyenv's python3 is a shell script
# that takes 200 ms to start here, the probe's whole period.
PY=$(python3 -c 'import sys; print(sys.executable)')
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The probe: one A query for "backend" to the run's DNS server; any answer (even SERVFAIL) is ok.
cat > "$T/ask.py" <<PY
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x07backend\x00" + struct.pack(">HH", 1, 1), ("127.0.0.1", $port))
s.recv(512)
PY

# scenario TAG NAME: a DNS fault on NAME
scenario() {
  cat <<YAML
version: 1
name: no-effect-$1
dns:
  listen: 127.0.0.1:$port
  records:
    - {name: backend, type: A, value: 127.0.0.9}
probes:
  - name: ask
    exec: ["$PY", -I, -S, "$T/ask.py"]
    every: 200ms
    timeout: 1s
faults:
  - name: dns-fault
    kind: dns
    names: [$2]
    answer: servfail
    duration: 1500ms
expect:
  warmup: 500ms
  stable_for: 500ms
  timeout: 10s
YAML
}

for tag in unasked asked; do
  name=nobody-asks; [ "$tag" = asked ] && name=backend
  scenario "$tag" "$name" > "$T/$tag.yaml"
  "$ASH" run --state-dir "$T/state" --report-dir "$T/r-$tag" "$T/$tag.yaml" > "$T/$tag.out" 2>&1
  echo "$?" > "$T/$tag.status"
done
rep=$(ls -d "$T/r-unasked"/no-effect-unasked-*/)
check "unasked: the run completes (exit $(cat "$T/unasked.status"))" '[ "$(cat "$T/unasked.status")" = 0 ]'
check "unasked: a warning once it is known (1 s into the fault)" \
  'grep -q "warning.*dns-fault: no client has asked for nobody-asks in 1 s" "$T/unasked.out"'
ne=$(field "$rep/report.json" 'r["runs"][0]["faults"][0]["no_effect"]')
check "unasked: report.json says it ($ne)" \
  '[ "$ne" = "fault had no effect: no client asked the run'"'"'s DNS server for nobody-asks while it was in effect" ]'
check "unasked: the timeline has fault-no-effect" \
  '[ "$(field "$rep/report.json" "sum(e[\"event\"] == \"fault-no-effect\" for e in r[\"runs\"][0][\"timeline\"])")" = 1 ]'
check "unasked: report.md says it" 'grep -q "fault had no effect" "$rep/report.md"'
rep=$(ls -d "$T/r-asked"/no-effect-asked-*/)
check "asked: report.json no_effect is null" \
  '[ "$(field "$rep/report.json" "r[\"runs\"][0][\"faults\"][0][\"no_effect\"]")" = None ]'
check "asked: no warning, no fault-no-effect" '! grep -qE "no client has asked|fault-no-effect" "$T/asked.out"'
[ "$fail" = 0 ] || tail -n 20 "$T/unasked.out" "$T/asked.out"
ash_exit "$fail"
